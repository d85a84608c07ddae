"""End-to-end send: messages from wamd to a 1:1 chat and to a 50-member group, each returning
after the sandbox's server ack.

Run: .venv/bin/python bench/e2e_send.py [--quick]

- one_to_one: N texts to a sandbox phone. Each send: device lists (cached after the first),
  Signal encrypt for the peer's phone and our own phone (device-sent copy), one SQLite
  transaction (Signal state, message row, kept plaintext, chat preview), the stanza, the ack.
  Measured sequentially (one at a time) and with 8 sends in flight.
- group: a group of wamd plus 49 sandbox phones. The first message hands our new sender key to
  all 50 phones (usync of 50 users, 50 prekey bundles, 50 pairwise encryptions) and is timed on
  its own; the next M are one ``skmsg`` each.

Receiving phones decrypt and answer with receipts on the same event loop as the sender (2
cores), so the figures are a lower bound. Results: bench/results/e2e_send.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration" / "messaging"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import structlog  # noqa: E402
from messaging_harness import paired_client, phone  # noqa: E402

from daemon.binary import JID  # noqa: E402
from daemon.client.message_content import Text  # noqa: E402
from daemon.client.send import OutgoingMessage  # noqa: E402
from daemon.client.session import Session  # noqa: E402
from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from storage.db import Synchronous  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "e2e_send.json"
GROUP_SIZE = 50
IN_FLIGHT = 8


async def _sequential(session: Session, to: JID, count: int, label: str) -> dict[str, float]:
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        begin = time.perf_counter()
        await session.send(OutgoingMessage(to, Text(f"{label} {i}")))
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    return {
        "messages": count,
        "sends_per_s": round(count / elapsed, 1),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p99": round(sorted(latencies)[int(0.99 * (count - 1))] * 1000, 2),
    }


async def _concurrent(session: Session, to: JID, count: int, label: str) -> dict[str, float]:
    queue = list(range(count))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            await session.send(OutgoingMessage(to, Text(f"{label} {i}")))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - started
    return {"messages": count, "in_flight": IN_FLIGHT, "sends_per_s": round(count / elapsed, 1)}


async def bench(direct_count: int, group_count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        async with SandboxServer(SandboxConfig(state_dir=base / "sandbox")) as server:
            network = server.network
            alice = await network.create_account("15550001111", push_name="Alice")
            bob = await network.create_account("15550002222", push_name="Bob")
            members = [bob] + [
                await network.create_account(f"1555100{i:04d}", push_name=f"Member {i}")
                for i in range(GROUP_SIZE - 2)
            ]
            client = await paired_client(
                server, alice, base / "alice.db", synchronous=Synchronous.FULL
            )
            session = client.session
            try:
                await session.send(OutgoingMessage(bob.pn, Text("warm-up")))
                direct = await _sequential(session, bob.pn, direct_count, "direct")
                direct_parallel = await _concurrent(session, bob.pn, direct_count, "parallel")

                record = await session.messenger.create_group("bench", [m.pn for m in members])
                group = JID.parse(record.jid)
                begin = time.perf_counter()
                await session.send(OutgoingMessage(group, Text("first: keys to everyone")))
                first_ms = (time.perf_counter() - begin) * 1000
                grouped = await _sequential(session, group, group_count, "group")
                grouped_parallel = await _concurrent(session, group, group_count, "group-par")
                for member in members[:3]:
                    await phone(server, member).idle()
            finally:
                await client.close()
    return {
        "one_to_one": {"sequential": direct, "concurrent": direct_parallel},
        "group": {
            "members": GROUP_SIZE,
            "first_message_ms": round(first_ms, 1),
            "sequential": grouped,
            "concurrent": grouped_parallel,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    direct, grouped = (50, 20) if args.quick else (500, 200)
    figures = asyncio.run(bench(direct, grouped))
    result = {
        "benchmark": "e2e_send",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "synchronous": "FULL",
        **figures,
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
