// Live updates: the followed session's event stream (SSE over fetch). Polls stay the
// fallback: when the stream breaks it is retried every few seconds, and it is closed while
// the tab is hidden, then resumed after the last event seen.

import { enc, get, stream } from "./api.js";

const RETRY_MS = 3000;
export const MAX_STREAMS = 3;
/* A browser keeps at most six HTTP/1.1 connections to one server: three streams leave room for
   the polls and the page's own requests. Sessions beyond them are kept true by the polls. */

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
    this.onVisibility = () => {
      if (document.hidden) this.halt();
      else if (this.sessionId) this.begin();
    };
    document.addEventListener("visibilitychange", this.onVisibility);
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
    document.removeEventListener("visibilitychange", this.onVisibility);
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

// The streams of the followed session and, room permitting, of the next sessions in the list.
export class LiveSet {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.streams = new Map();
  }

  follow(ids) {
    const wanted = new Set(ids.slice(0, MAX_STREAMS));
    for (const [id, live] of this.streams) {
      if (!wanted.has(id)) {
        live.stop();
        this.streams.delete(id);
      }
    }
    for (const id of wanted) {
      if (!this.streams.has(id)) {
        const live = new Live(this.onEvent);
        live.follow(id);
        this.streams.set(id, live);
      }
    }
  }

  stop() {
    this.follow([]);
  }
}
