"""daemon.client.awaited_answers: one registry for every request that waits for its answer."""

from __future__ import annotations

import asyncio

import pytest

from daemon.client.awaited_answers import AwaitedAnswers


async def test_an_answer_reaches_the_waiter_of_its_id_once() -> None:
    answers = AwaitedAnswers[str]()
    first, second = answers.expect("a"), answers.expect("b")
    assert answers.waiting == 2
    assert answers.resolve("b", "B") and not answers.resolve("b", "again")
    assert not answers.resolve("nobody", "x")
    assert await second == "B" and not first.done()
    assert answers.waiting == 1


async def test_expecting_an_id_again_shares_the_pending_future() -> None:
    # A send that goes out again under the same id (a retry) must not orphan the first waiter.
    answers = AwaitedAnswers[int]()
    waiter = answers.expect("m")
    assert answers.expect("m") is waiter
    answers.resolve("m", 1)
    assert answers.expect("m") is not waiter  # answered: a new wait starts afresh


async def test_a_forgotten_request_is_not_answered() -> None:
    answers = AwaitedAnswers[int]()
    waiter = answers.expect("m")
    answers.forget("m")
    assert answers.waiting == 0 and not answers.resolve("m", 1)
    assert not waiter.done()


async def test_the_end_of_the_connection_fails_every_waiter() -> None:
    answers = AwaitedAnswers[int]()
    waiters = [answers.expect(key) for key in ("a", "b")]
    cancelled = answers.expect("c")
    cancelled.cancel()
    answers.fail_all(lambda: ConnectionResetError("gone"))
    assert answers.waiting == 0
    raised = []
    for waiter in waiters:
        with pytest.raises(ConnectionResetError) as caught:
            await waiter
        raised.append(caught.value)
    assert raised[0] is not raised[1]  # one each: tracebacks of different tasks stay apart
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_awaited_returns_once_some_answer_is_expected_or_after_its_bound() -> None:
    answers = AwaitedAnswers[int]()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await answers.awaited(0.05)  # nothing expected: the bound
    assert loop.time() - started >= 0.05
    assert answers._watchers == []  # a wait that timed out leaves nothing behind
    watcher = asyncio.create_task(answers.awaited(60.0))
    await asyncio.sleep(0.01)
    assert not watcher.done()
    answers.expect("m")
    async with asyncio.timeout(5):
        await watcher
    await answers.awaited(60.0)  # one is expected: at once
