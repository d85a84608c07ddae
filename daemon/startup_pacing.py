"""The start-up pacer: when each session's connect may start, at a rate with a bound on how
many are under way at once.

Pure: it takes ``now`` (monotonic seconds) and returns decisions; the gate
(:mod:`daemon.startup_gate`) owns the clock and the sleeping.

The bound
---------
A token bucket in its GCRA form. With ``interval = 1 / connects_per_s`` and a tolerance
``tau = (burst - 1) * interval``, a connect admitted at ``now`` is given the start time
``max(now, tat - tau)`` plus a random ``0..jitter * interval``, and the theoretical arrival
time moves to ``max(tat, start) + interval``. Every start ``t_k`` is at least ``tat_k - tau``
and every ``tat_{k+1}`` at least ``t_k + interval``, so for any ``n`` starts ``k..m`` in a
window of ``T`` seconds, ``T >= (n - burst) * interval``: at most ``burst + connects_per_s * T``
connects start in any ``T`` seconds, whatever the order the waits end in (the jitter can
reorder starts that are less than ``burst`` apart). With ``T = 1``: never more than
``connects_per_s + burst`` in any second.

So the first ``burst`` connects start at once (within the jitter) and the rest follow one
``interval`` apart. Jitter up to ``tau`` costs no throughput while a backlog waits (it eats the
burst's slack, not the rate); with ``burst = 1`` it slows the pace by half the jitter on
average.

At most ``max_concurrent`` connects are *admitted* at once: from the admission, through the wait
for their start time, to the end of the login attempt (:meth:`StartupPacer.finished`). An
admission never waits for a finish once it has a start time, so a crowd of finishes cannot
release a crowd of starts above the rate.

Fleets
------
A pacer paces whatever this daemon starts. A fleet of daemons sharing one configured rate
gives each its share (:meth:`StartupRate.share`) and retunes it as daemons come and go
(:meth:`StartupPacer.retune`): the schedule ahead is rescaled to the new rate, and the starts
already given keep their times (for as long as they are pending, up to ``max_concurrent`` of
them, a window may hold those on top of the new rate's bound).
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
    """Steady rate once the burst is used (``NO_LIMIT``: as fast as admitted)."""
    burst: int = 1
    """Connects that may start back to back (the first ones of a start-up start at once)."""
    max_concurrent: int = 32
    """Connects admitted at once (waiting for their start time or logging in)."""
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
        self._admitted = 0

    @property
    def rate(self) -> StartupRate:
        return self._rate

    @property
    def admitted(self) -> int:
        """Connects admitted and not finished."""
        return self._admitted

    def admit(self, now: float) -> float | None:
        """Admits one connect: the time it may start (``>= now``), or None while
        ``max_concurrent`` are admitted (ask again after a :meth:`finished`)."""
        rate = self._rate
        if self._admitted >= rate.max_concurrent:
            return None
        self._admitted += 1
        interval = rate.interval_s
        tolerance = (rate.burst - 1) * interval
        start = max(now, self._tat - tolerance)
        if rate.jitter > 0 and interval > 0:
            start += self._uniform(0.0, rate.jitter * interval)
        self._tat = max(self._tat, start) + interval
        return start

    def finished(self) -> None:
        """An admitted connect ended (logged in, failed, gave up, or was cancelled)."""
        if self._admitted <= 0:
            raise RuntimeError("finished() without an admitted connect")
        self._admitted -= 1

    def retune(self, rate: StartupRate, now: float) -> None:
        """Paces from ``now`` on at ``rate``. The schedule still ahead (starts given but not
        yet due) is rescaled to the new interval for what comes next; the starts already
        given keep their times, so until they are due a window may hold those as well as
        the new rate's."""
        old_interval, new_interval = self._rate.interval_s, rate.interval_s
        if self._tat > now and old_interval > 0:
            self._tat = now + (self._tat - now) * new_interval / old_interval
        self._rate = rate


__all__ = [
    "NO_LIMIT",
    "StartupPacer",
    "StartupRate",
    "StartupRateError",
    "configured_rate",
    "most_in_any_window",
]
