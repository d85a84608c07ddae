"""Awaiting work that must not be abandoned half-way: a statement sent to PostgreSQL, a call on
the SQLite worker thread, a unit's wait on its group's commit. The caller may be cancelled; the
work is still awaited to its end, so the caller knows the connection's state when it resumes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["run_to_completion"]

T = TypeVar("T")


async def run_to_completion(task: Awaitable[T]) -> T:
    """Await ``task`` to the end even if the caller is cancelled meanwhile, then re-raise the
    cancellation. Used for every statement sent to PostgreSQL and for a unit's wait on its
    group's commit. The caller waits on a future of its own that the task's end resolves (one
    callback, no ``asyncio.wait``): cancelling the caller cancels that future, never the task."""
    task = asyncio.ensure_future(task)
    if not task.done():
        loop = asyncio.get_running_loop()
        cancelled = False
        while not task.done():
            waiter: asyncio.Future[None] = loop.create_future()
            task.add_done_callback(functools.partial(_wake, waiter))
            try:
                await waiter
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            if not task.cancelled():
                task.exception()  # retrieved: the caller is cancelled and will not look at it
            raise asyncio.CancelledError
    return task.result()


def _wake(waiter: asyncio.Future[None], _: object) -> None:
    if not waiter.done():
        waiter.set_result(None)
