"""The outbox's views read with their message rows: what one lifecycle per message costs.

Run: .venv/bin/python bench/outbox_views.py [--quick]

A session with ``N`` sent messages (outbox rows ``done``, message rows delivered or read, as the
client leaves them) is read the ways the API and /metrics read it: one entry, a page of 20, a
page filtered by status, the outbox's counts and the metrics' totals. Each figure is the median
of several runs (milliseconds). For scale, the same counts over the outbox table alone (what
the counts cost when the outbox kept its own copy of the status) are measured too.

Results go to bench/results/outbox_views.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from storage.db import Database
from storage.outbox_values import OutboxStatus
from storage.sqlite.metrics import SqliteMetricsRepo
from storage.sqlite.outbox import SqliteOutboxRepo
from storage.sqlite.sessions import SqliteSessionRepo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "outbox_views.json"
SID = "bench"
RUNS = 7
OUTBOX_ALONE = "SELECT status, count(*) FROM outbox WHERE session_id = ? GROUP BY status"
INSERT_OUTBOX = """
INSERT INTO outbox (id, session_id, request_hash, chat_jid, kind, payload, status, attempts,
                    next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, 'text', '{"text":"hi"}', 'done', 1, 0, ?, ?)
"""
INSERT_MESSAGE = """
INSERT INTO messages (session_id, chat_jid, message_id, sender_jid, from_me, sent_at,
                      content_type, text, status, retry_count, created_at, updated_at)
VALUES (?, ?, ?, '15550009999@s.whatsapp.net', 1, ?, 'text', 'hi', ?, 0, ?, ?)
"""


async def fill(db: Database, count: int) -> None:
    await SqliteSessionRepo(db).create(SID)
    async with db.transaction():
        for n in range(count):
            chat = f"1555{n % 500:07d}@s.whatsapp.net"
            at = 1_770_000_000_000 + n
            status = "read" if n % 3 == 0 else "delivered"
            await db.execute(INSERT_OUTBOX, (f"M{n}", SID, bytes(32), chat, at, at))
            await db.execute(INSERT_MESSAGE, (SID, chat, f"M{n}", at, status, at, at))


async def median_ms(call: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


async def run(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        try:
            await fill(db, count)
            outbox = SqliteOutboxRepo(db)
            metrics = SqliteMetricsRepo(db)
            middle = f"M{count // 2}"
            figures = {
                "get_one_ms": await median_ms(lambda: outbox.get(SID, middle)),
                "page_20_ms": await median_ms(lambda: outbox.page(SID, limit=20)),
                "page_20_read_ms": await median_ms(
                    lambda: outbox.page(SID, status=OutboxStatus.READ, limit=20)
                ),
                "counts_ms": await median_ms(lambda: outbox.counts(SID)),
                "metrics_totals_ms": await median_ms(metrics.totals),
                "counts_outbox_table_alone_ms": await median_ms(
                    lambda: db.fetch_all(OUTBOX_ALONE, (SID,))
                ),
            }
        finally:
            await db.close()
    return {"messages": count, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 messages instead of 50,000")
    args = parser.parse_args()
    result = asyncio.run(run(5_000 if args.quick else 50_000))
    result["python"] = platform.python_version()
    result["machine"] = platform.machine()
    for key, value in result.items():
        print(f"{key}: {value}")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
