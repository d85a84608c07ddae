// Pairing: the QR shown live as it rotates (SVG from the API, shown as a blob: URL because
// the key is a header), or a pairing code for a phone number.

import { blob, enc, get, post } from "./api.js";
import { emit, on, session, state } from "./state.js";
import { $ } from "./util.js";

const FALLBACK_MS = 5000;
let pairing = null; // { id, qr, timer }

function dialog() {
  return $("#pair-dialog");
}

function status(text) {
  $("#pair-status").textContent = text;
}

async function showQr() {
  if (!pairing || pairing.byCode) return;
  const { id } = pairing;
  try {
    const current = await get(`/sessions/${enc(id)}/qr`);
    if (!pairing || pairing.id !== id) return;
    if (current.qr !== pairing.qr) {
      const image = await blob(`/sessions/${enc(id)}/qr?format=svg`);
      const img = $("#qr-image");
      if (img.src) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(image);
      img.hidden = false;
      img.dataset.index = String(current.index);
      pairing.qr = current.qr;
      $("#qr-caption").textContent = `QR ${current.index + 1}: scan it before it changes`;
    }
  } catch (error) {
    if (error.status === 404) {
      $("#qr-image").hidden = true;
      $("#qr-caption").textContent = "No QR showing right now.";
    }
  }
  schedule();
}

function schedule() {
  if (!pairing || pairing.byCode) return;
  clearTimeout(pairing.timer);
  pairing.timer = setTimeout(showQr, FALLBACK_MS);
}

function finish(text) {
  status(text);
  clearTimeout(pairing?.timer);
  $("#qr-image").hidden = true;
  $("#qr-caption").textContent = "";
  emit("refresh");
}

export async function openPairing(id) {
  pairing = { id, qr: null, timer: null, byCode: false };
  state.current = id;
  emit("follow", id);
  $("#pair-title").textContent = `Link a phone to ${id}`;
  $("#pair-code").textContent = "";
  status("Starting pairing…");
  dialog().showModal();
  try {
    await post(`/sessions/${enc(id)}/pair?wait=10`, undefined);
    status("Waiting for the phone to scan…");
  } catch (error) {
    status(`Could not start pairing: ${error.message}`);
  }
  await showQr();
}

export function setupPairing() {
  dialog().addEventListener("close", () => {
    clearTimeout(pairing?.timer);
    pairing = null;
  });
  $("#code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pairing) return;
    const { id } = pairing;
    try {
      // One pairing at a time: the QR registration stops before a code is asked for.
      clearTimeout(pairing.timer);
      pairing.byCode = true;
      pairing.qr = null;
      $("#qr-image").hidden = true;
      $("#qr-caption").textContent = "Pairing by code instead of the QR.";
      await post(`/sessions/${enc(id)}/disconnect`, undefined);
      const code = await post(`/sessions/${enc(id)}/pair-code`, {
        phone: $("#code-phone").value.trim(),
      });
      $("#pair-code").textContent = code.code;
      status("Type this code on the phone: Linked devices › Link with phone number.");
    } catch (error) {
      status(`No code: ${error.message}`);
    }
  });
  on("event", (event) => {
    if (!pairing || event.sessionId !== pairing.id) return;
    if (event.type === "qr.code") showQr();
    if (event.type === "session.paired") finish("Paired. Connecting…");
    if (event.type === "connection.open") finish("Paired and connected.");
  });
  on("sessions", () => {
    if (!pairing) return;
    const current = session(pairing.id);
    if (current?.status === "connected" && $("#pair-status").textContent !== "Paired and connected.") {
      finish("Paired and connected.");
    }
  });
}
