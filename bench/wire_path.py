"""CPU of the client's socket path per send: Connection, transport, Noise and the node codec.

Run: .venv/bin/python bench/wire_path.py [--sends 5000] [--inflight 8] [--profile out.pstats]

A stand-in server runs in its own process (websockets + the Noise responder + the codec, the
pieces the sandbox is built from). The client is the daemon's own ``Connection`` over
``daemon.wire.transport``. Each send follows the frame pattern of a real one-to-one send: the
client writes a ``message`` stanza; the server answers with its ``ack`` and two ``receipt``
stanzas (the phone's delivery receipt and our own phone's); the client's router acks both. No
Signal, no storage, no HTTP: the figure is the CPU the socket path alone costs the client's main
thread, per send (3 frames in, 3 out), read from ``time.thread_time``. Nothing is written to
bench/results/: this is the tool for tuning that path (the daemon-wide figure is
bench/send_profile.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from multiprocessing.connection import Connection as Pipe  # noqa: E402

import structlog  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402

from daemon.binary import JID, Node, marshal, unmarshal  # noqa: E402
from daemon.client.acks import build_ack  # noqa: E402
from daemon.client.connection import Connection  # noqa: E402
from daemon.client.keepalive import Keepalive  # noqa: E402
from daemon.client.router import Router  # noqa: E402
from daemon.crypto import curve  # noqa: E402
from daemon.wire import certs  # noqa: E402
from daemon.wire.frames import FrameReader, FrameWriter  # noqa: E402
from daemon.wire.noise import ClientFinished, HandshakeState, NoiseResponder  # noqa: E402
from daemon.wire.transport import TransportConfig, connect  # noqa: E402
from waproto import wa_handshake_pb2  # noqa: E402

NOW = 1_750_000_000.0
PEER = JID.parse("15550002222@s.whatsapp.net")
PHONE = JID.parse("15550002222:1@s.whatsapp.net")
OWN_PHONE = JID.parse("15550001111@s.whatsapp.net")


def serve_forever(root_private: bytes, pipe: Pipe) -> None:
    asyncio.run(_serve(root_private, pipe))


async def _serve(root_private: bytes, pipe: Pipe) -> None:
    static = curve.KeyPair.generate()
    chain = certs.build_cert_chain(
        root_private=root_private,
        intermediate=curve.KeyPair.generate(),
        leaf_key=static.public,
        not_before=int(NOW) - 60,
        not_after=int(NOW) + 60,
    )

    async def handler(websocket: ServerConnection) -> None:
        reader = FrameReader(expect_intro=True)
        writer = FrameWriter()
        responder = NoiseResponder(static, chain)
        finished: ClientFinished | None = None
        async for message in websocket:
            assert isinstance(message, bytes)
            for body in reader.feed(message):
                if finished is None:
                    if responder.state is HandshakeState.READ_CLIENT_HELLO:
                        await websocket.send(writer.encode(responder.read_client_hello(body)))
                    else:
                        finished = responder.read_client_finish(body)
                    continue
                node = unmarshal(finished.transport.decrypt(body))
                if node.tag != "message":
                    continue
                message_id = node.attr_str("id") or ""
                for answer in (
                    Node("ack", {"class": "message", "id": message_id, "from": PEER, "t": "1"}),
                    Node(
                        "receipt",
                        {"from": PHONE, "id": message_id, "t": "1750000000"},
                    ),
                    Node(
                        "receipt",
                        {"from": OWN_PHONE, "id": message_id, "type": "sender", "t": "1"},
                    ),
                ):
                    frame = finished.transport.encrypt(marshal(answer))
                    await websocket.send(writer.encode(frame))

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        pipe.send(server.sockets[0].getsockname()[1])
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


def message_node(index: int) -> Node:
    enc = Node("enc", {"v": "2", "type": "msg"}, os.urandom(180))
    return Node(
        "message",
        {"id": f"3EB0{index:016X}", "to": PEER, "type": "text", "t": "1750000000"},
        [Node("participants", {}, [Node("to", {"jid": PHONE}, [enc])]), enc],
    )


async def run_client(port: int, root_public: bytes, sends: int, inflight: int) -> float:
    config = TransportConfig(url=f"ws://127.0.0.1:{port}/ws/chat", root_key=root_public)
    payload = wa_handshake_pb2.ClientPayload(passive=True, username=1).SerializeToString()
    socket = await connect(
        config, static=curve.KeyPair.generate(), client_payload=lambda: payload, now=lambda: NOW
    )
    router = Router()
    connection = Connection(
        socket,
        router,
        clock=time.time,
        keepalive=Keepalive(interval_min=300.0, interval_max=300.0),
        iq_timeout=20.0,
        log=structlog.get_logger("bench"),
    )
    acks: dict[str, asyncio.Future[None]] = {}
    receipts = asyncio.Semaphore(0)

    async def on_ack(node: Node) -> None:
        waiter = acks.pop(node.attr_str("id") or "", None)
        if waiter is not None:
            waiter.set_result(None)

    async def on_receipt(node: Node) -> None:
        await connection.send(build_ack(node))
        receipts.release()

    router.by_tag["ack"] = on_ack
    router.by_tag["receipt"] = on_receipt
    elapsed: list[float] = []

    async def send_one(index: int) -> None:
        waiter = asyncio.get_running_loop().create_future()
        acks[f"3EB0{index:016X}"] = waiter
        await connection.send(message_node(index))
        async with asyncio.timeout(30):
            await waiter

    async def drive(first: int, count: int) -> None:
        queue = iter(range(first, first + count))

        async def worker() -> None:
            for index in queue:
                await send_one(index)

        async with asyncio.TaskGroup() as group:
            for _ in range(inflight):
                group.create_task(worker())
        async with asyncio.timeout(30):
            for _ in range(2 * count):
                await receipts.acquire()

    async def measure() -> None:
        await drive(0, 200)  # warm up: memo tables, allocator, the server's JIT-less caches
        started = time.thread_time()
        await drive(1000, sends)
        elapsed.append(time.thread_time() - started)
        await socket.close()

    await connection.run(measure)
    return elapsed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--profile", help="write a cProfile of the client's main thread here")
    args = parser.parse_args()
    root = curve.KeyPair.generate()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_forever, args=(root.private, theirs), daemon=True
    )
    server.start()
    try:
        port = ours.recv()
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        seconds = asyncio.run(run_client(port, root.public, args.sends, args.inflight))
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
    finally:
        ours.send("stop")
        server.join(10)
    load = os.getloadavg()[0]
    print(
        f"{args.sends} sends, {args.inflight} in flight: client main thread "
        f"{seconds * 1e6 / args.sends:.1f} µs CPU per send (3 frames in, 3 out), load {load:.2f}"
    )


if __name__ == "__main__":
    main()
