"""storage.sqlite_worker: a hop runs on the thread, returns or raises, and outlives a cancel;
storage.completion.run_to_completion, the same promise for a coroutine (a PostgreSQL statement)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from storage.completion import run_to_completion
from storage.sqlite_worker import Worker


async def test_a_call_runs_on_the_worker_thread_in_order() -> None:
    worker = Worker("test-worker")
    try:
        seen: list[tuple[int, str]] = []

        def call(n: int) -> int:
            seen.append((n, threading.current_thread().name))
            return n * 2

        results = await asyncio.gather(*(worker.run(lambda n=n: call(n)) for n in range(5)))
        assert results == [0, 2, 4, 6, 8]
        assert seen == [(n, "test-worker") for n in range(5)]
        assert worker.ident not in (None, threading.get_ident())
    finally:
        worker.stop()


async def test_the_calls_exception_is_raised_to_the_caller() -> None:
    worker = Worker("test-worker")
    try:

        def fails() -> None:
            raise ValueError("from the worker")

        with pytest.raises(ValueError, match="from the worker"):
            await worker.run(fails)
        assert await worker.run(lambda: "still serving") == "still serving"
    finally:
        worker.stop()


async def test_a_cancelled_caller_resumes_only_once_the_call_has_ended() -> None:
    worker = Worker("test-worker")
    release = threading.Event()
    ended = threading.Event()

    def slow() -> str:
        release.wait(10)
        ended.set()
        return "done"

    try:
        task = asyncio.create_task(worker.run(slow))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.sleep(0.01)
        task.cancel()  # a second cancel while it still waits changes nothing
        await asyncio.sleep(0.01)
        assert not task.done()  # the call is still running: the caller must not resume yet
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ended.is_set()
        assert await worker.run(lambda: "next") == "next"
    finally:
        release.set()
        worker.stop()


async def test_run_to_completion_outlives_its_callers_cancellation() -> None:
    release = asyncio.Event()
    ended: list[str] = []

    async def statement() -> str:
        await release.wait()
        ended.append("statement")
        return "result"

    release.set()
    assert await run_to_completion(statement()) == "result"
    release.clear()
    ended.clear()
    caller = asyncio.create_task(run_to_completion(statement()))
    await asyncio.sleep(0)
    for _ in range(2):
        caller.cancel()
        await asyncio.sleep(0)
        assert not caller.done()  # the statement still runs: the caller must not resume yet
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert ended == ["statement"]


async def test_run_to_completion_raises_the_statements_error() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("from the statement")

    with pytest.raises(ValueError, match="from the statement"):
        await run_to_completion(fails())
