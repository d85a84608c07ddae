"""The campaign pacer: how many recipients may be dispatched now, and when to look again.

Pure: it takes ``now`` (unix seconds) and the evidence, and returns a decision; the dispatcher
owns the clock, the storage and the outbox.

The bound
---------
Over any 60 seconds, no more than ``rate_per_minute`` of a campaign's messages reach the wire.
The dispatcher hands a recipient to the outbox (time ``t``); the outbox puts it on the wire
later (``w ≥ t``), one message after another in the order they were handed over; the message
*settles* (sent or failed, time ``s ≥ w``) and the dispatcher learns it. A dispatch at ``t`` is
allowed only while fewer than ``rate`` of the campaign's messages are *occupying* the minute
before it: those still in flight (queued, not settled) and those settled after ``t - 60``.
Take the last message of any 60-second window of wire times, dispatched at ``t_m``: every
earlier message of the window went out after ``w_m - 60 ≥ t_m - 60``, so it settled after
that too, or has not settled — either way it occupied the minute when ``m`` was dispatched.
Hence at most ``rate - 1`` others, ``rate`` in all. The evidence survives a restart: queued
recipients and settle times are stored (:meth:`CampaignStore.pacing_evidence`).

Even pacing
-----------
Within the bound, dispatches are spread evenly: one every ``60 / rate`` seconds plus a random
``0..jitter_s``, and only inside the daily window. A dispatcher that wakes late may dispatch a
few at once to keep the average rate (never more than :data:`CATCH_UP_S` worth), so fast test
rates are not limited by how often the loop runs.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.campaign_values import DailyWindow, Pacing

MINUTE_S = 60.0
CATCH_UP_S = 0.25
"""A late dispatcher may catch up at most this much time's worth of dispatches at once."""
MAX_BATCH = 50
"""Dispatches decided at once (one transaction)."""


@dataclass(frozen=True, slots=True)
class Allowance:
    count: int
    """How many recipients may be dispatched now (0: wait)."""
    retry_at: float | None
    """When to look again if ``count`` is 0; None: only when a dispatch settles."""


def _at(day: date, at: time, zone: ZoneInfo) -> float:
    return datetime.combine(day, at, tzinfo=zone).timestamp()


def window_open_at(window: DailyWindow, now: float) -> float:
    """``now`` if the window is open, else when it opens next."""
    zone = ZoneInfo(window.time_zone)
    local = datetime.fromtimestamp(now, zone)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if window.start < window.end:
        if window.start <= clock < window.end:
            return now
        day = today if clock < window.start else today + timedelta(days=1)
    else:
        if clock >= window.start or clock < window.end:
            return now
        day = today
    # A start inside a DST gap maps to a time near it; never before now.
    return max(now, _at(day, window.start, zone))


class Pacer:
    """One campaign's pacing state (see the module docstring)."""

    def __init__(
        self,
        pacing: Pacing,
        *,
        next_due: float,
        in_flight: int = 0,
        settled: Iterable[float] = (),
        uniform: Callable[[float, float], float],
    ) -> None:
        self.pacing = pacing
        self.next_due = next_due
        self.in_flight = in_flight
        self._settled: deque[float] = deque(sorted(settled))
        self._uniform = uniform

    @property
    def interval_s(self) -> float:
        return MINUTE_S / self.pacing.rate_per_minute

    def occupying(self, now: float) -> int:
        """Messages occupying the minute before ``now`` (in flight or settled in it)."""
        while self._settled and self._settled[0] <= now - MINUTE_S:
            self._settled.popleft()
        return self.in_flight + len(self._settled)

    def allowance(self, now: float) -> Allowance:
        window = self.pacing.window
        if window is not None:
            opens = window_open_at(window, now)
            if opens > now:
                return Allowance(0, opens)
        if now < self.next_due:
            return Allowance(0, self.next_due)
        free = self.pacing.rate_per_minute - self.occupying(now)
        if free <= 0:
            # Only settled messages age out; in-flight ones wait for their settle.
            retry = self._settled[0] + MINUTE_S if self._settled else None
            return Allowance(0, retry)
        behind = min(now - self.next_due, CATCH_UP_S)
        by_spacing = 1 + math.floor(behind / self.interval_s)
        count = min(free, by_spacing, MAX_BATCH)
        if self.pacing.jitter_s > 0:
            count = 1
        return Allowance(count, None)

    def dispatched(self, count: int, now: float) -> None:
        """``count`` recipients were handed to the outbox at ``now``."""
        self.in_flight += count
        due = max(self.next_due, now - CATCH_UP_S) + count * self.interval_s
        if self.pacing.jitter_s > 0:
            due += self._uniform(0.0, self.pacing.jitter_s)
        self.next_due = due

    def settled(self, at: float) -> None:
        """A dispatched message was sent or failed at ``at``."""
        self.in_flight = max(0, self.in_flight - 1)
        if self._settled and at < self._settled[-1]:
            at = self._settled[-1]
        self._settled.append(at)


__all__ = ["CATCH_UP_S", "MAX_BATCH", "MINUTE_S", "Allowance", "Pacer", "window_open_at"]
