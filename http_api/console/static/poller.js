// When to poll, as the status plan says: a light poll every 30 s and a deep one every 5 min;
// every 5 s while the daemon is younger than a minute (sessions are still coming up);
// 5 s, 10 s, then 30 s between tries while the daemon cannot be reached; nothing while the tab
// is hidden, and at once when it is shown or focused again.

export const LIGHT_MS = 30_000;
export const DEEP_MS = 300_000;
export const STARTING_MS = 5_000;
export const STARTING_UPTIME_S = 60;
export const BACKOFF_MS = [5_000, 10_000, 30_000];

export function nextDelay({ reachable, failures, uptime }) {
  if (!reachable) return BACKOFF_MS[Math.min(Math.max(failures, 1), BACKOFF_MS.length) - 1];
  if (uptime !== null && uptime < STARTING_UPTIME_S) return STARTING_MS;
  return LIGHT_MS;
}

export class Poller {
  // light(): resolves to the daemon's uptime, throws Unreachable; deep(): runs the deep poll.
  constructor({ light, deep, onSchedule = () => {} }) {
    this.light = light;
    this.deep = deep;
    this.onSchedule = onSchedule;
    this.state = { reachable: true, failures: 0, uptime: null };
    this.timer = null;
    this.running = false;
    this.lastDeep = 0;
    this.lastRun = 0;
    this.stopped = true;
    this.onVisibility = () => (document.hidden ? this.pause() : this.now());
    this.onFocus = () => this.now();
  }

  start() {
    this.stopped = false;
    document.addEventListener("visibilitychange", this.onVisibility);
    window.addEventListener("focus", this.onFocus);
    if (!document.hidden) this.now();
  }

  stop() {
    this.stopped = true;
    this.pause();
    document.removeEventListener("visibilitychange", this.onVisibility);
    window.removeEventListener("focus", this.onFocus);
  }

  pause() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  // Polls now (unless a poll is running or ran within the last second, as when focus and
  // visibility change together).
  now({ force = false } = {}) {
    if (this.stopped || document.hidden || this.running) return; // a run schedules the next
    if (!force && Date.now() - this.lastRun < 1000) {
      if (!this.timer) this.schedule();
      return;
    }
    this.pause();
    this.run();
  }

  async run() {
    this.running = true;
    this.lastRun = Date.now();
    try {
      const uptime = await this.light();
      this.state = { reachable: true, failures: 0, uptime };
      if (Date.now() - this.lastDeep >= DEEP_MS) {
        this.lastDeep = Date.now();
        await this.deep();
      }
    } catch (error) {
      if (error?.name !== "Unreachable") console.warn("poll failed", error);
      const failures = error?.name === "Unreachable" ? this.state.failures + 1 : 0;
      this.state = { reachable: failures === 0, failures, uptime: this.state.uptime };
    } finally {
      this.running = false;
    }
    this.schedule();
  }

  schedule() {
    this.pause();
    if (this.stopped || document.hidden) return;
    const delay = nextDelay(this.state);
    this.onSchedule(this.state, delay);
    this.timer = setTimeout(() => this.run(), delay);
  }
}
