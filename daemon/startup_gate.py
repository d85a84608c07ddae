"""The asynchronous side of the start-up pacer: connects queue here, in order, and the one at
the head sleeps until :class:`~daemon.startup_pacing.StartupPacer` lets it start.

Whoever starts sessions (the manager at start-up, its retries, a fleet daemon adopting
sessions) wraps each connect attempt in :meth:`StartupGate.slot`::

    async with gate.slot():
        ...  # connect and wait for the login (or its failure)

First come, first served: only the head of the queue asks the pacer, so a retry that queues
behind 400 first connects waits its turn instead of jumping it. The head sleeps until the
time the pacer names (or until a connect finishes or the rate changes, which can make it
sooner), and asks again with the clock of the moment it wakes: a late wake-up starts one
connect, not a crowd. Waiting for a connect to finish re-checks at least every
:data:`RECHECK_S`. A cancelled waiter leaves the queue at once (a stop is prompt).
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
"""Longest the head waits for a connect to finish before looking again (a lost wake-up
cannot stall the queue for long)."""


@dataclass(frozen=True, slots=True)
class GateCounts:
    """What the gate holds now."""

    queued: int
    """Connects waiting for their turn to start."""
    connecting: int
    """Connects started and not finished."""
    started: int
    """Connects started since the gate was made."""


class StartupGate:
    """Starts connects through a :class:`StartupPacer`, first come first served."""

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
        self._changed = asyncio.Event()
        self._started = 0

    @property
    def rate(self) -> StartupRate:
        return self._pacer.rate

    def retune(self, rate: StartupRate) -> None:
        """Paces at ``rate`` from now on (a fleet daemon's new share)."""
        self._pacer.retune(rate, self._clock())
        self._changed.set()

    def counts(self) -> GateCounts:
        return GateCounts(len(self._queue), self._pacer.connecting, self._started)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Waits for this connect's turn and time; yields when it started (monotonic). The
        connect counts as under way until the block ends, however it ends."""
        started = await self._start()
        try:
            yield started
        finally:
            self._pacer.finished()
            self._changed.set()

    async def _start(self) -> float:
        turn = asyncio.Event()
        self._queue.append(turn)
        try:
            while True:
                if self._queue[0] is not turn:
                    await _wait(turn, RECHECK_S)
                    continue
                now = self._clock()
                at = self._pacer.next_start(now)
                if at is not None and at <= now:
                    self._pacer.start(now)
                    self._started += 1
                    return now
                self._changed.clear()
                await _wait(self._changed, RECHECK_S if at is None else at - now)
        finally:
            head = self._queue[0] is turn
            self._queue.remove(turn)
            if head and self._queue:
                self._queue[0].set()


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()


__all__ = ["RECHECK_S", "GateCounts", "StartupGate"]
