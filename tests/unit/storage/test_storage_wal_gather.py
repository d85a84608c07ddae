"""The WAL-gathering VFS (storage/_wal_gather.c): a commit's frames reach the file in one write,
and nothing a reader, a sync or a crash can observe changes.

The shim is built by ./scripts/setup (setup.py); every other storage test runs on it too (the
crash test in test_storage_crash.py kills a writer that uses it). These tests pin what is
particular to it: how many writes reach the file, that another connection (on SQLite's own VFS)
sees each commit as soon as it returns, with and without a sync per commit, and that a
transaction too large for the buffer, spilled and rewritten mid-way, commits whole.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database, Synchronous
from storage.wal_gather import sqlite_knows_vfs, vfs_name, write_counters

COMMITS = 30
TABLES = 4


def counters() -> tuple[int, int]:
    found = write_counters()
    assert found is not None, "storage/_wal_gather.c is not built: run ./scripts/setup"
    return found


async def open_plain_schema(
    path: Path,
    *,
    gather_wal_writes: bool = True,
    synchronous: Synchronous = Synchronous.FULL,
) -> Database:
    db = await Database.open(
        path, migrations=[], gather_wal_writes=gather_wal_writes, synchronous=synchronous
    )
    async with db.transaction():
        for table in range(TABLES):
            await db.execute(f"CREATE TABLE t{table} (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
    return db


async def commit_rows(db: Database, round_: int) -> None:
    async with db.transaction():
        for table in range(TABLES):
            await db.execute(f"INSERT INTO t{table} (k, v) VALUES (?, randomblob(200))", (round_,))


def test_the_shim_is_built() -> None:
    assert vfs_name() == "wamd-walbatch", "storage/_wal_gather.c is not built: run ./scripts/setup"


def test_a_vfs_the_sqlite3_module_cannot_see_is_not_used() -> None:
    # A Python whose sqlite3 module carries its own SQLite would not see the shim registered
    # in the system's library: the probe must say so rather than let every open fail.
    assert sqlite_knows_vfs("wamd-walbatch")
    assert not sqlite_knows_vfs("no-such-vfs")


async def test_a_commit_reaches_the_wal_in_one_write(tmp_path: Path) -> None:
    db = await open_plain_schema(tmp_path / "gathered.db")
    try:
        asked_before, made_before = counters()
        for round_ in range(COMMITS):
            await commit_rows(db, round_)
        asked_after, made_after = counters()
        asked, made = asked_after - asked_before, made_after - made_before
    finally:
        await db.close()
    # Each commit writes at least one frame per table (a header and a page each): SQLite asked
    # for 2 * TABLES writes or more per commit, and the file got one per commit (plus the WAL
    # header when the log restarts after a checkpoint).
    assert asked >= 2 * TABLES * COMMITS
    assert COMMITS <= made <= COMMITS + 2


async def test_without_the_shim_sqlite_writes_the_file_itself(tmp_path: Path) -> None:
    db = await open_plain_schema(tmp_path / "plain.db", gather_wal_writes=False)
    try:
        before = counters()
        for round_ in range(COMMITS):
            await commit_rows(db, round_)
        assert counters() == before
        rows = await db.fetch_one("SELECT count(*) FROM t0")
    finally:
        await db.close()
    assert rows is not None and rows[0] == COMMITS


@pytest.mark.parametrize("name", ["odd ?#%&= name.db", "plain.db"])
async def test_the_database_is_the_file_the_path_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The shim is reached through a file: URI: characters a URI gives meaning to, a relative
    # path and an absolute one that starts with two slashes still name the same file.
    monkeypatch.chdir(tmp_path)
    for path in (Path(name), Path("/" + str(tmp_path / f"abs-{name}"))):
        db = await open_plain_schema(path)
        try:
            await commit_rows(db, 7)
        finally:
            await db.close()
        assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(path.name)) == [
            path.name
        ]
        reader = sqlite3.connect(path)
        try:
            assert reader.execute("SELECT k FROM t0").fetchall() == [(7,)]
        finally:
            reader.close()


@pytest.mark.parametrize("synchronous", [Synchronous.FULL, Synchronous.NORMAL])
async def test_another_connection_sees_each_commit_as_it_returns(
    tmp_path: Path, synchronous: Synchronous
) -> None:
    path = tmp_path / "seen.db"
    db = await open_plain_schema(path, synchronous=synchronous)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        for round_ in range(COMMITS):
            await commit_rows(db, round_)
            # A plain connection, on SQLite's own VFS, reads the WAL file directly: the frames
            # must be there once the commit has returned, synced or not.
            counts = [
                reader.execute(f"SELECT count(*) FROM t{table}").fetchone()[0]
                for table in range(TABLES)
            ]
            assert counts == [round_ + 1] * TABLES
        assert reader.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        reader.close()
        await db.close()


async def test_a_transaction_larger_than_the_buffer_commits_whole(tmp_path: Path) -> None:
    path = tmp_path / "large.db"
    db = await open_plain_schema(path)
    rows, size = 600, 8000
    try:
        # A cache of 16 pages makes SQLite spill dirty pages to the WAL mid-transaction and
        # write some of them again before the commit: writes that do not continue the gathered
        # run, and a transaction (about 5 MB) several times the 1 MiB buffer.
        await db.execute("PRAGMA cache_size = 16")
        async with db.transaction():
            for k in range(rows):
                await db.execute("INSERT INTO t0 (k, v) VALUES (?, randomblob(?))", (k, size))
            await db.execute("UPDATE t0 SET v = zeroblob(?) WHERE k % 7 = 0", (size,))
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("INSERT INTO t1 (k, v) SELECT k, v FROM t0")
                raise RuntimeError("roll back a spilled transaction")
        ours = await db.fetch_one(
            "SELECT count(*), sum(length(v)), sum(v = zeroblob(?)) FROM t0", (size,)
        )
    finally:
        await db.close()
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        theirs = reader.execute(
            "SELECT count(*), sum(length(v)), sum(v = zeroblob(?)) FROM t0", (size,)
        ).fetchone()
        assert reader.execute("SELECT count(*) FROM t1").fetchone() == (0,)
        assert reader.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        reader.close()
    zeroed = len(range(0, rows, 7))
    assert ours is not None and tuple(ours) == theirs == (rows, rows * size, zeroed)
