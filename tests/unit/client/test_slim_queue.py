"""SlimQueue: asyncio.Queue's behaviour for what the client uses, holding nothing while empty."""

from __future__ import annotations

import asyncio
import gc
from collections import deque

import pytest

from daemon.client.slim_queue import SlimQueue


def _holds_a_deque(queue: SlimQueue[int]) -> bool:
    return any(isinstance(ref, deque) for ref in gc.get_referents(queue))


async def test_items_come_out_in_order_and_an_empty_queue_holds_no_buffer() -> None:
    queue: SlimQueue[int] = SlimQueue()
    assert not queue.holds_buffers and not _holds_a_deque(queue)
    for item in range(5):
        queue.put_nowait(item)
    assert queue.qsize() == 5 and _holds_a_deque(queue)
    assert [await queue.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert queue.empty() and not queue.holds_buffers and not _holds_a_deque(queue)
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_getter_waits_for_the_next_item_and_leaves_no_waiter_list() -> None:
    queue: SlimQueue[str] = SlimQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done() and queue.holds_buffers
    queue.put_nowait("stanza")
    assert await asyncio.wait_for(getter, 1.0) == "stanza"
    assert not queue.holds_buffers


async def test_a_full_queue_refuses_put_nowait_and_holds_put_until_there_is_room() -> None:
    queue: SlimQueue[int] = SlimQueue(maxsize=2)
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert queue.full()
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait(3)
    putter = asyncio.create_task(queue.put(3))
    await asyncio.sleep(0)
    assert not putter.done()
    assert queue.get_nowait() == 1
    await asyncio.wait_for(putter, 1.0)
    assert [queue.get_nowait(), queue.get_nowait()] == [2, 3]
    assert not queue.holds_buffers


async def test_a_getter_cancelled_after_its_wake_up_hands_the_item_to_the_next() -> None:
    queue: SlimQueue[int] = SlimQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(7)  # wakes ``first``...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 1.0) == 7
    with pytest.raises(asyncio.CancelledError):
        await first
    assert not queue.holds_buffers


async def test_a_getter_cancelled_while_waiting_leaves_nothing_behind() -> None:
    queue: SlimQueue[int] = SlimQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert not queue.holds_buffers
    queue.put_nowait(1)
    assert queue.get_nowait() == 1
