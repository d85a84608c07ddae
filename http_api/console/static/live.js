// Live updates: the followed session's event stream (SSE over fetch). Polls stay the
// fallback: when the stream breaks it is retried every few seconds, and it is closed while
// the tab is hidden, then resumed after the last event seen.

import { enc, get, stream } from "./api.js";

const RETRY_MS = 3000;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class Live {
  constructor(onEvent, onStatus = () => {}) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.sessionId = null;
    this.after = null;
    this.controller = null;
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) this.halt();
      else if (this.sessionId) this.begin();
    });
  }

  follow(sessionId) {
    if (sessionId === this.sessionId && this.controller) return;
    this.halt();
    this.sessionId = sessionId;
    this.after = null;
    if (sessionId && !document.hidden) this.begin();
  }

  stop() {
    this.halt();
    this.sessionId = null;
  }

  halt() {
    this.controller?.abort();
    this.controller = null;
  }

  begin() {
    this.halt();
    const controller = new AbortController();
    this.controller = controller;
    this.loop(this.sessionId, controller.signal);
  }

  async loop(sessionId, signal) {
    const path = `/sessions/${enc(sessionId)}/events`;
    while (!signal.aborted) {
      try {
        if (this.after === null) {
          this.after = (await get(`${path}?limit=1`, { signal })).lastSeq;
        }
        this.onStatus(true);
        await stream(
          path,
          this.after,
          (event) => {
            this.after = event.seq;
            this.onEvent(event);
          },
          signal,
        );
      } catch (error) {
        if (signal.aborted) return;
      }
      this.onStatus(false);
      await sleep(RETRY_MS, signal);
    }
  }
}
