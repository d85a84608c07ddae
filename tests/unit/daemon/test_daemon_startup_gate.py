"""The start-up gate on the real event loop: first come first served, never more admitted than
the bound, no start before the pacer's time, cancelled waiters leave at once and give back
what they held."""

from __future__ import annotations

import asyncio
import time

from daemon.startup_gate import GateCounts, StartupGate
from daemon.startup_pacing import NO_LIMIT, StartupRate

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
    assert gate.counts() == GateCounts(queued=0, admitted=0, started=30)


async def test_never_more_than_max_concurrent_inside() -> None:
    gate = StartupGate(StartupRate(connects_per_s=NO_LIMIT, max_concurrent=3))
    inside = 0
    most = 0

    async def connect() -> None:
        nonlocal inside, most
        async with gate.slot():
            inside += 1
            most = max(most, inside, gate.counts().admitted)
            await asyncio.sleep(0.005)
            inside -= 1

    async with asyncio.timeout(TIMEOUT), asyncio.TaskGroup() as group:
        for _ in range(20):
            group.create_task(connect())
    assert most == 3


async def test_no_connect_starts_before_its_time() -> None:
    gate = StartupGate(StartupRate(connects_per_s=50.0, burst=2, jitter=0.5))
    starts: list[float] = []
    entered: list[float] = []

    async def connect() -> None:
        async with gate.slot() as start:
            entered.append(time.monotonic())
            starts.append(start)

    async with asyncio.timeout(TIMEOUT), asyncio.TaskGroup() as group:
        for _ in range(10):
            group.create_task(connect())
    assert all(now >= start - 0.001 for now, start in zip(entered, starts, strict=True))
    ordered = sorted(starts)
    # At most the burst of 2 plus 50 a second in any window of the pacer's start times.
    for window in (0.02, 0.1):
        most = max(sum(1 for t in ordered if s <= t <= s + window + 1e-9) for s in ordered)
        assert most <= 2 + int(50 * window + 1e-9)


async def test_cancelled_waiters_leave_at_once_and_give_back_their_admission() -> None:
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
    sleeping = asyncio.create_task(later())  # admitted, sleeping until its start time
    queued = [asyncio.create_task(later()) for _ in range(3)]  # no admission free
    async with asyncio.timeout(TIMEOUT):
        while gate.counts() != GateCounts(queued=3, admitted=2, started=1):
            await asyncio.sleep(0.001)
    for task in [sleeping, *queued]:
        task.cancel()
    async with asyncio.timeout(TIMEOUT):
        await asyncio.gather(sleeping, *queued, return_exceptions=True)
    assert gate.counts() == GateCounts(queued=0, admitted=1, started=1)
    release.set()
    await asyncio.wait_for(holder, TIMEOUT)
    assert gate.counts() == GateCounts(queued=0, admitted=0, started=1)


async def test_a_retune_applies_to_the_next_admission() -> None:
    gate = StartupGate(StartupRate(connects_per_s=0.001, burst=1))
    async with gate.slot():
        pass
    gate.retune(StartupRate(connects_per_s=NO_LIMIT))
    assert gate.rate.connects_per_s == NO_LIMIT
    async with asyncio.timeout(TIMEOUT), gate.slot():
        # The old schedule's next slot was 1000 s away; the new rate starts it now.
        pass
