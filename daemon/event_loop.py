"""The event loop ``wamd run`` runs on: uvloop by default, the standard library's on request.

A send crosses the loop a dozen times (the HTTP request, the database thread's hand-backs, the
socket to the server and back, the event stream), so the loop's own cost per callback and per
socket operation is a large share of the daemon's CPU; uvloop does those in C over libuv.
``runtime.event_loop = "asyncio"`` is the way back should a deployment ever need it.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoopKind(enum.StrEnum):
    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


class EventLoopUnavailable(RuntimeError):
    """The configured loop cannot be had on this installation."""


def loop_factory(kind: EventLoopKind) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind is EventLoopKind.ASYNCIO:
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        raise EventLoopUnavailable(
            'runtime.event_loop is "uvloop" but uvloop is not installed;'
            ' install it or set runtime.event_loop = "asyncio"'
        ) from None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: EventLoopKind) -> T:
    """``asyncio.run`` on the loop of ``kind``."""
    try:
        factory = loop_factory(kind)
    except EventLoopUnavailable:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def running_kind() -> EventLoopKind:
    """Which kind of loop the calling coroutine runs on (reported by ``daemon.ready``)."""
    module = type(asyncio.get_running_loop()).__module__
    return EventLoopKind.UVLOOP if module.startswith("uvloop") else EventLoopKind.ASYNCIO
