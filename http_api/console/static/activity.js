// Events and webhooks: the followed session's recent events (then live ones), and the
// webhooks the key may see with their dead letters and a replay button.

import { enc, get, post } from "./api.js";
import { on } from "./state.js";
import { $, busy, el, when } from "./util.js";

const RECENT = 30;
let shownSession = null;

function summary(event) {
  const data = event.data || {};
  switch (event.type) {
    case "connection.state":
      return `${data.from ?? ""} → ${data.to ?? ""}${data.reason ? ` — ${data.reason}` : ""}`;
    case "connection.closed":
      return `${data.code ?? ""} ${data.reason ?? ""}`;
    case "message.received":
      return `from ${data.message?.fromMe ? "us" : "contact"}: ${data.message?.type ?? ""}`;
    case "message.updated":
      return `${data.id ?? ""} → ${data.status ?? data.kind ?? ""}`;
    case "receipt":
      return `${(data.ids || []).length} message(s) ${data.status ?? ""}`;
    case "alert":
      return data.kind ?? "";
    default:
      return "";
  }
}

function row(event) {
  return el(
    "li",
    { "data-seq": event.seq },
    el("time", {
      datetime: event.createdAt,
      title: new Date(event.createdAt).toLocaleString(),
      text: new Date(event.createdAt).toLocaleTimeString(),
    }),
    el("code", { text: event.type }),
    el("span", { text: summary(event) }),
  );
}

export async function showEvents(sessionId) {
  shownSession = sessionId;
  const base = `/sessions/${enc(sessionId)}/events`;
  const head = await get(`${base}?limit=1`);
  const after = Math.max(0, head.lastSeq - RECENT);
  const page = await get(`${base}?after=${after}&limit=${RECENT}`);
  if (shownSession !== sessionId) return;
  $("#event-list").replaceChildren(...page.events.toReversed().map(row));
}

function webhookCard(hook, dead) {
  const counts = hook.deliveries || {};
  const list = el("ul", { class: "dead" });
  for (const d of dead) {
    const why = d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : d.lastError || "failed";
    list.append(el("li", { text: `#${d.id} ${d.eventId} — ${why}, ${d.attempts} attempt(s)` }));
  }
  const replay = el("button", { type: "button", class: "replay", text: "Replay dead letters" });
  const outcome = el("p", { class: "result", role: "status" });
  replay.disabled = dead.length === 0;
  replay.addEventListener("click", async () => {
    try {
      const done = await busy(replay, () =>
        post(`/webhooks/${enc(hook.id)}/deliveries/replay`, {}),
      );
      outcome.textContent = `Replayed ${done.replayed}.`;
    } catch (error) {
      outcome.textContent = `Replay failed: ${error.message}`;
    }
  });
  return el(
    "li",
    { class: "card webhook", "data-webhook": hook.id },
    el("h4", { text: hook.url }),
    el(
      "p",
      {
        class: "note",
        text:
          `${hook.sessionId ? `session ${hook.sessionId}` : "all sessions"} · ` +
          `${hook.enabled ? "enabled" : "disabled"} · ` +
          `${hook.events.length ? hook.events.join(", ") : "all events"} · ` +
          `delivered ${counts.delivered ?? 0}, pending ${counts.pending ?? 0}, dead ${counts.dead ?? 0}` +
          ` · created ${when(hook.createdAt)}`,
      },
    ),
    dead.length ? el("p", { text: `Dead letters (${dead.length}):` }) : null,
    dead.length ? list : null,
    replay,
    outcome,
  );
}

export async function showWebhooks() {
  const { webhooks } = await get("/webhooks");
  const cards = [];
  for (const hook of webhooks) {
    const [detail, dead] = await Promise.all([
      get(`/webhooks/${enc(hook.id)}`),
      get(`/webhooks/${enc(hook.id)}/deliveries?status=dead&limit=20`),
    ]);
    cards.push(webhookCard(detail, dead.deliveries));
  }
  $("#webhook-list").replaceChildren(...cards);
  $("#webhooks-empty").hidden = webhooks.length > 0;
}

export function setupActivity() {
  on("event", (event) => {
    if (event.sessionId !== shownSession) return;
    const list = $("#event-list");
    if (list.querySelector(`li[data-seq="${event.seq}"]`)) return;
    list.prepend(row(event));
    while (list.children.length > 100) list.lastElementChild.remove();
  });
}
