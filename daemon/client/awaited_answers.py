"""Requests waiting for their answers, by id.

A request registers its id before it leaves, since the answer may arrive before the sender
resumes; the handler of that kind of answer resolves it; when the connection ends every waiter
fails, so that no request hangs on a dead socket. The server's acks of our messages, the
phone's answers to media re-upload requests, history chunks asked for on demand and iq answers
all wait this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class AwaitedAnswers(Generic[T]):
    """Futures for the answers still expected, by request id."""

    __slots__ = ("_waiting", "_watchers")

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[T]] = {}
        self._watchers: list[asyncio.Future[None]] = []

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def expect(self, key: str) -> asyncio.Future[T]:
        """The future of ``key``'s answer (register it before the request leaves); the one
        already waiting when ``key`` is asked for again."""
        future = self._waiting.get(key)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiting[key] = future
            if self._watchers:
                self._wake_watchers()
        return future

    async def awaited(self, timeout: float) -> None:
        """Returns once some answer is expected (at once when one is), or after ``timeout``."""
        if self._waiting:
            return
        watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watchers.append(watcher)
        try:
            async with asyncio.timeout(timeout):
                await watcher
        except TimeoutError:
            pass
        finally:
            # Timed out or cancelled: still listed (a wake-up takes the whole list).
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def forget(self, key: str) -> None:
        """Nobody waits for ``key`` any more (answered, timed out or cancelled)."""
        self._waiting.pop(key, None)

    def resolve(self, key: str, answer: T) -> bool:
        """Hands ``answer`` to its waiter; False when nobody waits for ``key``."""
        future = self._waiting.pop(key, None)
        if future is None or future.done():
            return False
        future.set_result(answer)
        return True

    def fail_all(self, error: Callable[[], BaseException]) -> None:
        """Every waiter fails with an exception made by ``error`` (the connection ended): one
        each, since an exception raised in several tasks collects all their tracebacks."""
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error())

    def _wake_watchers(self) -> None:
        watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            if not watcher.done():
                watcher.set_result(None)


__all__ = ["AwaitedAnswers"]
