"""The start-up gate on the real event loop: first come first served, never more under way than
the bound, starts within the rate, cancelled waiters leave at once and give back what they
held, a retune applies at once."""

from __future__ import annotations

import asyncio
import time

from daemon.startup_gate import GateCounts, StartupGate
from daemon.startup_pacing import NO_LIMIT, StartupRate, most_in_any_window

TIMEOUT = 5.0


async def test_connects_enter_in_the_order_they_asked() -> None:
    gate = StartupGate(StartupRate(connects_per_s=NO_LIMIT, max_concurrent=1))
    entered: list[int] = []

    async def connect(index: int) -> None:
        async with gate.slot():
            entered.append(index)
            await asyncio.sleep(0.001)

    async with asyncio.timeout(TIMEOUT), asyncio.TaskGroup() as group:
        for index in range(30):
            group.create_task(connect(index))
            await asyncio.sleep(0)
    assert entered == list(range(30))
    assert gate.counts() == GateCounts(queued=0, connecting=0, started=30)


async def test_never_more_than_max_concurrent_inside() -> None:
    gate = StartupGate(StartupRate(connects_per_s=NO_LIMIT, max_concurrent=3))
    inside = 0
    most = 0

    async def connect() -> None:
        nonlocal inside, most
        async with gate.slot():
            inside += 1
            most = max(most, inside, gate.counts().connecting)
            await asyncio.sleep(0.005)
            inside -= 1

    async with asyncio.timeout(TIMEOUT), asyncio.TaskGroup() as group:
        for _ in range(20):
            group.create_task(connect())
    assert most == 3


async def test_starts_keep_the_rate() -> None:
    rate = StartupRate(connects_per_s=50.0, burst=2, jitter=0.5)
    gate = StartupGate(rate)
    starts: list[float] = []

    async def connect() -> None:
        async with gate.slot() as started:
            assert time.monotonic() >= started
            starts.append(started)

    async with asyncio.timeout(TIMEOUT), asyncio.TaskGroup() as group:
        for _ in range(10):
            group.create_task(connect())
    assert len(starts) == 10
    for window in (0.02, 0.1):
        assert most_in_any_window(starts, window) <= rate.max_starts_in(window)


async def test_cancelled_waiters_leave_at_once() -> None:
    gate = StartupGate(StartupRate(connects_per_s=0.001, burst=1, max_concurrent=2))
    release = asyncio.Event()
    inside = asyncio.Event()

    async def first() -> None:
        async with gate.slot():
            inside.set()
            await release.wait()

    async def later() -> None:
        async with gate.slot():
            raise AssertionError("a start 1000 s away was reached")

    holder = asyncio.create_task(first())
    await asyncio.wait_for(inside.wait(), TIMEOUT)
    sleeping = asyncio.create_task(later())  # at the head, sleeping until its time
    queued = [asyncio.create_task(later()) for _ in range(3)]  # behind it
    async with asyncio.timeout(TIMEOUT):
        while gate.counts() != GateCounts(queued=4, connecting=1, started=1):
            await asyncio.sleep(0.001)
    for task in [sleeping, *queued]:
        task.cancel()
    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(sleeping, *queued, return_exceptions=True)
    assert gate.counts() == GateCounts(queued=0, connecting=1, started=1)
    release.set()
    await asyncio.wait_for(holder, TIMEOUT)
    assert gate.counts() == GateCounts(queued=0, connecting=0, started=1)


async def test_a_retune_applies_to_the_next_admission() -> None:
    gate = StartupGate(StartupRate(connects_per_s=0.001, burst=1))
    async with gate.slot():
        pass
    gate.retune(StartupRate(connects_per_s=NO_LIMIT))
    assert gate.rate.connects_per_s == NO_LIMIT
    async with asyncio.timeout(TIMEOUT), gate.slot():
        # The old schedule's next slot was 1000 s away; the new rate starts it now.
        pass
