"""Crash safety: a writer process killed with SIGKILL at a random moment leaves a database that
holds every committed batch completely and no partial one (and, on SQLite, passes the file's
integrity check), on both storage engines."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import asyncpg
from backends import new_client_database
from pytest import FixtureRequest

from storage.db import Database
from storage.engine import Dialect
from storage.postgres.engine import PgDatabase
from storage.sqlite import SqliteStore

BATCH = 20
ROUNDS = 4

# Each batch is one transaction touching three tables through three repositories.
WRITER = """
import asyncio, os, sys

from storage.db import Database
from storage.postgres.engine import PgDatabase
from storage.sqlite import SqliteStore
from storage.values import PreKey, SessionStatus

BATCH = int(sys.argv[2])


async def main(where):
    if where.startswith("postgresql://"):
        store = SqliteStore(await PgDatabase.open(where))
    else:
        store = await SqliteStore.open(where)
    if await store.sessions.get("crash") is None:
        await store.sessions.create("crash")
    batch = await store.prekeys.max_id("crash") // BATCH
    print("ready", batch, flush=True)
    while True:
        first = batch * BATCH + 1
        keys = [PreKey(i, os.urandom(32), os.urandom(32)) for i in range(first, first + BATCH)]
        async with store.transaction():
            await store.prekeys.add_batch("crash", keys)
            await store.signal_sessions.store("crash", f"{batch}.0", os.urandom(3000))
            await store.sessions.update_status("crash", SessionStatus.CONNECTED, f"batch {batch}")
        print("committed", batch, flush=True)
        batch += 1


asyncio.run(main(sys.argv[1]))
"""


def run_and_kill(script: Path, db: str, rng: random.Random) -> set[int]:
    """Start the writer, let it commit a random number of batches, SIGKILL it at a random
    moment; return the batches it reported as committed."""
    proc = subprocess.Popen(
        [sys.executable, str(script), db, str(BATCH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(30.0, proc.kill)  # never hang the suite on a stuck child
    watchdog.start()
    assert proc.stdout is not None and proc.stderr is not None
    try:
        ready = proc.stdout.readline()
        assert ready.startswith("ready"), f"writer did not start: {ready!r} {proc.stderr.read()}"
        committed: set[int] = set()
        for _ in range(rng.randint(0, 25)):
            words = proc.stdout.readline().split()
            assert words[:1] == ["committed"], f"writer stopped: {proc.stderr.read()}"
            committed.add(int(words[1]))
        time.sleep(rng.uniform(0.0, 0.01))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Lines already in the pipe were printed after their commit returned. The kill can cut
        # the last line short; a line without its newline proves nothing and is ignored.
        for rest in proc.stdout.read().splitlines(keepends=True):
            words = rest.split()
            if rest.endswith("\n") and len(words) == 2 and words[0] == "committed":
                committed.add(int(words[1]))
        assert proc.returncode == -signal.SIGKILL
        return committed
    finally:
        watchdog.cancel()
        proc.stdout.close()
        proc.stderr.close()


PREKEYS = "SELECT key_id FROM prekeys WHERE session_id = 'crash'"
RECORDS = "SELECT address FROM signal_sessions"
TRANSITIONS = "SELECT reason FROM session_transitions WHERE reason LIKE 'batch %'"


async def batches_in(db: str) -> tuple[str, Counter[int], set[int], set[int]]:
    """Integrity check result (SQLite's; a PostgreSQL server checks its own), prekeys per
    batch, batches with a record, batches with a transition — read with the plain driver,
    independently of storage/."""
    if db.startswith("postgresql://"):
        conn = await asyncpg.connect(db)
        try:
            integrity = "ok"
            rows = [
                [tuple(r) for r in await conn.fetch(q)] for q in (PREKEYS, RECORDS, TRANSITIONS)
            ]
        finally:
            await conn.close()
    else:
        with sqlite3.connect(db) as lite:
            integrity = lite.execute("PRAGMA integrity_check").fetchone()[0]
            rows = [lite.execute(q).fetchall() for q in (PREKEYS, RECORDS, TRANSITIONS)]
        lite.close()
    prekeys = Counter((key_id - 1) // BATCH for (key_id,) in rows[0])
    records = {int(address.split(".")[0]) for (address,) in rows[1]}
    transitions = {int(reason.split()[1]) for (reason,) in rows[2]}
    return integrity, prekeys, records, transitions


async def test_sigkill_mid_write_leaves_a_consistent_database(
    backend: Dialect, tmp_path: Path, request: FixtureRequest
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    database = await new_client_database(backend, tmp_path, "crash", request)
    db = database.url or str(database.path)
    reported: set[int] = set()
    for round_no in range(ROUNDS):
        reported |= run_and_kill(script, db, rng)
        integrity, prekeys, records, transitions = await batches_in(db)
        where = f"seed {seed}, round {round_no}"
        assert integrity == "ok", where
        assert all(count == BATCH for count in prekeys.values()), f"partial batch: {where}"
        assert set(prekeys) == records == transitions, where
        assert set(prekeys) == set(range(len(prekeys))), f"gap in batches: {where}"
        assert reported <= set(prekeys), f"a reported commit was lost: {where}"

    store = SqliteStore(
        await PgDatabase.open(db) if database.url else await Database.open(database.path)
    )
    try:
        if isinstance(store.db, Database):
            assert await store.db.integrity_check() == ["ok"]
        history = await store.sessions.transitions("crash")
        assert [t.seq for t in history] == list(range(1, len(history) + 1))
    finally:
        await store.close()
