"""The transaction rules every engine keeps, on SQLite and on a real PostgreSQL server: what the
repositories (written once, for both) rely on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer

from storage.db import Database
from storage.engine import Dialect, SqlEngine
from storage.errors import ConstraintViolation, TransactionError
from storage.migrate import Migration
from storage.postgres.engine import PgDatabase, redact_url
from storage.postgres.placeholders import numbered

SCHEMA = [
    Migration(
        1,
        "things",
        "CREATE TABLE things (id BIGINT PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''));",
    )
]


@pytest.fixture(params=[Dialect.SQLITE, Dialect.POSTGRESQL], ids=lambda d: str(d))
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlEngine]:
    db: SqlEngine
    if request.param is Dialect.SQLITE:
        db = await Database.open(tmp_path / "engine.db", migrations=SCHEMA)
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db = await PgDatabase.open(server.create_database(), migrations=SCHEMA)
    try:
        yield db
    finally:
        await db.close()


async def names(db: SqlEngine) -> list[str]:
    return [str(row[0]) for row in await db.fetch_all("SELECT name FROM things ORDER BY id")]


async def test_an_exception_rolls_the_transaction_back(engine: SqlEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.transaction():
            await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
            raise RuntimeError("boom")
    assert await names(engine) == []


async def test_a_failed_statement_inside_a_transaction_undoes_only_itself(
    engine: SqlEngine,
) -> None:
    async with engine.transaction():
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
        with pytest.raises(ConstraintViolation):
            await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "again"))
        with pytest.raises(ConstraintViolation):
            await engine.fetch_all("INSERT INTO things VALUES (?, ?) RETURNING id", (2, ""))
        await engine.execute("INSERT INTO things VALUES (?, ?)", (3, "c"))
    assert await names(engine) == ["a", "c"]


async def test_a_nested_block_that_fails_undoes_only_itself(engine: SqlEngine) -> None:
    async with engine.transaction():
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
        with pytest.raises(RuntimeError):
            async with engine.transaction():
                await engine.execute("INSERT INTO things VALUES (?, ?)", (2, "b"))
                raise RuntimeError("inner")
        assert engine.in_transaction
    assert await names(engine) == ["a"]


async def test_transactions_of_two_tasks_do_not_interleave(engine: SqlEngine) -> None:
    order: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with engine.transaction():
            await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "first"))
            inside.set()
            await asyncio.sleep(0.05)
            order.append("first done")

    async def second() -> None:
        await asyncio.wait_for(inside.wait(), 10)
        async with engine.transaction():
            order.append("second in")
            await engine.execute("INSERT INTO things VALUES (?, ?)", (2, "second"))

    await asyncio.wait_for(asyncio.gather(first(), second()), 20)
    assert order == ["first done", "second in"]
    assert await names(engine) == ["first", "second"]


async def test_a_cancelled_task_inside_a_transaction_rolls_it_back(engine: SqlEngine) -> None:
    started = asyncio.Event()

    async def writer() -> None:
        async with engine.transaction():
            await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await names(engine) == []
    await engine.execute("INSERT INTO things VALUES (?, ?)", (2, "b"))
    assert await names(engine) == ["b"]


async def test_after_commit_runs_once_the_writes_are_visible(engine: SqlEngine) -> None:
    seen: list[list[str]] = []
    done = asyncio.Event()

    async def look() -> None:
        seen.append(await names(engine))
        done.set()

    tasks: list[asyncio.Task[None]] = []
    async with engine.transaction():
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
        engine.after_commit(lambda: tasks.append(asyncio.create_task(look())))
        await asyncio.sleep(0.01)
        assert not tasks
    await asyncio.wait_for(done.wait(), 10)
    assert seen == [["a"]]


class Boom(Exception):
    pass


async def test_on_commit_runs_only_for_writes_that_committed(engine: SqlEngine) -> None:
    """A callback belongs to the writes made before it: a rolled-back savepoint or unit drops
    it, a released savepoint hands it to the enclosing one, and it runs after the commit."""
    calls: list[str] = []

    async def failing(name: str) -> None:
        with contextlib.suppress(Boom):
            async with engine.transaction():
                if name:
                    engine.on_commit(lambda: calls.append(name))
                raise Boom

    async with engine.transaction():
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
        engine.on_commit(lambda: calls.append("unit"))
        await failing("rolled-back savepoint")
        async with engine.transaction():
            engine.on_commit(lambda: calls.append("released savepoint"))
        await failing("")  # the same depth again, rolled back
        await asyncio.sleep(0.01)
        assert calls == []
    await failing("failed unit")
    engine.on_commit(lambda: calls.append("outside"))
    async with asyncio.timeout(10):
        while len(calls) < 3:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    assert calls == ["unit", "released savepoint", "outside"]
    assert await names(engine) == ["a"]


async def test_a_pipelined_unit_is_durable_once_waited_for(engine: SqlEngine) -> None:
    async with engine.pipelined_transaction() as pending:
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
    await pending.wait(10)
    assert pending.done()
    assert await names(engine) == ["a"]
    async with engine.transaction():
        with pytest.raises(TransactionError):
            async with engine.pipelined_transaction():
                pass


async def test_a_unit_another_task_joins_through_a_hold_commits_with_it(
    engine: SqlEngine,
) -> None:
    async with engine.pipelined_transaction() as pending:
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "accepted"))
    hold = pending.hold_open()

    async def companion() -> None:
        async with engine.transaction():
            hold.release()
            await engine.execute("INSERT INTO things VALUES (?, ?)", (2, "prepared"))

    joined = asyncio.create_task(companion())
    await pending.wait(10)
    await asyncio.wait_for(joined, 10)
    hold.release()  # idempotent
    assert await names(engine) == ["accepted", "prepared"]


async def test_execute_many_counts_the_rows_it_changed(engine: SqlEngine) -> None:
    await engine.execute_many("INSERT INTO things VALUES (?, ?)", [(1, "a"), (2, "b")])
    changed = await engine.execute_many(
        "UPDATE things SET name = ? WHERE id = ?", [("x", 1), ("y", 2), ("z", 99)]
    )
    assert changed == 2
    assert await names(engine) == ["x", "y"]


async def test_numbered_and_bare_placeholders_mean_the_same_on_both(engine: SqlEngine) -> None:
    await engine.execute("INSERT INTO things VALUES (?1, ?2)", (1, "a"))
    await engine.execute("UPDATE things SET name = ?1 || ?1 WHERE id = ?2", ("b", 1))
    assert await names(engine) == ["bb"]


async def test_the_counters_count_every_statement_and_commit(engine: SqlEngine) -> None:
    before = engine.counters
    await engine.fetch_all("SELECT name FROM things")
    read = engine.counters - before
    assert read.statements == 1 and read.commits == 0
    before = engine.counters
    async with engine.transaction():
        await engine.execute("INSERT INTO things VALUES (?, ?)", (1, "a"))
        await engine.execute("INSERT INTO things VALUES (?, ?)", (2, "b"))
    two = engine.counters - before
    before = engine.counters
    async with engine.transaction():
        await engine.execute("INSERT INTO things VALUES (?, ?)", (3, "c"))
    one = engine.counters - before
    assert one.commits == two.commits == 1
    # BEGIN and COMMIT are statements too; each further one counts by itself.
    assert one.statements >= 3
    assert two.statements > one.statements
    before = engine.counters
    await engine.execute_many("INSERT INTO things VALUES (?, ?)", [(4, "d"), (5, "e"), (6, "f")])
    many = engine.counters - before
    assert many.commits == 1
    assert many.statements >= 3 + 2  # a statement per row, BEGIN and COMMIT


async def test_the_migration_is_recorded(engine: SqlEngine) -> None:
    assert await engine.schema_version() == 1
    assert await engine.ping() >= 0


def test_placeholders_are_numbered_outside_quotes_and_comments() -> None:
    sql = "SELECT '?', \"a?\" , ? -- ?\n, ?3, ? /* ? */ FROM t WHERE x = 'it''s ?' AND y = ?"
    assert numbered(sql) == (
        "SELECT '?', \"a?\" , $1 -- ?\n, $3, $4 /* ? */ FROM t WHERE x = 'it''s ?' AND y = $5"
    )


def test_a_url_is_shown_without_its_password() -> None:
    assert redact_url("postgresql://wamd:s3cret@db.example:5433/wamd") == (
        "postgresql://wamd:***@db.example:5433/wamd"
    )
    assert redact_url("postgresql://wamd@127.0.0.1/x") == "postgresql://wamd@127.0.0.1/x"
