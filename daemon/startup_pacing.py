"""The start-up pacer: when the next session's connect may start, at a rate with a bound on how
many are under way at once.

Pure: it takes ``now`` (monotonic seconds) and returns decisions; the gate
(:mod:`daemon.startup_gate`) owns the clock, the queue and the sleeping.

The bound
---------
A token bucket in its GCRA form, applied to the times connects *actually* start. With
``interval = 1 / connects_per_s`` and a tolerance ``tau = (burst - 1) * interval``, the next
connect may start once ``now >= tat - tau + d`` (``d``: a random ``0..jitter * interval``
drawn for it), and starting it at ``now`` moves the theoretical arrival time ``tat`` to
``max(tat, now) + interval``. Every start ``t_k`` is at least ``tat_k - tau`` and every
``tat_{k+1}`` at least ``t_k + interval``, so for any ``n`` starts in a window of ``T`` seconds
``T >= (n - burst) * interval``: at most ``burst + connects_per_s * T`` connects start in any
``T`` seconds. With ``T = 1``: never more than ``connects_per_s + burst`` in any second.

The check is made with the clock at the moment of starting, not at a time booked in advance:
a waiter that wakes late (a busy event loop) starts one connect, and the ones behind it follow
at the rate again, instead of every booked start that fell due meanwhile going at once.

So the first ``burst`` connects start at once and the rest follow one ``interval`` apart. The
jitter only spreads a backlog; up to ``tau`` it costs no throughput (it eats the burst's slack,
not the rate); with ``burst = 1`` it slows the pace by half the jitter on average.

At most ``max_concurrent`` connects are under way at once: from their start to the end of the
login attempt (:meth:`StartupPacer.finished`). Logins that a slow machine lets finish together
were started at the rate; the ones a server sees in a second are therefore at most the rate's
bound plus those under way when the second began.

Fleets
------
A pacer paces whatever this daemon starts. A fleet of daemons sharing one configured rate
gives each its share (:meth:`StartupRate.share`) and retunes it as daemons come and go
(:meth:`StartupPacer.retune`): the debt still ahead is rescaled to the new rate.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from daemon.config import ManagerConfig

NO_LIMIT = math.inf
"""A ``connects_per_s`` that paces nothing (only the concurrency bound applies)."""


class StartupRateError(ValueError):
    """A rate that cannot pace (the message names the field)."""


@dataclass(frozen=True, slots=True)
class StartupRate:
    """How fast one daemon starts sessions' connects."""

    connects_per_s: float
    """Steady rate once the burst is used (``NO_LIMIT``: only ``max_concurrent`` limits)."""
    burst: int = 1
    """Connects that may start back to back (the first ones of a start-up start at once)."""
    max_concurrent: int = 32
    """Connects under way at once (started, not yet logged in or failed)."""
    jitter: float = 0.0
    """Each start is delayed by a random ``0..jitter`` of the interval (0 to 1)."""

    def __post_init__(self) -> None:
        if not self.connects_per_s > 0:
            raise StartupRateError(f"connects_per_s: expected > 0, got {self.connects_per_s!r}")
        if self.burst < 1:
            raise StartupRateError(f"burst: expected at least 1, got {self.burst!r}")
        if self.max_concurrent < 1:
            raise StartupRateError(
                f"max_concurrent: expected at least 1, got {self.max_concurrent!r}"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise StartupRateError(f"jitter: expected 0 to 1, got {self.jitter!r}")

    @property
    def interval_s(self) -> float:
        return 1.0 / self.connects_per_s

    def max_starts_in(self, window_s: float) -> int:
        """The most connects that may start in any ``window_s`` seconds."""
        if math.isinf(self.connects_per_s):
            raise StartupRateError("an unlimited rate bounds nothing")
        return self.burst + math.floor(self.connects_per_s * window_s + 1e-9)

    def share(self, daemons: int) -> StartupRate:
        """One of ``daemons`` equal shares of this rate (a fleet's split). The rates add up to
        this one; bursts and concurrency are rounded up, so the fleet's burst is at most
        ``burst + daemons``."""
        if daemons < 1:
            raise StartupRateError(f"daemons: expected at least 1, got {daemons!r}")
        return StartupRate(
            connects_per_s=self.connects_per_s / daemons,
            burst=math.ceil(self.burst / daemons),
            max_concurrent=math.ceil(self.max_concurrent / daemons),
            jitter=self.jitter,
        )


def most_in_any_window(times: Iterable[float], window_s: float) -> int:
    """The most of ``times`` in any closed window of ``window_s`` seconds: what a rate's
    :meth:`StartupRate.max_starts_in` bounds (tests and benchmarks measure with it)."""
    ordered = sorted(times)
    slack = 1e-9 * max(1.0, window_s)
    return max(
        (bisect_right(ordered, t + window_s + slack) - i for i, t in enumerate(ordered)),
        default=0,
    )


def configured_rate(manager: ManagerConfig) -> StartupRate:
    """The daemon's rate from ``[manager]``; the deprecated ``connect_stagger_s``, when set,
    is the old fixed spacing: one connect every ``connect_stagger_s`` seconds (0: no pace)."""
    stagger = manager.connect_stagger_s
    if stagger is not None:
        return StartupRate(
            connects_per_s=1.0 / stagger if stagger > 0 else NO_LIMIT,
            burst=1,
            max_concurrent=manager.startup_max_concurrent,
        )
    return StartupRate(
        connects_per_s=manager.startup_connects_per_s,
        burst=manager.startup_burst,
        max_concurrent=manager.startup_max_concurrent,
        jitter=manager.startup_jitter,
    )


class StartupPacer:
    """The pacing state of one daemon (see the module docstring)."""

    def __init__(self, rate: StartupRate, *, uniform: Callable[[float, float], float]) -> None:
        self._rate = rate
        self._uniform = uniform
        self._tat = -math.inf
        self._jitter: float | None = None
        self._connecting = 0

    @property
    def rate(self) -> StartupRate:
        return self._rate

    @property
    def connecting(self) -> int:
        """Connects started and not finished."""
        return self._connecting

    def next_start(self, now: float) -> float | None:
        """When the next connect may start (``now`` if it may start now), or None while
        ``max_concurrent`` are under way (ask again after a :meth:`finished`)."""
        rate = self._rate
        if self._connecting >= rate.max_concurrent:
            return None
        interval = rate.interval_s
        if self._jitter is None:
            spread = rate.jitter * interval
            self._jitter = self._uniform(0.0, spread) if spread > 0 else 0.0
        return max(now, self._tat - (rate.burst - 1) * interval + self._jitter)

    def start(self, now: float) -> None:
        """The next connect starts at ``now`` (which :meth:`next_start` allowed)."""
        allowed = self.next_start(now)
        if allowed is None or allowed > now:
            raise RuntimeError("start() before next_start() allowed it")
        self._connecting += 1
        self._tat = max(self._tat, now) + self._rate.interval_s
        self._jitter = None

    def finished(self) -> None:
        """A started connect ended (logged in, failed, gave up, or was cancelled)."""
        if self._connecting <= 0:
            raise RuntimeError("finished() without a started connect")
        self._connecting -= 1

    def retune(self, rate: StartupRate, now: float) -> None:
        """Paces from ``now`` on at ``rate``: the debt still ahead (``tat`` past ``now``) is
        rescaled to the new interval."""
        old_interval, new_interval = self._rate.interval_s, rate.interval_s
        if self._tat > now and old_interval > 0:
            self._tat = now + (self._tat - now) * new_interval / old_interval
        self._rate = rate
        self._jitter = None


__all__ = [
    "NO_LIMIT",
    "StartupPacer",
    "StartupRate",
    "StartupRateError",
    "configured_rate",
    "most_in_any_window",
]
