"""http_api.deadlines: one timer bounds every request; a request past its deadline is
cancelled, and only that cancellation counts as the bound's."""

from __future__ import annotations

import asyncio
import time

import pytest

from http_api.deadlines import RequestDeadlines

WAIT_S = 10.0
"""Generous: bounds a failing test only."""


async def bounded_sleep(deadlines: RequestDeadlines, seconds: float) -> str:
    """What the API middleware does around a handler, with a sleep as the handler."""
    task = deadlines.enter()
    cancelling = task.cancelling()
    try:
        await asyncio.sleep(seconds)
        return "done"
    except asyncio.CancelledError:
        if deadlines.timed_out(task, cancelling):
            return "timed out"
        raise
    finally:
        deadlines.leave(task)


async def test_requests_within_the_bound_share_one_timer() -> None:
    deadlines = RequestDeadlines(60.0)
    results = await asyncio.gather(*(bounded_sleep(deadlines, 0) for _ in range(100)))
    assert results == ["done"] * 100
    for _ in range(100):
        assert await bounded_sleep(deadlines, 0) == "done"
    assert deadlines.timers_armed == 1
    deadlines.close()


async def test_a_request_past_its_deadline_is_cancelled_and_told_so() -> None:
    deadlines = RequestDeadlines(0.5)
    async with asyncio.timeout(WAIT_S):
        slow = asyncio.create_task(bounded_sleep(deadlines, WAIT_S))
        await asyncio.sleep(0)
        quick = await bounded_sleep(deadlines, 0)
        later = asyncio.create_task(bounded_sleep(deadlines, WAIT_S))
        assert await slow == "timed out"
        assert await later == "timed out"
    assert quick == "done"
    # The cancellation was undone: the task is not left cancelling.
    assert slow.cancelling() == 0
    # The timer rests once no request is left.
    await asyncio.sleep(0.1)
    armed = deadlines.timers_armed
    await asyncio.sleep(0.1)
    assert deadlines.timers_armed == armed
    deadlines.close()


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = RequestDeadlines(60.0)
    task = asyncio.create_task(bounded_sleep(deadlines, WAIT_S))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadlines.close()


async def test_cancelled_from_elsewhere_as_its_deadline_passes_stays_cancelled() -> None:
    """Both at once (the daemon stops as the bound passes): the task stays cancelled, as
    with ``asyncio.timeout``."""
    deadlines = RequestDeadlines(0.05)

    async def handler() -> str:
        task = deadlines.enter()
        cancelling = task.cancelling()
        asyncio.get_running_loop().call_later(0.06, task.cancel)
        try:
            time.sleep(0.1)  # the loop stands still: both cancels come due at its next turn
            await asyncio.sleep(WAIT_S)
            return "done"
        except asyncio.CancelledError:
            if deadlines.timed_out(task, cancelling):
                return "timed out"
            raise
        finally:
            deadlines.leave(task)

    async with asyncio.timeout(WAIT_S):
        task = asyncio.create_task(handler())
        with pytest.raises(asyncio.CancelledError):
            await task
    deadlines.close()
