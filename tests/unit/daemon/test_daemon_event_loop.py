"""``wamd run``'s loop: uvloop by default, the standard library's on request, and a clear
error (with the coroutine closed, never left un-awaited) where uvloop is missing."""

from __future__ import annotations

import asyncio
import sys
import warnings

import pytest
import uvloop

from daemon import event_loop
from daemon.event_loop import EventLoopKind, EventLoopUnavailable


async def loop_in_use() -> tuple[type[asyncio.AbstractEventLoop], EventLoopKind]:
    return type(asyncio.get_running_loop()), event_loop.running_kind()


def test_each_kind_runs_on_its_own_loop() -> None:
    loop_type, kind = event_loop.run(loop_in_use(), EventLoopKind.UVLOOP)
    assert issubclass(loop_type, uvloop.Loop) and kind is EventLoopKind.UVLOOP
    loop_type, kind = event_loop.run(loop_in_use(), EventLoopKind.ASYNCIO)
    assert not issubclass(loop_type, uvloop.Loop) and kind is EventLoopKind.ASYNCIO


def test_missing_uvloop_is_a_clear_error_and_the_coroutine_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    main = loop_in_use()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(EventLoopUnavailable, match=r'runtime\.event_loop = "asyncio"'):
            event_loop.run(main, EventLoopKind.UVLOOP)
    assert main.cr_frame is None
    assert event_loop.run(loop_in_use(), EventLoopKind.ASYNCIO)[1] is EventLoopKind.ASYNCIO
