"""Sandbox throughput: messages routed per second between two connected devices, and how many
logged-in connections the sandbox holds open.

Run: .venv/bin/python bench/sandbox.py [--quick]

- routing: device A sends N one-to-one messages (a window of 64 in flight) to device B over real
  websockets with Noise; B answers each with a delivery receipt, which the server forwards back
  to A. The figure is messages per second from the first send until A has seen every receipt:
  each message is acked, queued (SQLite) until B's receipt, fanned out and its receipt relayed.
- phone sends: the simulated phone of one account sends N texts one after another (each awaits
  the server's ack, as ``SimulatedPhone.send_text`` does) to the other account's connected
  companion, which acks each message and answers with a delivery receipt the phone processes.
  Per message the phone asks for the device list, Signal-encrypts for every device (its own
  companions and the peer's) and persists its Signal state. Reports messages per second and
  the process CPU milliseconds per message (phone + server + the companion's acks), with the
  load average around the run.
- connections: C devices log in (Noise handshake + login + offline marker each) and stay
  connected; then every one of them pings at once. Reports the time to open them, the ping
  round of all, and the process RSS growth per connection (client and server share the process).

Both sides run in one process on one event loop, so the figures are a lower bound for the
server alone. Results go to bench/results/sandbox.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running bench/sandbox.py puts bench/ first on sys.path, where bench/signal.py would shadow the
# standard library's signal module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
# The test client of the sandbox tests (a small client built from daemon.wire pieces).
sys.path.insert(0, str(ROOT / "tests" / "integration" / "sandbox"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import structlog  # noqa: E402
from helpers import (  # noqa: E402
    Companion,
    login,
    login_payload,
    pair_directly,
    upload_prekeys,
)

from daemon.binary import Node  # noqa: E402
from daemon.wire.transport import NoiseWebSocket, TransportConfig, connect  # noqa: E402
from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.phone import SimulatedPhone  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sandbox.json"
WINDOW = 64


async def open_device(server: SandboxServer, companion: Companion) -> NoiseWebSocket:
    config = TransportConfig(url=server.ws_url, root_key=server.root_public_key)
    socket = await connect(
        config, static=companion.keys.noise, client_payload=lambda: login_payload(companion.jid)
    )
    while True:
        node = await socket.receive_node(timeout=30)
        if node.tag == "ib" and node.child("offline") is not None:
            return socket


async def bench_routing(server: SandboxServer, count: int) -> dict[str, Any]:
    network = server.network
    # Raw stanzas from a device that carries no privacy tokens, addressed by phone number: a
    # legacy client, which the sandbox does not hold to the 2026 rules.
    alice = await network.create_account("15550900001", enforcing=False)
    bob = await network.create_account("15550900002", enforcing=False)
    sender = await open_device(server, await pair_directly(server, alice))
    bob_companion = await pair_directly(server, bob)
    receiver = await open_device(server, bob_companion)
    receipts_seen = 0
    window = asyncio.Semaphore(WINDOW)
    done = asyncio.Event()

    async def receive_and_answer() -> None:
        while True:
            node = await receiver.receive_node(timeout=60)
            if node.tag == "message":
                receipt = {"id": node.attr_str("id") or "", "to": node.attrs["from"]}
                await receiver.send_node(Node("receipt", dict(receipt)))

    async def sender_reads() -> None:
        nonlocal receipts_seen
        while True:
            node = await sender.receive_node(timeout=60)
            if node.tag == "receipt":
                receipt_ack = {"class": "receipt", "id": node.attr_str("id") or ""}
                await sender.send_node(Node("ack", dict(receipt_ack)))
                receipts_seen += 1
                window.release()
                if receipts_seen == count:
                    done.set()

    tasks = [asyncio.create_task(receive_and_answer()), asyncio.create_task(sender_reads())]
    payload = bytes(180)
    started = time.perf_counter()
    for index in range(count):
        # Bounded: a receipt that never comes must fail the run, not hang it.
        await asyncio.wait_for(window.acquire(), 60)
        message = Node(
            "message",
            {"id": f"3EB0{index:018X}", "to": bob.pn, "type": "text"},
            [
                Node(
                    "participants",
                    {},
                    [
                        Node(
                            "to",
                            {"jid": bob_companion.jid},
                            [Node("enc", {"v": "2", "type": "msg"}, payload)],
                        )
                    ],
                )
            ],
        )
        await sender.send_node(message)
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await sender.close()
    await receiver.close()
    return {
        "messages": count,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(count / elapsed, 1),
        "window": WINDOW,
    }


async def bench_phone_sends(server: SandboxServer, count: int) -> dict[str, Any]:
    network = server.network
    alice = await network.create_account("15550900101")
    bob = await network.create_account("15550900102")
    phone = network.phones[bob.phone_user]
    peer_phone = network.phones[alice.phone_user]
    assert isinstance(phone, SimulatedPhone) and isinstance(peer_phone, SimulatedPhone)
    companion = await pair_directly(server, alice)
    client = await login(server, companion)
    await upload_prekeys(client, companion.keys, 50)
    await client.close()
    socket = await open_device(server, companion)
    received = 0
    all_received = asyncio.Event()

    async def answer() -> None:
        nonlocal received
        while True:
            node = await socket.receive_node(timeout=60)
            if node.tag in ("message", "receipt", "notification"):
                ack = {"class": node.tag, "id": node.attr_str("id") or ""}
                if (sender := node.attrs.get("from")) is not None:
                    ack["to"] = sender
                await socket.send_node(Node("ack", dict(ack)))
            if node.tag == "message" and node.attrs.get("from") in (bob.pn, bob.lid):
                receipt = {"id": node.attr_str("id") or "", "to": node.attrs["from"]}
                await socket.send_node(Node("receipt", dict(receipt)))
                received += 1
                if received == count + 1:
                    all_received.set()

    reader = asyncio.create_task(answer())
    await phone.send_text(alice.pn, "warm-up")  # first contact: the prekey message
    await phone.idle()
    load_before = os.getloadavg()[0]
    cpu = time.process_time()
    started = time.perf_counter()
    for index in range(count):
        await phone.send_text(alice.pn, f"burst {index}")
    # Done when the companion has every message (and the peer's phone decrypted them all).
    await asyncio.wait_for(all_received.wait(), 120)
    await phone.idle()
    await peer_phone.idle()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    load_after = os.getloadavg()[0]
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await socket.close()
    return {
        "messages": count,
        "decrypted_by_peer_phone": len(peer_phone.messages_received) - 1,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(count / elapsed, 1),
        "cpu_ms_per_message": round(cpu * 1000 / count, 2),
        "load1_before_after": [round(load_before, 2), round(load_after, 2)],
    }


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def bench_connections(server: SandboxServer, count: int) -> dict[str, Any]:
    network = server.network
    companions: list[Companion] = []
    for index in range(count):
        if index % 200 == 0:
            account = await network.create_account(f"1555091{index // 200:04d}")
        companions.append(await pair_directly(server, account))
    rss_before = _rss_kib()
    started = time.perf_counter()
    sockets: list[NoiseWebSocket] = []
    for start in range(0, count, 50):
        batch = companions[start : start + 50]
        sockets.extend(await asyncio.gather(*(open_device(server, c) for c in batch)))
    opened = time.perf_counter() - started
    held = sum(1 for s in network.sockets if s.device is not None)

    async def ping(socket: NoiseWebSocket, index: int) -> None:
        await socket.send_node(
            Node("iq", {"id": f"p{index}", "xmlns": "w:p", "type": "get", "to": "@s.whatsapp.net"})
        )
        while (await socket.receive_node(timeout=60)).attr_str("id") != f"p{index}":
            pass

    started = time.perf_counter()
    await asyncio.gather(*(ping(s, i) for i, s in enumerate(sockets)))
    ping_round = time.perf_counter() - started
    rss_after = _rss_kib()
    await asyncio.gather(*(s.close() for s in sockets))
    return {
        "connections": count,
        "held_by_server": held,
        "open_seconds": round(opened, 3),
        "logins_per_second": round(count / opened, 1),
        "ping_all_seconds": round(ping_round, 3),
        "rss_growth_kib_per_connection": round((rss_after - rss_before) / count, 1),
    }


async def main_async(quick: bool, only_phone: bool) -> dict[str, Any]:
    messages = 500 if quick else 3000
    connections = 100 if quick else 1000
    phone_messages = 300 if quick else 3000
    with tempfile.TemporaryDirectory() as state:
        async with SandboxServer(SandboxConfig(state_dir=Path(state))) as server:
            phone_sends = await bench_phone_sends(server, phone_messages)
    if only_phone:
        return {"bench": "sandbox", "quick": quick, "phone_sends": phone_sends}
    with tempfile.TemporaryDirectory() as state:
        config = SandboxConfig(state_dir=Path(state))
        async with SandboxServer(config, use_default_phone=False) as server:
            routing = await bench_routing(server, messages)
            held = await bench_connections(server, connections)
    return {
        "bench": "sandbox",
        "quick": quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "routing": routing,
        "phone_sends": phone_sends,
        "connections": held,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument(
        "--phone-only", action="store_true", help="only the phone-sends case (prints, no file)"
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = asyncio.run(main_async(args.quick, args.phone_only))
    sends = result["phone_sends"]
    print(
        f"phone sends: {sends['messages_per_second']} messages/s, "
        f"{sends['cpu_ms_per_message']} ms CPU each ({sends['messages']} messages to a "
        f"connected companion, {sends['seconds']} s, load1 {sends['load1_before_after']})"
    )
    if args.phone_only:
        return
    routing, held = result["routing"], result["connections"]
    print(
        f"routing: {routing['messages_per_second']} messages/s "
        f"({routing['messages']} messages, receipts relayed, {routing['seconds']} s)"
    )
    print(
        f"connections: {held['held_by_server']} held open, {held['logins_per_second']} logins/s, "
        f"all pinged in {held['ping_all_seconds']} s, "
        f"~{held['rss_growth_kib_per_connection']} KiB RSS each (client + server)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
