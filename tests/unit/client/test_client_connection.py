"""The connection shell over an in-memory socket: reader, iq answers, handlers, keepalive,
and how it ends."""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog
from client_fakes import FakeSocket, answer_pings, result_for

from daemon.binary import Node
from daemon.client.connection import Connection, HandlerFailed
from daemon.client.disconnect import DisconnectAction
from daemon.client.keepalive import Keepalive
from daemon.client.router import Router
from daemon.client.stream_errors import parse_stream_error


def make(socket: FakeSocket, router: Router | None = None, **keepalive: float) -> Connection:
    settings = {"interval_min": 30.0, "interval_max": 30.0, "answer_timeout": 5.0, **keepalive}
    return Connection(
        socket,
        router or Router(),
        clock=time.time,
        keepalive=Keepalive(**settings),  # type: ignore[arg-type]
        iq_timeout=2.0,
        log=structlog.get_logger("test"),
    )


async def test_stream_error_ends_the_connection_and_closes_the_socket() -> None:
    socket = FakeSocket()
    router = Router()
    connection = make(socket, router)

    async def on_error(node: Node) -> None:
        connection.end(parse_stream_error(node))

    router.by_tag["stream:error"] = on_error
    socket.push(Node("stream:error", {"code": "515"}))
    decision = await asyncio.wait_for(connection.run(), 2)
    assert decision.action is DisconnectAction.RECONNECT_NOW
    assert socket.closed and connection.ended


async def test_a_socket_that_closes_is_a_lost_connection() -> None:
    socket = FakeSocket()
    connection = make(socket)
    socket.hang_up()
    decision = await asyncio.wait_for(connection.run(), 2)
    assert decision.action is DisconnectAction.BACK_OFF
    assert "socket closed" in decision.reason


async def test_queries_are_answered_while_handlers_keep_running() -> None:
    socket = FakeSocket(lambda n: result_for(n, [Node("count", {"value": "7"})]))
    connection = make(socket)
    answers: list[Node] = []

    async def task() -> None:
        answers.append(await connection.query(Node("iq", {"xmlns": "encrypt", "type": "get"})))
        socket.hang_up()

    await asyncio.wait_for(connection.run(task), 2)
    assert answers[0].child("count") is not None
    assert socket.sent[0].attr_str("id") == answers[0].attr_str("id")


async def test_missed_keepalive_answer_ends_the_connection() -> None:
    socket = FakeSocket()  # never answers
    connection = make(socket, interval_min=0.02, interval_max=0.02, answer_timeout=0.05)
    decision = await asyncio.wait_for(connection.run(), 2)
    assert decision.action is DisconnectAction.BACK_OFF
    assert "keepalive" in decision.reason
    assert [n.attr_str("xmlns") for n in socket.sent] == ["w:p"]


async def test_answered_keepalives_record_liveness() -> None:
    socket = FakeSocket(answer_pings)
    connection = make(socket, interval_min=0.01, interval_max=0.01, answer_timeout=0.5)

    async def stop_later() -> None:
        await asyncio.sleep(0.1)
        socket.hang_up()

    await asyncio.wait_for(connection.run(stop_later), 2)
    pings = [n for n in socket.sent if n.attr_str("xmlns") == "w:p"]
    assert len(pings) >= 3
    live = connection.keepalive.liveness()
    assert live.last_pong is not None and live.last_frame_in is not None
    assert live.last_ping_rtt is not None and live.last_ping_rtt < 0.5


async def test_a_failing_handler_fails_the_run_and_stops_every_task() -> None:
    socket = FakeSocket()
    router = Router()
    connection = make(socket, router)
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def broken(node: Node) -> None:
        connection.spawn(forever())
        await asyncio.sleep(0)
        raise KeyError("bug")

    router.by_tag["success"] = broken
    socket.push(Node("success"))
    with pytest.raises(HandlerFailed) as failed:
        await asyncio.wait_for(connection.run(), 2)
    assert isinstance(failed.value.cause, KeyError)
    assert cancelled == [True] and socket.closed


async def test_pending_queries_fail_when_the_connection_ends() -> None:
    socket = FakeSocket()
    connection = make(socket)
    errors: list[BaseException] = []

    async def ask() -> None:
        try:
            await connection.query(Node("iq", {"xmlns": "md", "type": "set"}), timeout=5)
        except BaseException as exc:
            errors.append(exc)
            raise

    async def close_soon() -> None:
        await asyncio.sleep(0.05)
        socket.hang_up()

    await asyncio.wait_for(connection.run(ask, close_soon), 2)
    assert len(errors) == 1  # cancelled with its task, not left waiting


async def test_answers_reach_their_waiters_while_a_handler_is_busy() -> None:
    # A backlog of stanzas read ahead of the answer a handler waits for (the offline queue
    # after a login): the answer is not stuck behind them.
    socket = FakeSocket()
    router = Router()
    connection = make(socket, router)
    handled: list[str] = []

    async def on_message(node: Node) -> None:
        if not handled:
            answer = await connection.query(Node("iq", {"xmlns": "encrypt", "type": "get"}))
            assert answer.attr_str("type") == "result"
        handled.append(node.attr_str("id") or "")
        if len(handled) == 50:
            socket.hang_up()

    router.by_tag["message"] = on_message

    async def serve() -> None:
        for n in range(50):
            socket.push(Node("message", {"id": f"m{n}"}))
        while not socket.sent:
            await asyncio.sleep(0.001)
        socket.push(result_for(socket.sent[0]))

    decision = await asyncio.wait_for(connection.run(serve), 2)
    assert handled == [f"m{n}" for n in range(50)]
    assert "socket closed" in decision.reason


async def test_a_stream_error_read_before_the_close_still_decides() -> None:
    socket = FakeSocket()
    router = Router()
    connection = make(socket, router)

    async def on_message(node: Node) -> None:
        await asyncio.sleep(0.05)  # still handling when the close is read

    async def on_error(node: Node) -> None:
        connection.end(parse_stream_error(node))

    router.by_tag["message"] = on_message
    router.by_tag["stream:error"] = on_error
    socket.push(Node("message", {"id": "m1"}))
    socket.push(Node("stream:error", {"code": "515"}))
    socket.hang_up()
    decision = await asyncio.wait_for(connection.run(), 2)
    assert decision.action is DisconnectAction.RECONNECT_NOW


async def test_work_spawned_after_the_end_is_closed_not_left_pending() -> None:
    socket = FakeSocket()
    connection = make(socket)
    socket.hang_up()
    await asyncio.wait_for(connection.run(), 2)
    ran = False

    async def late_work() -> None:
        nonlocal ran
        ran = True

    work = late_work()
    connection.spawn(work)
    # Closed at once (never run, and no "coroutine was never awaited" when collected).
    assert work.cr_frame is None
    assert not ran


async def test_work_spawned_after_a_cancelled_run_is_closed_not_left_pending() -> None:
    # A session stopping cancels run(): no verdict is ever set, yet the connection is over and
    # a late handler's work (an app state sync, say) must not wait in a backlog forever.
    socket = FakeSocket()
    connection = make(socket)
    running = asyncio.create_task(connection.run())
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert connection.ended

    async def late_work() -> None:
        raise AssertionError("work of an ended connection ran")

    work = late_work()
    connection.spawn(work)
    assert work.cr_frame is None


async def test_work_spawned_as_the_run_is_cancelled_is_closed_not_left_pending() -> None:
    # The run's task cancelled in the same loop iteration as a spawn: the new task is
    # cancelled before its first step, so the work inside it never starts; it must be closed
    # (no "coroutine was never awaited" when it is collected).
    socket = FakeSocket()
    connection = make(socket)
    running = asyncio.create_task(connection.run())
    await asyncio.sleep(0.05)

    async def late_work() -> None:
        raise AssertionError("work of a cancelled connection ran")

    work = late_work()
    running.cancel()
    connection.spawn(work)
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.sleep(0)
    assert work.cr_frame is None
