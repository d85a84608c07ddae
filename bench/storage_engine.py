"""CPU of the SQLite engine's hot path: one statement inside a transaction, one commit.

Run: .venv/bin/python bench/storage_engine.py [--count 20000] [--commits 2000]

Measures on a real file (WAL, synchronous=FULL as in production), in CPU microseconds per
operation on the event loop's thread and on the database worker thread (per-thread CPU clocks,
so other processes on a busy machine do not count):

- ``fetch_one`` of a row by primary key inside an open transaction;
- ``execute`` of an UPDATE by primary key inside an open transaction;
- ``fetch_one`` outside a transaction (takes the engine's lock, runs inline);
- a transaction of one INSERT: BEGIN, the unit savepoint, the insert, the hop to the worker
  for COMMIT and its fsync.

Results go to bench/results/storage_engine.json (one entry per run label, ``--label``), so a
before/after pair can be kept side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "storage_engine.json"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    operations: int
    loop_us: float
    worker_us: float
    wall_us: float


def worker_clock() -> int | None:
    """The CPU clock of the engine's worker thread, once it exists."""
    for thread in threading.enumerate():
        if thread.name.startswith("wamd-sqlite") and thread.ident is not None:
            return time.pthread_getcpuclockid(thread.ident)
    return None


async def measure(name: str, count: int, run: Callable[[int], Awaitable[None]]) -> Figure:
    worker = worker_clock()
    loop0 = time.thread_time()
    worker0 = time.clock_gettime(worker) if worker is not None else 0.0
    wall0 = time.perf_counter()
    await run(count)
    wall = time.perf_counter() - wall0
    loop = time.thread_time() - loop0
    worker = worker if worker is not None else worker_clock()
    spent_worker = time.clock_gettime(worker) - worker0 if worker is not None else 0.0
    scale = 1e6 / count
    return Figure(name, count, loop * scale, spent_worker * scale, wall * scale)


async def bench(path: Path, count: int, commits: int) -> list[Figure]:
    db = await Database.open(path)
    try:
        await db.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        await db.execute_many(
            "INSERT INTO kv (k, v) VALUES (?, ?)", [(k, os.urandom(64)) for k in range(1000)]
        )
        await db.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")

        async def reads_inside(n: int) -> None:
            async with db.transaction():
                for i in range(n):
                    await db.fetch_one("SELECT v FROM kv WHERE k = ?", (i % 1000,))

        async def writes_inside(n: int) -> None:
            async with db.transaction():
                for i in range(n):
                    await db.execute("UPDATE kv SET v = ? WHERE k = ?", (b"x", i % 1000))

        async def reads_outside(n: int) -> None:
            for i in range(n):
                await db.fetch_one("SELECT v FROM kv WHERE k = ?", (i % 1000,))

        async def transactions(n: int) -> None:
            for _ in range(n):
                async with db.transaction():
                    await db.execute("INSERT INTO log (v) VALUES (?)", (b"y" * 64,))

        await transactions(10)  # the worker thread exists from here on
        figures = []
        for name, n, run in (
            ("fetch_one inside a transaction", count, reads_inside),
            ("execute inside a transaction", count, writes_inside),
            ("fetch_one outside a transaction", count, reads_outside),
            ("transaction of one insert (commit)", commits, transactions),
        ):
            best: Figure | None = None
            for _ in range(3):
                figure = await measure(name, n, run)
                cpu = figure.loop_us + figure.worker_us
                if best is None or cpu < best.loop_us + best.worker_us:
                    best = figure
            assert best is not None
            figures.append(best)
        return figures
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wamd-bench-engine-") as tmp:
        figures = asyncio.run(bench(Path(tmp) / "bench.db", args.count, args.commits))
    print(f"{'operation':38} {'loop µs':>9} {'worker µs':>10} {'wall µs':>9}  (best of 3)")
    for f in figures:
        print(f"{f.name:38} {f.loop_us:9.1f} {f.worker_us:10.1f} {f.wall_us:9.1f}")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "python": platform.python_version(),
        "load1": os.getloadavg()[0],
        "figures": [asdict(f) for f in figures],
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
