"""The asynchronous side of the start-up pacer: connects queue here, in order, and each sleeps
until the time :class:`~daemon.startup_pacing.StartupPacer` gave it.

Whoever starts sessions (the manager at start-up, its retries, a fleet daemon taking over
sessions) wraps each connect attempt in :meth:`StartupGate.slot`::

    async with gate.slot():
        ...  # connect and wait for the login (or its failure)

Admission is first come, first served: only the head of the queue asks the pacer, so a retry
that queues after 400 first connects waits its turn instead of jumping it. Waiting for a free
admission re-checks at least every :data:`RECHECK_S`; the sleep until a start time is exactly
as long as the pacer says. A cancelled waiter leaves the queue at once and never holds an
admission (a stop is prompt).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from daemon.startup_pacing import StartupPacer, StartupRate

RECHECK_S = 1.0
"""Longest a queued connect waits before looking again (a wake-up cannot be lost for long)."""


@dataclass(frozen=True, slots=True)
class GateCounts:
    """What the gate holds now."""

    queued: int
    """Connects waiting for an admission."""
    admitted: int
    """Connects admitted: sleeping until their start time or connecting."""
    started: int
    """Connects started since the gate was made."""


class StartupGate:
    """Admits connects through a :class:`StartupPacer`, first come first served."""

    def __init__(
        self,
        rate: StartupRate,
        *,
        clock: Callable[[], float] = time.monotonic,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._pacer = StartupPacer(rate, uniform=uniform)
        self._clock = clock
        self._queue: deque[asyncio.Event] = deque()
        self._freed = asyncio.Event()
        self._started = 0

    @property
    def rate(self) -> StartupRate:
        return self._pacer.rate

    def retune(self, rate: StartupRate) -> None:
        """Paces at ``rate`` from now on (a fleet daemon's new share)."""
        self._pacer.retune(rate, self._clock())
        self._freed.set()

    def counts(self) -> GateCounts:
        return GateCounts(len(self._queue), self._pacer.admitted, self._started)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Waits for this connect's turn and start time; yields the start time (monotonic).
        The admission is given back when the block ends, however it ends."""
        start = await self._admit()
        try:
            delay = start - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self._started += 1
            yield start
        finally:
            self._pacer.finished()
            self._freed.set()

    async def _admit(self) -> float:
        turn = asyncio.Event()
        self._queue.append(turn)
        try:
            while True:
                if self._queue[0] is turn:
                    start = self._pacer.admit(self._clock())
                    if start is not None:
                        return start
                    self._freed.clear()
                    waiting_for = self._freed
                else:
                    waiting_for = turn
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RECHECK_S):
                        await waiting_for.wait()
        finally:
            head = self._queue[0] is turn
            self._queue.remove(turn)
            if head and self._queue:
                self._queue[0].set()


__all__ = ["RECHECK_S", "GateCounts", "StartupGate"]
