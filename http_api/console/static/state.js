// What the console knows, and who wants to hear when it changes.

export const state = {
  role: null, // "admin" or "session"
  scope: null, // the session a session key belongs to
  health: null, // the last /health answer
  deep: null, // the last /health/deep answer
  checkedAt: null,
  reachable: true,
  sessions: [], // GET /sessions
  pauses: new Map(), // session id -> the outbox pause, from the deep poll
  current: null, // the session the inbox, events and live stream follow
};

const listeners = new Map();

export function on(topic, listener) {
  if (!listeners.has(topic)) listeners.set(topic, []);
  listeners.get(topic).push(listener);
}

export function emit(topic, payload) {
  for (const listener of listeners.get(topic) || []) {
    try {
      listener(payload);
    } catch (error) {
      console.error(`listener of ${topic} failed`, error);
    }
  }
}

export const isAdmin = () => state.role === "admin";

export function session(id) {
  return state.sessions.find((s) => s.id === id) || null;
}

// The header dot: green when every active auto-connect session is connected (and the daemon
// is healthy), red otherwise; "unreachable" when the daemon does not answer at all.
export function overall() {
  if (!state.reachable) return { colour: "unreachable", text: "Server unreachable" };
  if (!state.health) return { colour: "unknown", text: "Checking…" };
  if (state.health.status === "error") {
    return { colour: "red", text: "Daemon error (database or a component failed)" };
  }
  const expected = state.sessions.filter((s) => s.autoConnect && s.active);
  const down = expected.filter((s) => s.status !== "connected");
  if (!expected.length) return { colour: "green", text: "No sessions to keep connected" };
  if (!down.length) return { colour: "green", text: `All ${expected.length} connected` };
  const names = (list) => list.map((s) => s.id).join(", ");
  const unpaired = down.filter((s) => !s.phoneNumber);
  const paired = down.filter((s) => s.phoneNumber);
  if (!paired.length) return { colour: "red", text: `Not paired yet: ${names(unpaired)}` };
  if (state.health.uptime < 60) return { colour: "red", text: "Reconnecting…" };
  return { colour: "red", text: `WhatsApp disconnected: ${names(paired)}` };
}
