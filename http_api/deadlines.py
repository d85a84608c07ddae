"""One timer bounds the time of every request (``http.request_timeout_s``).

An ``asyncio.timeout`` per request pushes a timer handle on the loop's heap and cancels it
again (nearly every request ends long before its bound): ~6 µs of the event loop's thread per
request, the thread that limits the send rate. Every request has the same bound, so the
request that started first is the one whose deadline comes first: a request is an entry in an
insertion-ordered dict, and a single timer, armed for the oldest entry, cancels the requests
past their deadline and re-arms itself for the next one. A request that ends removes its entry;
the timer then fires once early for a deadline nobody has any more and re-arms.

A request past its deadline is cancelled the way ``asyncio.timeout`` does it: its task is
cancelled, and the ``CancelledError`` coming out of it counts as the time bound only when no
one else cancelled the task too (``Task.uncancel``).
"""

from __future__ import annotations

import asyncio
from typing import Any


class RequestDeadlines:
    """The deadlines of the requests in progress, all ``limit_s`` after they started."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._running: dict[asyncio.Task[Any], float] = {}
        """Request tasks by deadline, oldest first (the same bound for all: insertion order)."""
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self.timers_armed = 0
        """How many times the timer was armed (what a request does without)."""

    def enter(self) -> asyncio.Task[Any]:
        """Bounds the current task from now; :meth:`leave` when its request is done."""
        task = asyncio.current_task()
        assert task is not None, "a request runs in a task"
        loop = task.get_loop()
        deadline = loop.time() + self.limit_s
        self._running[task] = deadline
        if self._timer is None:
            self._arm(loop, deadline)
        return task

    def leave(self, task: asyncio.Task[Any]) -> None:
        """The request is done (the deadline's cancellation, if any, is undone)."""
        del self._running[task]
        if task in self._expired:
            self._expired.discard(task)
            task.uncancel()

    def timed_out(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """True when ``task``'s CancelledError is its deadline's doing and no one else's
        (``cancelling``: the task's ``cancelling()`` when it entered); undoes that cancel."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() <= cancelling

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self.timers_armed += 1
        self._timer = loop.call_at(deadline, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        for task, deadline in self._running.items():
            if deadline > now:
                self._arm(loop, deadline)
                return
            if task not in self._expired:
                self._expired.add(task)
                task.cancel()


__all__ = ["RequestDeadlines"]
