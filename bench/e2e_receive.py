"""End-to-end receive: messages from a sandbox phone through wamd's decrypt and commit.

Run: .venv/bin/python bench/e2e_receive.py [--quick]

- drain: the phone sends N messages while our session is offline (the sandbox queues them);
  then the session connects and drains the queue. The figure is messages per second from the
  first to the last committed row (``MessageReceived`` is published after the commit): parse,
  Signal decrypt, one SQLite transaction with ``synchronous=FULL`` (message, chat preview,
  Signal state), then the receipt.
- live burst: the phone sends M messages back to back while the session is connected; the
  rate at which they are committed.
- latency: K messages one at a time (the next once the previous is committed), from the phone
  starting the send (its encrypt, the server's routing) to our committed row: p50 and p99.

The sandbox, its phone and the client share one process and one event loop here (2 cores), so
the figures are a lower bound for the client alone. Results: bench/results/e2e_receive.json.
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
from messaging_harness import open_session, paired_client, phone  # noqa: E402

from daemon.client.message_events import MessageReceived  # noqa: E402
from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from storage.db import Synchronous  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "e2e_receive.json"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bench(drain_count: int, live_count: int, paced_count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        async with SandboxServer(SandboxConfig(state_dir=base / "sandbox")) as server:
            alice = await server.network.create_account("15550001111", push_name="Alice")
            bob = await server.network.create_account("15550002222", push_name="Bob")
            bob_phone = phone(server, bob)
            client = await paired_client(server, alice, base / "alice.db")
            await client.close()

            # drain: queued while offline
            for i in range(drain_count):
                await bob_phone.send_text(alice.pn, f"queued {i}")
            session, db = await open_session(
                server, base / "alice.db", synchronous=Synchronous.FULL
            )
            received = 0
            first = last = 0.0
            with session.events() as events:
                # The queue is delivered right after <success>, before the rest of the login.
                await session.connect()
                async with asyncio.timeout(600):
                    while received < drain_count:
                        event = await events.next()
                        if isinstance(event, MessageReceived) and event.message.sender == str(
                            bob.pn
                        ):
                            received += 1
                            last = time.perf_counter()
                            if received == 1:
                                first = last
                drain_rate = (drain_count - 1) / (last - first)

                # live burst: sent back to back while connected
                texts = {f"live {i}" for i in range(live_count)}
                seen = 0
                started = time.perf_counter()

                async def burst() -> None:
                    for text in sorted(texts):
                        await bob_phone.send_text(alice.pn, text)

                sender = asyncio.create_task(burst())
                async with asyncio.timeout(600):
                    while seen < live_count:
                        event = await events.next()
                        if isinstance(event, MessageReceived) and event.message.text in texts:
                            seen += 1
                burst_elapsed = time.perf_counter() - started
                await sender

                # latency: one message at a time, from the phone's send to our committed row
                latencies: list[float] = []
                for i in range(paced_count):
                    text = f"paced {i}"
                    begin = time.perf_counter()
                    await bob_phone.send_text(alice.pn, text)
                    async with asyncio.timeout(60):
                        while True:
                            event = await events.next()
                            if isinstance(event, MessageReceived) and event.message.text == text:
                                break
                    latencies.append(time.perf_counter() - begin)
            await session.close()
            await db.close()
    return {
        "drain": {"messages": drain_count, "messages_per_s": round(drain_rate, 1)},
        "live_burst": {
            "messages": live_count,
            "messages_per_s": round(live_count / burst_elapsed, 1),
        },
        "latency_one_at_a_time": {
            "messages": paced_count,
            "ms_p50": round(statistics.median(latencies) * 1000, 2),
            "ms_p99": round(_percentile(latencies, 0.99) * 1000, 2),
            "ms_max": round(max(latencies) * 1000, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    drain, live, paced = (200, 100, 50) if args.quick else (2000, 1000, 300)
    figures = asyncio.run(bench(drain, live, paced))
    result = {
        "benchmark": "e2e_receive",
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
