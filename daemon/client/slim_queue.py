"""A FIFO queue for the long-lived queues of an idle session, holding nothing while it is empty.

``asyncio.Queue`` makes four deques when it is made (its items, its getters, its putters and an
``Event``'s waiters), about 3 KiB, and keeps them for its lifetime; an idle connected session
holds several queues (stanzas read but not handled, acks owed, event subscriptions), so those
empty deques were a good part of what a session holds when it does nothing. This queue keeps its
items in a deque only while it has some, and its waiters in a list only while someone waits. It
behaves as ``asyncio.Queue`` does for what the client uses (``put``/``get`` and their
``_nowait`` forms raising ``asyncio.QueueFull``/``asyncio.QueueEmpty``, ``empty``, ``qsize``),
including the hand-over of a wake-up when a woken waiter is cancelled.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class SlimQueue(Generic[T]):
    __slots__ = ("_getters", "_items", "_maxsize", "_putters")

    def __init__(self, maxsize: int = 0) -> None:
        self._maxsize = maxsize
        """0: unbounded."""
        self._items: deque[T] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._putters: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return 0 if self._items is None else len(self._items)

    def empty(self) -> bool:
        return self._items is None

    def full(self) -> bool:
        return 0 < self._maxsize <= self.qsize()

    @property
    def holds_buffers(self) -> bool:
        """Whether it holds an item buffer or a waiter list (never while empty and unwaited)."""
        return self._items is not None or self._getters is not None or self._putters is not None

    def put_nowait(self, item: T) -> None:
        if self.full():
            raise asyncio.QueueFull
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._getters = _wake_next(self._getters)

    def get_nowait(self) -> T:
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None
        self._putters = _wake_next(self._putters)
        return item

    async def put(self, item: T) -> None:
        while self.full():
            await self._wait(putting=True)
        self.put_nowait(item)

    async def get(self) -> T:
        while self._items is None:
            await self._wait(putting=False)
        return self.get_nowait()

    async def _wait(self, *, putting: bool) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = (self._putters if putting else self._getters) or []
        waiters.append(waiter)
        if putting:
            self._putters = waiters
        else:
            self._getters = waiters
        try:
            await waiter
        except BaseException:
            waiter.cancel()
            # The list is the queue's own until it empties: a waiter not yet woken is in it.
            current = self._putters if putting else self._getters
            if current is not None and waiter in current:
                current.remove(waiter)
            # Woken, then cancelled before it ran: the wake-up goes to the next in line.
            if not waiter.cancelled() and not (self.full() if putting else self.empty()):
                current = _wake_next(current)
            if putting:
                self._putters = current or None
            else:
                self._getters = current or None
            raise


def _wake_next(waiters: list[asyncio.Future[None]] | None) -> list[asyncio.Future[None]] | None:
    """Wakes the first waiter still waiting; returns the list, or None once it is empty."""
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            break
    return waiters or None
