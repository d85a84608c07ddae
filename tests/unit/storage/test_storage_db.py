"""storage.db: file creation, connection settings, the transaction boundary, error wrapping.

The transaction rules seen through the repositories run on both engines (``store``); what only
a SQLite file has (pragmas, a full disk, one connection for reads and writes) on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from storage_factories import make_device_keys, make_prekeys

from storage.db import Database
from storage.engine import EngineCounters
from storage.errors import (
    DatabaseCorrupt,
    DatabaseUnavailable,
    IdentityExists,
    StorageError,
    TransactionError,
)
from storage.sqlite import SqliteStore
from storage.values import SessionStatus


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------ the file


@pytest.mark.parametrize("mask", [0o022, 0o000])
async def test_new_database_file_is_private_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    path = tmp_path / "auth.db"
    with umask(mask):
        db = await Database.open(path)
        try:
            await db.execute("CREATE TABLE filler (x BLOB)")
            await db.execute("INSERT INTO filler VALUES (randomblob(5000))")
            wal = Path(f"{path}-wal")
            assert mode_of(path) == 0o600
            # SQLite gives the write-ahead log the main file's mode.
            assert wal.exists()
            assert mode_of(wal) == 0o600
        finally:
            await db.close()
    assert mode_of(path) == 0o600


async def test_existing_permissive_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    await (await Database.open(path)).close()
    path.chmod(0o644)
    db = await Database.open(path)
    await db.close()
    assert mode_of(path) == 0o600


async def test_connection_settings(sqlite_store: SqliteStore) -> None:
    db = sqlite_store.db
    assert await db.fetch_one("PRAGMA journal_mode") == ("wal",)
    assert await db.fetch_one("PRAGMA foreign_keys") == (1,)
    assert await db.fetch_one("PRAGMA synchronous") == (2,)  # FULL
    assert await db.fetch_one("PRAGMA secure_delete") == (1,)
    # Statements run inline on the loop's thread and must never wait there; waiting for a lock
    # another process holds happens on the worker (next tests).
    assert await db.fetch_one("PRAGMA busy_timeout") == (0,)


async def test_ping_runs_a_real_query(store: SqliteStore) -> None:
    latency = await store.ping()
    assert isinstance(latency, float)
    assert latency >= 0.0
    await store.close()
    with pytest.raises(DatabaseUnavailable):
        await store.ping()


async def test_close_is_idempotent_and_use_after_close_fails(store: SqliteStore) -> None:
    await store.close()
    await store.close()
    assert store.db.closed
    with pytest.raises(DatabaseUnavailable, match="closed"):
        await store.sessions.get("a")
    with pytest.raises(DatabaseUnavailable):
        async with store.transaction():
            pass


async def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    path.write_bytes(b"this is not sqlite" * 300)
    with pytest.raises(DatabaseCorrupt, match="not a SQLite database"):
        await Database.open(path)
    assert path.read_bytes() == b"this is not sqlite" * 300


async def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="cannot open"):
        await Database.open(tmp_path / "missing" / "auth.db")


async def test_in_memory_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="memory"):
        await Database.open(":memory:")


async def test_sqlite_errors_never_leave_storage(sqlite_store: SqliteStore) -> None:
    with pytest.raises(StorageError) as caught:
        await sqlite_store.db.fetch_all("SELECT * FROM no_such_table")
    assert not isinstance(caught.value, sqlite3.Error)
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    with pytest.raises(StorageError, match="one statement"):
        await sqlite_store.db.execute("SELECT 1; SELECT 2")


async def test_another_process_holding_the_write_lock_is_reported(db_path: Path) -> None:
    db = await Database.open(db_path, busy_timeout_ms=50)
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseUnavailable, match="locked"):
            async with db.transaction():
                pass
        other.execute("ROLLBACK")
        # The failed BEGIN left nothing behind: the next transaction works.
        async with db.transaction():
            await db.execute("CREATE TABLE after_lock (x INTEGER)")
    finally:
        other.close()
        await db.close()


async def test_a_briefly_held_lock_is_waited_for_off_the_loop(db_path: Path) -> None:
    db = await Database.open(db_path, busy_timeout_ms=5_000)
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE held (x INTEGER)")
        running = asyncio.create_task(ticker())
        release = asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
        async with db.transaction():
            await db.execute("INSERT INTO held VALUES (1)")
        release.cancel()
        running.cancel()
        # The loop kept running while the transaction waited for the other connection's lock.
        assert ticks > 0
        assert await db.fetch_all("SELECT x FROM held") == [(1,)]
    finally:
        other.close()
        await db.close()


# ------------------------------------------------------------------ transactions


async def test_exception_rolls_back_every_repository_write(store: SqliteStore) -> None:
    await store.sessions.create("keep")
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction():
            await store.sessions.create("gone")
            await store.credentials.save_new("gone", make_device_keys())
            await store.prekeys.add_batch("gone", make_prekeys(range(1, 11)))
            await store.sessions.update_status("keep", SessionStatus.CONNECTING, "dial")
            await store.signal_sessions.store("keep", "123.0", b"record")
            raise RuntimeError("boom")
    assert await store.sessions.get("gone") is None
    assert await store.credentials.load("gone") is None
    assert await store.prekeys.count("gone") == 0
    keep = await store.sessions.get("keep")
    assert keep is not None and keep.status is SessionStatus.NEW
    assert [t.seq for t in await store.sessions.transitions("keep")] == [1]
    assert await store.signal_sessions.load("keep", "123.0") is None


async def test_nested_transaction_joins_through_a_savepoint(store: SqliteStore) -> None:
    async with store.transaction():
        await store.sessions.create("outer")
        with pytest.raises(ValueError, match="inner"):
            async with store.transaction():
                await store.sessions.create("inner")
                raise ValueError("inner")
        await store.sessions.create("after")
    assert [s.id for s in await store.sessions.list_all()] == ["outer", "after"]


async def test_inner_failure_not_caught_rolls_back_the_outer(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        async with store.transaction():
            await store.sessions.create("outer")
            async with store.transaction():
                await store.sessions.create("inner")
                raise ValueError("inner")
    assert await store.sessions.list_all() == []


async def test_failed_repository_call_inside_a_transaction_undoes_only_itself(
    store: SqliteStore,
) -> None:
    await store.sessions.create("s")
    original = await store.credentials.save_new("s", make_device_keys())
    async with store.transaction():
        await store.sessions.update_status("s", SessionStatus.CONNECTING, "dial")
        with pytest.raises(IdentityExists):
            await store.credentials.save_new("s", make_device_keys())
        await store.sessions.update_status("s", SessionStatus.CONNECTED, "ok")
    assert await store.credentials.load("s") == original
    statuses = [t.to_status for t in await store.sessions.transitions("s")]
    assert statuses == [SessionStatus.NEW, SessionStatus.CONNECTING, SessionStatus.CONNECTED]


async def test_concurrent_transactions_do_not_interleave(store: SqliteStore) -> None:
    await store.sessions.create("s")
    batches, size = 25, 4

    async def writer(name: str) -> None:
        for _ in range(batches):
            async with store.transaction():
                # Read-then-write across several awaits: interleaving would hand two writers
                # the same ids (AlreadyExists) or lose transitions.
                first = await store.prekeys.max_id("s") + 1
                await asyncio.sleep(0)
                await store.prekeys.add_batch("s", make_prekeys(range(first, first + size)))
                await asyncio.sleep(0)
                await store.sessions.update_status("s", SessionStatus.CONNECTED, name)

    await asyncio.gather(writer("a"), writer("b"))
    assert await store.prekeys.count("s") == 2 * batches * size
    assert await store.prekeys.max_id("s") == 2 * batches * size
    transitions = await store.sessions.transitions("s")
    assert [t.seq for t in transitions] == list(range(1, 2 * batches + 2))
    assert sorted(t.reason for t in transitions[1:]) == ["a"] * batches + ["b"] * batches


async def test_reads_outside_wait_for_the_open_transaction(sqlite_store: SqliteStore) -> None:
    await sqlite_store.sessions.create("s")
    written = asyncio.Event()
    committed = False

    async def writer() -> None:
        nonlocal committed
        async with sqlite_store.transaction():
            await sqlite_store.sessions.update_status("s", SessionStatus.PAIRING, "qr")
            written.set()
            for _ in range(5):
                await asyncio.sleep(0)
            await sqlite_store.sessions.update_status("s", SessionStatus.CONNECTING, "paired")
        committed = True

    async def reader() -> tuple[bool, SessionStatus | None]:
        await written.wait()
        row = await sqlite_store.sessions.get("s")
        return committed, None if row is None else row.status

    _, (writer_done, seen) = await asyncio.gather(writer(), reader())
    # Same connection: a read that ran inside the writer's transaction would see PAIRING.
    assert writer_done
    assert seen is SessionStatus.CONNECTING


async def test_task_spawned_inside_a_transaction_does_not_join_it(store: SqliteStore) -> None:
    await store.sessions.create("s")
    child: asyncio.Task[object] | None = None
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await store.sessions.update_status("s", SessionStatus.CONNECTING, "parent")
            child = asyncio.create_task(store.sessions.create("child"))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not child.done()  # waiting for the parent's transaction to end
            raise RuntimeError("parent fails")
    assert child is not None
    await child
    assert await store.sessions.get("child") is not None  # its own transaction committed
    row = await store.sessions.get("s")
    assert row is not None and row.status is SessionStatus.NEW


async def test_cancelling_a_task_inside_a_transaction_rolls_it_back(store: SqliteStore) -> None:
    started = asyncio.Event()

    async def doomed() -> None:
        async with store.transaction():
            await store.sessions.create("doomed")
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(doomed())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.sessions.get("doomed") is None
    await store.sessions.create("next")  # the connection is idle and usable
    assert [s.id for s in await store.sessions.list_all()] == ["next"]


async def test_full_disk_aborts_the_whole_transaction(sqlite_store: SqliteStore) -> None:
    # SQLITE_FULL makes SQLite roll back the whole transaction by itself; the caller must not
    # be able to carry on writing in autocommit mode, nor commit half of it.
    page_count = await sqlite_store.db.fetch_one("PRAGMA page_count")
    assert page_count is not None
    await sqlite_store.db.fetch_all(f"PRAGMA max_page_count = {page_count[0] + 2}")
    await sqlite_store.sessions.create("s")
    with pytest.raises(TransactionError, match="aborted"):
        async with sqlite_store.transaction():
            await sqlite_store.sessions.update_status("s", SessionStatus.CONNECTING, "dial")
            with pytest.raises(DatabaseUnavailable, match="disk is full"):
                for i in range(50):
                    await sqlite_store.signal_sessions.store("s", f"{i}.0", os.urandom(4000))
            await sqlite_store.sessions.update_status("s", SessionStatus.CONNECTED, "ok")
    await sqlite_store.db.fetch_all("PRAGMA max_page_count = 1073741823")
    row = await sqlite_store.sessions.get("s")
    assert row is not None and row.status is SessionStatus.NEW
    assert await sqlite_store.signal_sessions.load("s", "0.0") is None
    await sqlite_store.sessions.update_status("s", SessionStatus.CONNECTING, "retry")


async def test_close_from_inside_a_transaction_is_refused(store: SqliteStore) -> None:
    async with store.transaction():
        with pytest.raises(TransactionError):
            await store.close()


# ------------------------------------------------------------------ group commit


async def _insert_concurrently(db: Database, values: list[int], fail: int | None = None) -> None:
    async def one(value: int) -> None:
        async with db.transaction():
            await db.execute("INSERT INTO grouped (x) VALUES (?)", (value,))
            if value == fail:
                raise RuntimeError("this unit fails")

    results = await asyncio.gather(*(one(v) for v in values), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert [str(f) for f in failures] == ([] if fail is None else ["this unit fails"])


async def test_transactions_queued_together_share_one_commit(db_path: Path) -> None:
    # Commits on the worker, where the others queue while the first one's fsync runs.
    async with await Database.open(db_path, inline_commit_max_s=0) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        commits, units = db.commit_count, db.unit_count
        await _insert_concurrently(db, list(range(40)))
        rows = await db.fetch_all("SELECT x FROM grouped ORDER BY x")
        assert rows == [(i,) for i in range(40)]
        assert db.unit_count - units == 40
        # The first commits alone; the others queue meanwhile and go in (a few) groups.
        assert db.commit_count - commits < 10
    # Every unit's return meant "on disk": a fresh connection sees all of them.
    check = sqlite3.connect(db_path)
    try:
        assert check.execute("SELECT count(*) FROM grouped").fetchone() == (40,)
    finally:
        check.close()


async def test_a_failing_unit_in_a_group_undoes_only_itself(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        await _insert_concurrently(db, list(range(10)), fail=5)
        rows = await db.fetch_all("SELECT x FROM grouped ORDER BY x")
        assert rows == [(i,) for i in range(10) if i != 5]


async def test_a_group_whose_next_writer_was_cancelled_is_still_committed(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        queued = asyncio.Event()

        async def later() -> None:
            queued.set()
            async with db.transaction():
                await db.execute("INSERT INTO grouped (x) VALUES (2)")

        async with db.transaction():
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
            waiting = asyncio.create_task(later())
            await queued.wait()
            await asyncio.sleep(0)  # `later` is now queued for the lock
            waiting.cancel()
        # The exit handed the open transaction to `later`, which never took it: the flush
        # timer committed it, or this block would not have returned.
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await db.fetch_all("SELECT x FROM grouped") == [(1,)]


async def test_a_lone_transaction_costs_begin_its_statement_and_commit(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        before = db.counters
        async with db.transaction():
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
        # No unit savepoint for a transaction alone in its group, no busy timeout set and
        # reset around the COMMIT's hop to the worker: BEGIN IMMEDIATE, INSERT, COMMIT.
        assert db.counters - before == EngineCounters(statements=3, commits=1)
        before = db.counters
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("INSERT INTO grouped (x) VALUES (2)")
                raise RuntimeError("undone by the rollback of the whole transaction")
        assert db.counters - before == EngineCounters(statements=3, commits=0)
        assert await db.fetch_all("SELECT x FROM grouped") == [(1,)]


async def test_a_unit_joining_a_group_gets_a_savepoint_of_its_own(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        before = db.counters
        async with db.transaction():
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
            # Both queue for the lock while this transaction is open, and join its group.
            queued = asyncio.create_task(_insert_concurrently(db, [2, 3], fail=2))
            for _ in range(5):
                await asyncio.sleep(0)
        await queued
        spent = db.counters - before
        assert await db.fetch_all("SELECT x FROM grouped ORDER BY x") == [(1,), (3,)]
        # BEGIN and INSERT; the failing unit's SAVEPOINT, INSERT, ROLLBACK TO and RELEASE;
        # the last one's SAVEPOINT, INSERT and RELEASE; one COMMIT for the whole group.
        assert spent == EngineCounters(statements=2 + 4 + 3 + 1, commits=1)


def _open_temporary_files() -> list[str]:
    """SQLite's temporary files this process holds open (named etilqs_*, unlinked at once)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if "etilqs_" in target:
                found.append(target)
    return found


async def test_a_savepoint_journal_stays_in_memory(db_path: Path) -> None:
    # A unit joining a group runs in a savepoint, and SQLite journals the original of each
    # page it changes. Past 64 KiB that journal would spill to a temporary file: a write per
    # send, and Signal state on disk where secure_delete never reaches it.
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE wide (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        async with db.transaction():
            for k in range(64):
                await db.execute("INSERT INTO wide (k, v) VALUES (?, randomblob(3000))", (k,))
        async with db.transaction(), db.transaction():
            await db.execute("UPDATE wide SET v = randomblob(3000)")  # some 64 pages, 256 KiB
            assert _open_temporary_files() == []
        assert await db.fetch_one("SELECT count(*) FROM wide") == (64,)


# ------------------------------------------------------------------ pipelined transactions


async def test_pipelined_units_of_one_task_share_a_commit(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        commits = db.commit_count
        pending = []
        for value in range(10):
            async with db.pipelined_transaction() as commit:
                await db.execute("INSERT INTO grouped (x) VALUES (?)", (value,))
                # A read inside the unit sees the earlier units, committed or not.
                assert await db.fetch_one("SELECT count(*) FROM grouped") == (value + 1,)
            pending.append(commit)
        # No yield to the loop in between: nothing is committed yet, nothing acked.
        assert not any(commit.done() for commit in pending)
        for commit in pending:
            await commit.wait(5.0)
        assert db.commit_count - commits == 1
    check = sqlite3.connect(db_path)
    try:
        assert check.execute("SELECT count(*) FROM grouped").fetchone() == (10,)
    finally:
        check.close()


async def test_a_read_outside_a_transaction_commits_the_waiting_group_first(
    db_path: Path,
) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        async with db.pipelined_transaction() as commit:
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
        before = db.counters
        assert not commit.done()
        # The unit has ended: a read sees it, and only once it is durable.
        assert await db.fetch_all("SELECT x FROM grouped") == [(1,)]
        assert commit.done()
        assert (db.counters - before).commits == 1


async def test_a_lone_pipelined_unit_is_committed_without_company(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        async with db.pipelined_transaction() as commit:
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
        await commit.wait(5.0)
        assert commit.done()


async def test_a_failing_pipelined_unit_leaves_the_others_in_the_group(db_path: Path) -> None:
    committed: list[int] = []
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        async with db.pipelined_transaction() as first:
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
            db.on_commit(lambda: committed.append(1))
        with pytest.raises(RuntimeError):
            async with db.pipelined_transaction():
                await db.execute("INSERT INTO grouped (x) VALUES (2)")
                db.on_commit(lambda: committed.append(2))
                raise RuntimeError("this unit fails")
        await first.wait(5.0)
        assert await db.fetch_all("SELECT x FROM grouped") == [(1,)]
        await asyncio.sleep(0)
        assert committed == [1]  # on_commit: only for the unit that committed


async def test_a_failed_group_commit_fails_every_pending_unit(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await db.execute(
            "CREATE TABLE child (parent INTEGER REFERENCES parent (id) "
            "DEFERRABLE INITIALLY DEFERRED)"
        )
        pending = []
        committed: list[int] = []
        for value in (1, 2):
            async with db.pipelined_transaction() as commit:
                await db.execute("INSERT INTO parent (id) VALUES (?)", (value,))
                db.on_commit(functools.partial(committed.append, value))
            pending.append(commit)
        # A deferred foreign key is checked at COMMIT: the group's commit fails.
        async with db.pipelined_transaction() as commit:
            await db.execute("INSERT INTO child (parent) VALUES (99)")
        pending.append(commit)
        for commit in pending:
            with pytest.raises(StorageError):
                await commit.wait(5.0)
        assert await db.fetch_all("SELECT id FROM parent") == []
        assert committed == []  # no unit of the failed group reports a commit
        async with db.pipelined_transaction() as commit:
            await db.execute("INSERT INTO parent (id) VALUES (3)")
        await commit.wait(5.0)
        assert await db.fetch_all("SELECT id FROM parent") == [(3,)]


async def test_a_pipelined_transaction_must_be_outermost(db_path: Path) -> None:
    async with await Database.open(db_path) as db, db.transaction():
        with pytest.raises(TransactionError):
            async with db.pipelined_transaction():
                pass


async def test_after_commit_waits_for_the_commit_that_holds_the_writes(db_path: Path) -> None:
    # Commits on the worker: one loop turn after the unit, its commit is still under way.
    async with await Database.open(db_path, inline_commit_max_s=0) as db:
        await db.execute("CREATE TABLE grouped (x INTEGER)")
        calls: list[int] = []
        async with db.pipelined_transaction() as commit:
            await db.execute("INSERT INTO grouped (x) VALUES (1)")
            db.after_commit(lambda: calls.append(db.commit_count))
        await asyncio.sleep(0)
        assert calls == [] and not commit.done()
        await commit.wait(5.0)
        await asyncio.sleep(0)
        assert calls == [db.commit_count]
        db.after_commit(lambda: calls.append(0))  # outside a transaction: at once
        await asyncio.sleep(0)
        assert calls[-1] == 0


async def test_on_commit_callbacks_run_before_the_committing_task_resumes(
    tmp_path: Path,
) -> None:
    """What a unit publishes on commit (its events, to the streams) goes out as the COMMIT
    returns, not a loop turn or more later; a callback that raises goes to the loop's exception
    handler and neither stops the others nor fails the unit."""
    loop = asyncio.get_running_loop()
    reported: list[object] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
    calls: list[str] = []

    def boom() -> None:
        raise RuntimeError("a subscriber's bug")

    try:
        async with await Database.open(tmp_path / "hooks.db") as db:
            await db.execute("CREATE TABLE t (v TEXT)")
            async with db.transaction():
                await db.execute("INSERT INTO t VALUES ('a')")
                db.on_commit(lambda: calls.append("first"))
                db.on_commit(boom)
                db.on_commit(lambda: calls.append("second"))
            assert calls == ["first", "second"]
            async with db.pipelined_transaction() as pending:
                await db.execute("INSERT INTO t VALUES ('b')")
                db.on_commit(lambda: calls.append("pipelined"))
            await pending.wait(10)
            assert calls == ["first", "second", "pipelined"]
    finally:
        loop.set_exception_handler(None)
    assert [str(e) for e in reported] == ["a subscriber's bug"]
