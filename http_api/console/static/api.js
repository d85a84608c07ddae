// The HTTP API, called with the key the operator signed in with. The key lives in
// sessionStorage (this tab only) and travels in the x-api-key header, never in a URL.

const KEY = "wamd.apiKey";

export class Unreachable extends Error {
  constructor(message) {
    super(message);
    this.name = "Unreachable";
  }
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const auth = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
  onRejected: () => {},
};

async function send(method, path, { body, headers = {}, key = auth.key, signal } = {}) {
  const sent = { ...headers };
  if (key) sent["x-api-key"] = key;
  if (body !== undefined) sent["content-type"] = "application/json";
  try {
    return await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Unreachable(String(error));
  }
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) return response.json();
  return null;
}

// JSON in, JSON out; a problem+json answer becomes an ApiError, a 401 signs out.
export async function call(method, path, options = {}) {
  const response = await send(method, path, options);
  if (response.status === 204) return null;
  const payload = await parse(response);
  if (!response.ok) {
    if (response.status === 401 && options.key === undefined) auth.onRejected();
    // /health answers 503 with a health document when the daemon is in error.
    if (options.allowError && payload && !payload.type) return payload;
    throw new ApiError(response.status, payload);
  }
  return payload;
}

export const get = (path, options) => call("GET", path, options);
export const post = (path, body, options = {}) => call("POST", path, { ...options, body });

export async function blob(path) {
  const response = await send("GET", path);
  if (!response.ok) throw new ApiError(response.status, await parse(response));
  return response.blob();
}

// Server-Sent Events over fetch, so the key goes in a header (EventSource cannot send one).
// Calls onEvent(envelope) for each event; returns when the stream ends or `signal` aborts.
export async function stream(path, afterSeq, onEvent, signal) {
  const response = await send("GET", `${path}?after=${afterSeq}`, {
    headers: { accept: "text/event-stream" },
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await parse(response));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (line === "") {
        if (data.length) onEvent(JSON.parse(data.join("\n")));
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).trimStart());
      }
    }
  }
}

export const enc = encodeURIComponent;
