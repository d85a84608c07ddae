// The sessions list: a card per session with its badge and evidence, and the actions the key
// may take (reconnect, pair; create and delete with the admin key).

import { call, enc, post } from "./api.js";
import { openPairing } from "./pair.js";
import { emit, isAdmin, state } from "./state.js";
import { $, busy, maskPhone, setText, when } from "./util.js";

const LABELS = {
  new: "Not paired",
  pairing: "Pairing…",
  connecting: "Connecting…",
  connected: "Connected",
  backing_off: "Reconnecting…",
  disconnected: "Disconnected",
  stopped: "Stopped",
  logged_out: "Logged out",
  replaced: "Replaced by another connection",
  outdated: "Client outdated",
  banned: "Banned",
  needs_attention: "Needs attention",
};

export function statusLabel(status) {
  return LABELS[status] || String(status).replaceAll("_", " ");
}

function restriction(session) {
  if (session.status === "banned") return "Banned by WhatsApp";
  const pause = state.pauses.get(session.id);
  if (pause) return `Sending paused until ${new Date(pause.until).toLocaleString()}: ${pause.reason}`;
  return "None";
}

function socket(session) {
  if (!session.socketAlive) return "No recent frames";
  const rtt = session.liveness?.pingRttMs;
  return rtt === null || rtt === undefined ? "Alive" : `Alive (ping ${rtt} ms)`;
}

function fill(card, session) {
  const connected = session.status === "connected";
  card.dataset.status = session.status;
  setText(card, ".session-name", session.name ? `${session.name} (${session.id})` : session.id);
  const badge = $(".badge", card);
  badge.className = `badge ${connected ? "green" : "red"}`;
  setText(badge, ".badge-text", connected ? "Connected" : "Disconnected");
  setText(card, ".f-phone", maskPhone(session.phoneNumber));
  const reason = session.statusReason ? ` — ${session.statusReason}` : "";
  setText(card, ".f-status", `${statusLabel(session.status)}${reason}`);
  setText(card, ".f-connected", when(session.lastConnectedAt));
  setText(card, ".f-error", session.lastError || "None");
  setText(card, ".f-restriction", restriction(session));
  setText(card, ".f-socket", socket(session));
  setText(card, ".f-recoveries", String(session.recoveriesLastHour ?? 0));
  const paired = Boolean(session.phoneNumber);
  $(".pair", card).hidden = paired && session.status !== "logged_out";
  $(".reconnect", card).hidden = !paired;
}

function card(session) {
  const node = $("#session-card").content.firstElementChild.cloneNode(true);
  node.dataset.session = session.id;
  for (const button of node.querySelectorAll("button")) {
    button.setAttribute("aria-describedby", `name-${session.id}`);
  }
  $(".session-name", node).id = `name-${session.id}`;
  $(".reconnect", node).addEventListener("click", (e) => reconnect(session.id, e.currentTarget));
  $(".pair", node).addEventListener("click", () => openPairing(session.id));
  $(".delete", node).addEventListener("click", (e) => remove(session.id, e.currentTarget));
  if (!isAdmin()) $(".delete", node).remove();
  return node;
}

export function renderSessions() {
  const list = $("#session-list");
  const cards = new Map([...list.children].map((c) => [c.dataset.session, c]));
  for (const session of state.sessions) {
    let node = cards.get(session.id);
    if (!node) node = card(session);
    fill(node, session);
    list.append(node); // keeps the API's order; moves, never recreates, existing cards
    cards.delete(session.id);
  }
  for (const stale of cards.values()) stale.remove();
  setText(document, "#sessions-message", state.sessions.length ? "" : "No sessions yet.");
}

function result(id, text) {
  const node = document.querySelector(`li[data-session="${CSS.escape(id)}"] .result`);
  if (node) node.textContent = text;
}

async function reconnect(id, button) {
  result(id, "Reconnecting…");
  try {
    const outcome = await busy(button, () =>
      post(`/sessions/${enc(id)}/reconnect?wait=15`, undefined),
    );
    result(id, outcome.success ? `Reconnected: ${outcome.message}` : `Failed: ${outcome.message}`);
  } catch (error) {
    result(id, `Failed: ${error.message}`);
  }
  emit("refresh");
}

async function remove(id, button) {
  if (!window.confirm(`Delete session ${id}? The device is logged out and its data removed.`)) {
    return;
  }
  try {
    await busy(button, () => call("DELETE", `/sessions/${enc(id)}`));
    setText(document, "#sessions-message", `Session ${id} deleted.`);
  } catch (error) {
    result(id, `Delete failed: ${error.message}`);
  }
  emit("refresh");
}

export function setupSessions() {
  $("#new-key-done").addEventListener("click", () => {
    $("#new-key").hidden = true;
    setText($("#new-key"), "code", "");
  });
  $("#create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#new-id");
    const button = event.submitter || $("#create-form button");
    try {
      const created = await busy(button, () => post("/sessions", { id: input.value.trim() }));
      const key = $("#new-key");
      key.hidden = false;
      setText(key, ".key-session", created.session.id);
      setText(key, "code", created.apiKey.key);
      setText(document, "#sessions-message", `Session ${created.session.id} created.`);
      input.value = "";
    } catch (error) {
      setText(document, "#sessions-message", `Could not create it: ${error.message}`);
    }
    emit("refresh");
  });
}
