// The inbox: conversations with their last message and unread count; a chat's newest 20
// messages with "load older" through the `before` cursor; delivery ticks kept live from the
// event stream; a send box that goes through the outbox (queued → sent → delivered → read).

import { ApiError, enc, get, post } from "./api.js";
import { on, state } from "./state.js";
import { $, chatLabel, clock, el } from "./util.js";

const PAGE = 20;
const TRACK_MS = 1500;
const TRACK_FOR_MS = 120_000;
const TICKS = {
  pending: ["🕓", "Queued"],
  sending: ["🕓", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  read: ["✓✓", "Read"],
  played: ["✓✓", "Played"],
  failed: ["!", "Failed"],
};
const ORDER = ["pending", "sending", "sent", "delivered", "read", "played"];

const inbox = {
  sessionId: null,
  chats: [],
  chat: null, // the open chat's jid
  older: null, // nextCursor of the oldest page shown
  readOnly: new Set(), // group jids we may not post in (not a member, or announce-only)
};

const path = (suffix = "") => `/sessions/${enc(inbox.sessionId)}${suffix}`;

function ticks(status) {
  const [mark, label] = TICKS[status] || ["", status];
  return el(
    "span",
    { class: `ticks ${status}` },
    el("span", { class: "tick-mark", text: mark, "aria-hidden": "true" }),
    el("span", { class: "tick-label", text: label }),
  );
}

function bubble(message) {
  const meta = el("span", { class: "msg-meta" }, clock(message.timestamp));
  if (message.fromMe) meta.append(ticks(message.status));
  const text = message.text ?? (message.type ? `[${message.type}]` : "");
  const inGroup = String(message.chat || "").endsWith("@g.us") && !message.fromMe;
  const who = inGroup ? message.pushName || chatLabel({ jid: message.sender || "" }) : null;
  return el(
    "li",
    {
      class: `msg ${message.fromMe ? "out" : "in"}`,
      "data-id": message.id,
      "data-status": message.status,
    },
    who ? el("span", { class: "msg-sender", text: who }) : null,
    el("span", { class: "msg-text", text }),
    meta,
  );
}

function findBubble(id) {
  return $(`#messages li[data-id="${CSS.escape(id)}"]`);
}

// Statuses only move forward (a late "sent" never hides a "read").
function advance(id, status) {
  const node = findBubble(id);
  if (!node || !status) return;
  const was = ORDER.indexOf(node.dataset.status);
  const now = ORDER.indexOf(status);
  if (status !== "failed" && now <= was) return;
  node.dataset.status = status;
  const old = $(".ticks", node);
  if (old) old.replaceWith(ticks(status));
}

function renderChats() {
  const list = $("#chat-list");
  list.replaceChildren(
    ...inbox.chats.map((chat) => {
      const unread = chat.unreadCount
        ? el("span", { class: "unread", text: chat.unreadCount, "aria-label": `${chat.unreadCount} unread` })
        : null;
      const button = el(
        "button",
        { type: "button", "data-jid": chat.jid, "aria-current": chat.jid === inbox.chat ? "true" : "false" },
        el(
          "span",
          { class: "chat-name" },
          chatLabel(chat),
          chat.readOnly === true || inbox.readOnly.has(chat.jid)
            ? el("span", { class: "tag", text: "read-only" })
            : null,
        ),
        unread,
        el("span", { class: "chat-preview", text: chat.lastMessage?.preview ?? "" }),
      );
      button.addEventListener("click", () => openChat(chat.jid));
      return el("li", {}, button);
    }),
  );
  $("#chats-empty").hidden = inbox.chats.length > 0;
}

export async function loadChats() {
  if (!inbox.sessionId) return;
  const page = await get(path("/chats?limit=50"));
  inbox.chats = page.chats;
  renderChats();
}

function showReadOnly(chat) {
  const group = chat?.kind === "group";
  const readOnly =
    chat?.readOnly === true ||
    chat?.kind === "broadcast" ||
    (group && inbox.readOnly.has(chat.jid));
  $("#send-form").hidden = !chat || readOnly;
  const note = $("#read-only");
  note.hidden = !readOnly;
  note.textContent = readOnly ? "Read-only: this conversation does not accept messages from you." : "";
}

// A group's read-only state, where the daemon serves group details (GET .../groups/{jid}:
// readOnly, or isMember false); without that route the events and a refused send tell.
async function checkGroup(jid) {
  try {
    const group = await get(path(`/groups/${enc(jid)}`));
    if (group.readOnly === true || group.isMember === false) inbox.readOnly.add(jid);
    else if (group.readOnly === false) inbox.readOnly.delete(jid);
  } catch {
    return;
  }
  renderChats();
  if (inbox.chat === jid) showReadOnly(inbox.chats.find((c) => c.jid === jid));
}

async function openChat(jid) {
  inbox.chat = jid;
  const chat = inbox.chats.find((c) => c.jid === jid);
  $("#thread-title").textContent = chat ? chatLabel(chat) : jid;
  renderChats();
  showReadOnly(chat || { jid, kind: jid.endsWith("@g.us") ? "group" : "user" });
  if (jid.endsWith("@g.us")) checkGroup(jid);
  const page = await get(path(`/chats/${enc(jid)}/messages?limit=${PAGE}`));
  if (inbox.chat !== jid) return;
  $("#messages").replaceChildren(...page.messages.toReversed().map(bubble));
  inbox.older = page.nextCursor;
  $("#load-older").hidden = !inbox.older;
  scrollToEnd();
  if (chat?.unreadCount) {
    await post(path(`/chats/${enc(jid)}/read`), {}).catch(() => {});
    await loadChats();
  }
}

function scrollToEnd() {
  const list = $("#messages");
  list.scrollTop = list.scrollHeight;
}

async function loadOlder() {
  if (!inbox.older || !inbox.chat) return;
  const jid = inbox.chat;
  const page = await get(
    path(`/chats/${enc(jid)}/messages?limit=${PAGE}&before=${enc(inbox.older)}`),
  );
  if (inbox.chat !== jid) return;
  const fresh = page.messages.filter((m) => !findBubble(m.id));
  $("#messages").prepend(...fresh.toReversed().map(bubble));
  inbox.older = page.nextCursor;
  $("#load-older").hidden = !inbox.older;
}

// Follows a message we sent until the phone read it (the stream updates it sooner).
async function track(id) {
  const started = Date.now();
  while (Date.now() - started < TRACK_FOR_MS) {
    await new Promise((resolve) => setTimeout(resolve, TRACK_MS));
    if (!findBubble(id)) return;
    try {
      const sent = await get(path(`/messages/${enc(id)}`));
      advance(id, sent.status);
      if (["read", "played", "failed"].includes(sent.status)) return;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return;
    }
  }
}

async function send(event) {
  event.preventDefault();
  const box = $("#send-text");
  const text = box.value.trim();
  if (!text || !inbox.chat) return;
  const button = $("#send-form button");
  button.disabled = true;
  try {
    const queued = await post(path("/messages"), { to: inbox.chat, text }, {
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    box.value = "";
    const node = bubble({
      id: queued.id,
      fromMe: true,
      status: queued.status,
      text,
      timestamp: queued.createdAt,
    });
    if (!findBubble(queued.id)) $("#messages").append(node);
    scrollToEnd();
    track(queued.id);
  } catch (error) {
    if (error.problem?.type?.endsWith("/read-only-group")) {
      inbox.readOnly.add(inbox.chat);
      showReadOnly(inbox.chats.find((c) => c.jid === inbox.chat));
    }
    $("#read-only").hidden = false;
    $("#read-only").textContent = `Not sent: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

function onEvent(event) {
  if (event.sessionId !== inbox.sessionId) return;
  const data = event.data || {};
  if (event.type === "message.received") {
    const message = data.message;
    if (message.chat === inbox.chat && !findBubble(message.id)) {
      $("#messages").append(bubble(message));
      scrollToEnd();
      if (!message.fromMe && !document.hidden) {
        // The operator is looking at the conversation: it is read.
        post(path(`/chats/${enc(message.chat)}/read`), { ids: [message.id] }).catch(() => {});
      }
    }
    loadChats().catch(() => {});
  } else if (event.type === "message.updated") {
    advance(data.id, data.status);
  } else if (event.type === "receipt") {
    for (const id of data.ids || []) advance(id, data.status);
  } else if (event.type === "chat.updated") {
    loadChats().catch(() => {});
  } else if (event.type === "group.updated" && data.group) {
    const { group } = data;
    if (group.readOnly ?? group.isMember === false) inbox.readOnly.add(group.jid);
    else inbox.readOnly.delete(group.jid);
    renderChats();
    if (inbox.chat === group.jid) showReadOnly(inbox.chats.find((c) => c.jid === inbox.chat));
  }
}

export async function showInbox(sessionId) {
  if (sessionId !== inbox.sessionId) {
    inbox.sessionId = sessionId;
    inbox.chat = null;
    $("#messages").replaceChildren();
    $("#thread-title").textContent = "Choose a conversation";
    showReadOnly(null);
    $("#load-older").hidden = true;
  }
  await loadChats();
}

export function setupInbox() {
  $("#load-older").addEventListener("click", () => loadOlder());
  $("#send-form").addEventListener("submit", send);
  $("#send-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#send-form").requestSubmit();
    }
  });
  on("event", onEvent);
  on("sessions", () => {
    if (state.current && state.current !== inbox.sessionId && !$("#view-inbox").hidden) {
      showInbox(state.current).catch(() => {});
    }
  });
}
