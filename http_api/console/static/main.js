// The console's entry point: sign-in, the header dot and its popover, the views, and the
// polls and live stream that keep them true.

import { showEvents, showWebhooks, setupActivity } from "./activity.js";
import { auth, enc, get, Unreachable } from "./api.js";
import { setupInbox, showInbox } from "./inbox.js";
import { LiveSet } from "./live.js";
import { setupPairing } from "./pair.js";
import { Poller } from "./poller.js";
import { renderSessions, setupSessions, statusLabel } from "./sessions.js";
import { emit, isAdmin, on, overall, state } from "./state.js";
import { $, duration, el, when } from "./util.js";

const VIEWS = ["sessions", "inbox", "activity"];
const REFRESH_ON = new Set([
  "connection.state",
  "connection.open",
  "connection.closed",
  "session.paired",
  "session.recovery",
  "alert",
]);

let poller = null;
let live = null;
let lastColour = null;
let refreshTimer = null;

// Light poll: /health (is the daemon there, how long has it run) and the sessions the key sees.
async function lightPoll() {
  const health = await get("/health", { key: null, allowError: true });
  state.health = health;
  state.reachable = true;
  const { sessions } = await get("/sessions");
  state.sessions = sessions;
  state.checkedAt = new Date().toISOString();
  if (!state.current || !sessions.some((s) => s.id === state.current)) {
    state.current = sessions[0]?.id ?? null;
  }
  emit("sessions");
  return health.uptime;
}

// Deep poll: database latency and socket evidence, and each session's sending pause.
async function deepPoll() {
  state.deep = await get("/health/deep", { allowError: true });
  for (const session of state.sessions) {
    const outbox = await get(`/sessions/${enc(session.id)}/outbox?limit=1`);
    if (outbox.paused) state.pauses.set(session.id, outbox.paused);
    else state.pauses.delete(session.id);
  }
  emit("sessions");
}

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => poller?.now({ force: true }), 150);
}

function renderDot() {
  const { colour, text } = overall();
  const dot = $("#dot");
  dot.className = `dot dot-${colour}`;
  if (lastColour !== null && lastColour !== colour) {
    void dot.offsetWidth; // restart the pulse animation
    dot.classList.add("pulse");
  }
  lastColour = colour;
  dot.title = text;
  dot.dataset.state = colour;
  $("#health-text").textContent = text;
  renderPopover(text);
}

function renderPopover(text) {
  $("#popover-summary").textContent = text;
  $("#popover-sessions").replaceChildren(
    ...state.sessions.map((s) => {
      const green = s.status === "connected";
      return el(
        "li",
        {},
        el("span", { class: `mini-dot ${green ? "green" : "red"}`, "aria-hidden": "true" }),
        el("span", { text: `${s.id}: ${statusLabel(s.status)}` }),
      );
    }),
  );
  $("#popover-uptime").textContent = state.health ? duration(state.health.uptime) : "–";
  const db = state.deep?.database;
  $("#popover-db").textContent = db
    ? db.connected
      ? `connected (${db.latencyMs} ms)`
      : "not answering"
    : "–";
  $("#popover-checked").textContent = state.checkedAt ? when(state.checkedAt) : "–";
}

function togglePopover(open) {
  const popover = $("#popover");
  const show = open ?? popover.hidden;
  popover.hidden = !show;
  $("#dot").setAttribute("aria-expanded", String(show));
}

function fillSessionPickers() {
  for (const select of [$("#inbox-session"), $("#activity-session")]) {
    const options = state.sessions.map((s) =>
      el("option", { value: s.id, text: s.id, selected: s.id === state.current }),
    );
    select.replaceChildren(...options);
  }
}

async function showView(name) {
  for (const view of VIEWS) {
    $(`#view-${view}`).hidden = view !== name;
    const link = $(`.tabs a[data-view="${view}"]`);
    if (view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    if (name === "inbox" && state.current) await showInbox(state.current);
    if (name === "activity") {
      if (state.current) await showEvents(state.current);
      await showWebhooks();
    }
  } catch (error) {
    console.warn(`could not load ${name}`, error);
  }
}

function currentView() {
  const wanted = location.hash.replace("#", "");
  return VIEWS.includes(wanted) ? wanted : "sessions";
}

// The current session first, then the others in the API's order.
function followStreams() {
  const others = state.sessions.map((s) => s.id).filter((id) => id !== state.current);
  live.follow(state.current ? [state.current, ...others] : others);
}

function follow(sessionId) {
  state.current = sessionId;
  followStreams();
  fillSessionPickers();
}

async function signIn(key) {
  const who = await get("/whoami", { key });
  auth.set(key);
  state.role = who.role;
  state.scope = who.sessionId;
  document.body.dataset.role = who.role;
  for (const node of document.querySelectorAll(".admin-only")) node.hidden = !isAdmin();
  $("#signin").hidden = true;
  $(".tabs").hidden = false;
  $("#signout").hidden = false;
  poller = new Poller({
    light: lightPoll,
    deep: deepPoll,
    onSchedule: (polling, delay) => {
      state.reachable = polling.reachable;
      renderDot();
      if (!polling.reachable) {
        $("#health-text").textContent = `Server unreachable — retrying in ${delay / 1000} s`;
      }
    },
  });
  poller.start();
  await showView(currentView());
}

function signOut() {
  auth.clear();
  poller?.stop();
  live?.stop();
  location.hash = "";
  location.reload();
}

function setup() {
  live = new LiveSet((event) => {
    emit("event", event);
    if (REFRESH_ON.has(event.type)) refreshSoon();
  });
  auth.onRejected = () => signOut();
  setupSessions();
  setupPairing();
  setupInbox();
  setupActivity();

  on("sessions", () => {
    renderSessions();
    renderDot();
    fillSessionPickers();
    followStreams();
  });
  on("refresh", refreshSoon);
  on("follow", follow);

  $("#signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("#key").value.trim();
    $("#signin-error").textContent = "";
    try {
      await signIn(key);
      $("#key").value = "";
    } catch (error) {
      $("#signin-error").textContent =
        error instanceof Unreachable
          ? "The daemon cannot be reached."
          : error.status === 401
            ? "That key is not valid."
            : `Sign-in failed: ${error.message}`;
    }
  });
  $("#signout").addEventListener("click", signOut);
  $("#dot").addEventListener("click", () => togglePopover());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") togglePopover(false);
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#popover, #dot")) togglePopover(false);
  });
  window.addEventListener("hashchange", () => showView(currentView()));
  for (const id of ["#inbox-session", "#activity-session"]) {
    $(id).addEventListener("change", (event) => {
      follow(event.target.value);
      showView(currentView());
    });
  }

  if (auth.key) {
    signIn(auth.key).catch(() => {
      auth.clear();
      $("#signin").hidden = false;
    });
  } else {
    $("#key").focus();
  }
}

setup();
