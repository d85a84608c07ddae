"""The websocket transport end to end against a loopback websockets server playing the server.

The server side is built from the same pure cores the sandbox wraps: FrameReader with the intro,
NoiseResponder with a test certificate chain, and the responder's NoiseTransport.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from daemon.binary import Node, marshal, unmarshal
from daemon.crypto import curve
from daemon.wire import certs
from daemon.wire.errors import (
    CertificateError,
    CertificateFailure,
    ConnectFailed,
    DecryptError,
    TransportClosed,
    TransportTimeout,
)
from daemon.wire.frames import ConnectionIntro, FrameReader, FrameWriter, encode_frame
from daemon.wire.noise import ClientFinished, HandshakeState, NoiseResponder
from daemon.wire.transport import NoiseWebSocket, TransportConfig, connect
from waproto import wa_handshake_pb2

NOW = 1_750_000_000.0
ROOT = curve.KeyPair.generate()
PAYLOAD = wa_handshake_pb2.ClientPayload(
    passive=True, pull=True, username=15550001111
).SerializeToString()
PING = Node("iq", {"id": "1.2-3", "type": "get", "xmlns": "w:p"}, [Node("ping")])


@dataclass
class ServerSide:
    """One accepted connection, as the test server saw it."""

    websocket: ServerConnection
    reader: FrameReader = field(default_factory=lambda: FrameReader(expect_intro=True))
    writer: FrameWriter = field(default_factory=FrameWriter)
    finished: ClientFinished | None = None

    async def send_node(self, node: Node) -> None:
        assert self.finished is not None
        await self.websocket.send(
            self.writer.encode(self.finished.transport.encrypt(marshal(node)))
        )

    async def receive_node(self) -> Node:
        assert self.finished is not None
        while True:
            bodies = self.reader.feed(await self.recv_message())
            if bodies:
                assert len(bodies) == 1
                return unmarshal(self.finished.transport.decrypt(bodies[0]))

    async def recv_message(self) -> bytes:
        message = await asyncio.wait_for(self.websocket.recv(), 5)
        assert isinstance(message, bytes)
        return message


Script = Callable[[ServerSide], Awaitable[None]]


@dataclass
class LoopbackServer:
    url: str
    server_static: curve.KeyPair
    sides: list[ServerSide]
    handshake_failures: list[Exception]
    origins: list[str | None]


def _chain(server_static: bytes, root: curve.KeyPair = ROOT) -> bytes:
    return certs.build_cert_chain(
        root_private=root.private,
        intermediate=curve.KeyPair.generate(),
        leaf_key=server_static,
        not_before=int(NOW) - 60,
        not_after=int(NOW) + 60,
    )


@contextlib.asynccontextmanager
async def loopback(
    script: Script,
    *,
    chain_root: curve.KeyPair = ROOT,
    answer_hello: bool = True,
    reject_upgrade: int | None = None,
    max_queue: int = 16,
) -> AsyncIterator[LoopbackServer]:
    server_static = curve.KeyPair.generate()
    chain = _chain(server_static.public, chain_root)
    sides: list[ServerSide] = []
    failures: list[Exception] = []
    origins: list[str | None] = []

    async def handler(websocket: ServerConnection) -> None:
        origins.append(websocket.request.headers.get("Origin") if websocket.request else None)
        side = ServerSide(websocket)
        sides.append(side)
        responder = NoiseResponder(server_static, chain)
        try:
            while side.finished is None:
                for body in side.reader.feed(await side.recv_message()):
                    if responder.state is HandshakeState.READ_CLIENT_HELLO:
                        server_hello = responder.read_client_hello(body)
                        if answer_hello:
                            await websocket.send(side.writer.encode(server_hello))
                    else:
                        side.finished = responder.read_client_finish(body)
        except Exception as exc:
            failures.append(exc)
            return
        await script(side)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if reject_upgrade is None:
            return None
        return connection.respond(reject_upgrade, "go away\n")

    server: Server
    async with serve(
        handler,
        "127.0.0.1",
        0,
        compression=None,
        process_request=process_request,
        max_size=None,
        max_queue=max_queue,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield LoopbackServer(
            f"ws://127.0.0.1:{port}/ws/chat", server_static, sides, failures, origins
        )


def _config(url: str, **overrides: object) -> TransportConfig:
    settings: dict[str, object] = {"url": url, "root_key": ROOT.public, "handshake_timeout": 5.0}
    settings.update(overrides)
    return TransportConfig(**settings)  # type: ignore[arg-type]


async def _connect(
    url: str, client_static: curve.KeyPair | None = None, **overrides: object
) -> NoiseWebSocket:
    return await connect(
        _config(url, **overrides),
        static=client_static or curve.KeyPair.generate(),
        client_payload=lambda: PAYLOAD,
        now=lambda: NOW,
    )


async def test_handshake_and_nodes_both_ways() -> None:
    async def script(side: ServerSide) -> None:
        received = await side.receive_node()
        await side.send_node(Node("iq", {"id": received.attrs["id"], "type": "result"}))
        # Two frames in one websocket message, then one frame split over two messages.
        assert side.finished is not None
        transport = side.finished.transport
        both = b"".join(
            side.writer.encode(transport.encrypt(marshal(Node("n", {"i": str(i)})))) for i in (1, 2)
        )
        await side.websocket.send(both)
        third = side.writer.encode(
            transport.encrypt(marshal(Node("n", {"i": "3"}, b"\x01" * 5000)))
        )
        await side.websocket.send(third[:2])
        await side.websocket.send(third[2:])
        await side.websocket.wait_closed()

    client_static = curve.KeyPair.generate()
    async with loopback(script) as server:
        connection = await _connect(server.url, client_static)
        assert connection.server.server_static == server.server_static.public
        await connection.send_node(PING)
        assert await connection.receive_node() == Node("iq", {"id": "1.2-3", "type": "result"})
        assert [(await connection.receive_node()).attrs["i"] for _ in range(3)] == ["1", "2", "3"]
        await connection.close()
        assert connection.closed

    side = server.sides[0]
    assert side.finished is not None
    assert side.finished.client_static == client_static.public
    assert side.finished.client_payload == PAYLOAD
    assert side.reader.intro == ConnectionIntro()
    assert server.origins == ["https://web.whatsapp.com"]


async def test_server_receives_nodes_in_counter_order_from_concurrent_senders() -> None:
    got: list[str] = []

    async def script(side: ServerSide) -> None:
        for _ in range(20):
            got.append(str((await side.receive_node()).attrs["id"]))

    async with loopback(script) as server:
        connection = await _connect(server.url)
        await asyncio.gather(*(connection.send_node(Node("iq", {"id": str(i)})) for i in range(20)))
        with pytest.raises(TransportClosed):
            await connection.receive_node(timeout=5)
    # Every frame decrypted on the server, so frames reached the wire in counter order.
    assert sorted(got, key=int) == [str(i) for i in range(20)]


async def test_untrusted_chain_refuses_the_connection() -> None:
    async def script(side: ServerSide) -> None:
        raise AssertionError("the client must not finish the handshake")

    async with loopback(script, chain_root=curve.KeyPair.generate()) as server:
        with pytest.raises(CertificateError) as caught:
            await _connect(server.url)
        assert caught.value.reason is CertificateFailure.INTERMEDIATE_SIGNATURE
    assert len(server.handshake_failures) == 1
    assert server.sides[0].finished is None


async def test_expired_chain_refuses_the_connection() -> None:
    async def script(side: ServerSide) -> None:
        raise AssertionError("the client must not finish the handshake")

    async with loopback(script) as server:
        with pytest.raises(CertificateError) as caught:
            await connect(
                _config(server.url),
                static=curve.KeyPair.generate(),
                client_payload=lambda: PAYLOAD,
                now=lambda: NOW + 3600,
            )
        assert caught.value.reason is CertificateFailure.EXPIRED


async def test_silent_server_times_out_the_handshake() -> None:
    async def script(side: ServerSide) -> None:
        raise AssertionError("unreachable")

    async with loopback(script, answer_hello=False) as server:
        with pytest.raises(TransportTimeout, match="handshake timed out"):
            await _connect(server.url, handshake_timeout=0.2)


async def test_receive_timeout_then_connection_still_works() -> None:
    release = asyncio.Event()

    async def script(side: ServerSide) -> None:
        await release.wait()
        await side.send_node(PING)
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        with pytest.raises(TransportTimeout, match="receive timed out"):
            await connection.receive_node(timeout=0.05)
        release.set()
        assert await connection.receive_node(timeout=5) == PING
        await connection.close()


async def test_tampered_frame_closes_the_connection() -> None:
    async def script(side: ServerSide) -> None:
        await side.websocket.send(encode_frame(b"\x00" * 40))
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        with pytest.raises(DecryptError):
            await connection.receive_node(timeout=5)
        assert connection.closed


async def test_server_close_surfaces_as_transport_closed() -> None:
    async def script(side: ServerSide) -> None:
        await side.websocket.close()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        with pytest.raises(TransportClosed):
            await connection.receive_node(timeout=5)
        with pytest.raises(TransportClosed):
            await connection.send_node(PING)


async def test_routing_info_reaches_the_server_outside_the_prologue() -> None:
    async def script(side: ServerSide) -> None:
        await side.send_node(await side.receive_node())
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(
            server.url, intro=ConnectionIntro(routing_info=b"\x08\x02\x08\x05")
        )
        await connection.send_node(PING)
        assert await connection.receive_node(timeout=5) == PING
        await connection.close()
    assert server.sides[0].reader.intro == ConnectionIntro(routing_info=b"\x08\x02\x08\x05")


async def test_refused_upgrade_is_connect_failed_with_status() -> None:
    async def script(side: ServerSide) -> None:
        raise AssertionError("unreachable")

    async with loopback(script, reject_upgrade=403) as server:
        with pytest.raises(ConnectFailed) as caught:
            await _connect(server.url)
    assert caught.value.status_code == 403


async def test_nothing_listening_is_connect_failed() -> None:
    async with loopback(lambda side: asyncio.sleep(0)) as server:
        url = server.url
    with pytest.raises(ConnectFailed, match="cannot open"):
        await _connect(url, connect_timeout=2.0)


async def test_send_timeout_closes_the_connection() -> None:
    stop = asyncio.Event()

    async def script(side: ServerSide) -> None:
        await stop.wait()  # never reads: the client's socket buffers fill up
        # Reading is paused (max_queue=1), so this side would not notice the client's abort.
        side.websocket.transport.abort()

    async with loopback(script, max_queue=1) as server:
        connection = await _connect(server.url, send_timeout=0.3)
        frame = b"\x00" + bytes(4 << 20)
        with pytest.raises(TransportTimeout, match="send timed out"):
            for _ in range(64):
                await connection.send_frame(frame)
        assert connection.closed
        stop.set()


async def test_sends_are_written_at_once_without_a_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    got: list[str] = []

    async def script(side: ServerSide) -> None:
        for _ in range(10):
            got.append(str((await side.receive_node()).attrs["id"]))
        await side.send_node(PING)
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        loop = asyncio.get_running_loop()
        timers: list[float] = []
        call_at = loop.call_at

        def counting_call_at(when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            timers.append(when)
            return call_at(when, *args, **kwargs)

        monkeypatch.setattr(loop, "call_at", counting_call_at)
        for i in range(10):
            await connection.send_node(Node("iq", {"id": str(i)}))
        assert timers == []
        assert connection.counters.frames_at_once == 10
        assert connection.counters.waiting_writes == 0
        assert await connection.receive_node(timeout=5) == PING
        monkeypatch.undo()
        await connection.close()
    assert got == [str(i) for i in range(10)]


async def test_a_peer_that_stops_reading_still_times_out_small_frames() -> None:
    stop = asyncio.Event()

    async def script(side: ServerSide) -> None:
        await stop.wait()  # never reads
        side.websocket.transport.abort()

    async with loopback(script, max_queue=1) as server:
        connection = await _connect(server.url, send_timeout=0.3)
        frame = b"\x00" + bytes(4 << 10)
        try:
            with pytest.raises(TransportTimeout, match="send timed out"):
                # Bounded: the kernel's buffers on loopback hold a few MiB.
                for _ in range(4096):
                    await connection.send_frame(frame)
            assert connection.closed
        finally:
            stop.set()
    # Frames that fit under the buffer's mark went at once; those past it waited, and the
    # wait ran out.
    assert connection.counters.frames_at_once > 0
    assert connection.counters.waiting_writes >= 1


async def test_waiting_receives_share_one_timer() -> None:
    async def script(side: ServerSide) -> None:
        for i in range(20):
            await asyncio.sleep(0.005)
            await side.send_node(Node("n", {"i": str(i)}))
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        received = [(await connection.receive_node(timeout=30)).attrs["i"] for _ in range(20)]
        assert received == [str(i) for i in range(20)]
        # Each of the 20 receives waited; one timer bounded them all.
        assert connection.counters.receive_timers == 1
        await connection.close()


async def test_a_shorter_receive_timeout_moves_the_timer_earlier() -> None:
    async def script(side: ServerSide) -> None:
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connection.receive_node(timeout=60), 0.05)
        with pytest.raises(TransportTimeout, match=r"receive timed out after 0\.05 s"):
            await asyncio.wait_for(connection.receive_node(timeout=0.05), 5)
        await connection.close()


async def test_cancelling_a_receive_is_not_a_timeout() -> None:
    async def script(side: ServerSide) -> None:
        await asyncio.sleep(0.2)
        await side.send_node(PING)
        await side.websocket.wait_closed()

    async with loopback(script) as server:
        connection = await _connect(server.url)
        waiting = asyncio.create_task(connection.receive_node(timeout=0.01))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await connection.receive_node(timeout=5) == PING
        await connection.close()
