"""The one thread that runs what may block on a SQLite connection (see :mod:`storage.db`).

A hop is a call handed to the thread and a future of the loop resolved by it, nothing more:
one ``call_soon_threadsafe`` back to the loop, no executor bookkeeping, no second future
chained to the first, no ``asyncio.wait`` (each of those cost the loop a callback or a whole
iteration per commit). A hop that has started runs to its end even if the awaiting task is
cancelled meanwhile; the cancellation is re-raised once it has finished, so the caller always
knows the connection's state when it resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from storage.completion import run_to_completion

__all__ = ["Worker"]

T = TypeVar("T")


class _Hop(Generic[T]):
    """One call on the worker: its outcome, and the loop futures waiting for it."""

    __slots__ = ("call", "done", "error", "loop", "result")

    def __init__(self, loop: asyncio.AbstractEventLoop, call: Callable[[], T]) -> None:
        self.loop = loop
        self.call = call
        self.done: asyncio.Future[None] = loop.create_future()
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        """On the worker thread."""
        try:
            self.result = self.call()
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            self.error = exc
        with contextlib.suppress(RuntimeError):  # a closed loop: no one is left waiting
            self.loop.call_soon_threadsafe(self._finish)

    def _finish(self) -> None:
        """On the loop's thread."""
        if not self.done.done():
            self.done.set_result(None)

    async def outcome(self) -> T:
        await run_to_completion(self.done)
        if self.error is not None:
            error, self.error = self.error, None  # no reference cycle through the traceback
            raise error
        return self.result  # type: ignore[return-value]  # set by run() when error is None


class Worker:
    """A daemon thread running calls one at a time, in the order they were handed over."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[_Hop[object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def ident(self) -> int | None:
        """The thread's id (for per-thread CPU clocks in benchmarks)."""
        return self._thread.ident

    def _serve(self) -> None:
        while (hop := self._calls.get()) is not None:
            hop.run()

    async def run(self, call: Callable[[], T]) -> T:
        """Runs ``call`` on the thread and returns its result (or raises its exception),
        awaiting it to the end even if the caller is cancelled meanwhile."""
        hop = _Hop(asyncio.get_running_loop(), call)
        self._calls.put(hop)  # type: ignore[arg-type]  # the queue holds hops of any result
        return await hop.outcome()

    def stop(self) -> None:
        """The thread ends after the calls already handed over (it never blocks exit)."""
        self._calls.put(None)
