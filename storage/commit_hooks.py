"""Callbacks for "once this is committed", kept by both engines for the task owning the
transaction (:meth:`storage.engine.SqlEngine.on_commit`).

A callback belongs to the writes made before it was registered: it is dropped with them when the
savepoint or the unit holding them rolls back, and runs only once the commit holding them is
durable. (``after_commit`` instead runs whatever happened: a wake-up hint.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["CommitHooks", "call_soon_all", "run_callback"]


class CommitHooks:
    """The current unit's callbacks, each with the savepoint depth it was registered at."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[tuple[int, Callable[[], None]]] = []
        """Empty in most transactions: the engines test it before calling anything here."""

    def add(self, depth: int, callback: Callable[[], None]) -> None:
        self.entries.append((depth, callback))

    def savepoint_ended(self, depth: int, *, failed: bool) -> None:
        """The savepoint entered from ``depth`` ended: rolled back (its callbacks go), or
        released (its callbacks now belong to ``depth``)."""
        if failed:
            self.entries = [(d, cb) for d, cb in self.entries if d <= depth]
        else:
            self.entries = [(min(d, depth), cb) for d, cb in self.entries]

    def take(self) -> list[Callable[[], None]]:
        """The unit's callbacks, for its commit (or to drop); none are kept."""
        entries, self.entries = self.entries, []
        return [callback for _depth, callback in entries]


def call_soon_all(callbacks: list[Callable[[], None]]) -> None:
    loop = asyncio.get_running_loop()
    for callback in callbacks:
        loop.call_soon(callback)


def run_callback(callback: Callable[[], None]) -> None:
    """Runs ``callback`` as the loop runs its own: what it raises goes to the loop's exception
    handler, never to the code that committed."""
    try:
        callback()
    except Exception as exc:
        asyncio.get_running_loop().call_exception_handler(
            {"message": "an on_commit callback failed", "exception": exc}
        )
