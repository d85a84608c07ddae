"""Two engines on one PostgreSQL database (two daemons of a fleet): a reader that follows the
event log by position (``position > cursor``) never passes an event that commits late, and a
webhook delivery claimed by one is not claimed by the other.

Only PostgreSQL is shared by several daemons; a SQLite file belongs to one process (the state
directory's lock), whose engine runs one transaction at a time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from postgres_server import PostgresServer

from storage.engine import SqlEngine
from storage.event_values import NewEvent, StoredEvent
from storage.postgres.engine import PgDatabase
from storage.sqlite.eventlog import SqliteEventLogRepo
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.webhooks import SqliteWebhookRepo
from storage.webhook_values import WEBHOOK_DISPATCH_CURSOR

TIMEOUT = 20.0


@pytest.fixture
async def two_engines(
    postgres_server: PostgresServer,
) -> AsyncIterator[tuple[SqlEngine, SqlEngine]]:
    """Two engines (two daemons' pools) on the same migrated database."""
    url = await postgres_server.migrated_database()
    first = await PgDatabase.open(url)
    second = await PgDatabase.open(url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def follow(log: SqliteEventLogRepo, seen: list[StoredEvent], cursor: int) -> int:
    """One read of a position-cursor consumer (the webhook dispatcher's way)."""
    batch = await log.read_all(after_position=cursor, limit=1000)
    seen.extend(batch)
    return batch[-1].position if batch else cursor


async def test_an_event_committed_late_is_not_passed_by_a_reader(
    two_engines: tuple[SqlEngine, SqlEngine],
) -> None:
    first, second = two_engines
    slow_log, fast_log = SqliteEventLogRepo(first), SqliteEventLogRepo(second)
    appended = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with first.transaction():
            await slow_log.append("s1", "alert", {"n": 1}, "evt_slow")
            appended.set()
            await asyncio.wait_for(release.wait(), TIMEOUT)

    slow = asyncio.create_task(slow_writer())
    await asyncio.wait_for(appended.wait(), TIMEOUT)
    # The other daemon appends while the first one's transaction is still open...
    fast = asyncio.create_task(fast_log.append("s2", "alert", {"n": 2}, "evt_fast"))
    await asyncio.sleep(0.2)
    # ...and a consumer reads meanwhile: it must not see the later event alone.
    seen: list[StoredEvent] = []
    cursor = await follow(fast_log, seen, 0)
    release.set()
    await asyncio.wait_for(asyncio.gather(slow, fast), TIMEOUT)
    await follow(fast_log, seen, cursor)
    assert [event.id for event in seen] == ["evt_slow", "evt_fast"]


async def test_interleaved_appends_of_two_engines_reach_a_reader_exactly_once(
    two_engines: tuple[SqlEngine, SqlEngine],
) -> None:
    logs = [SqliteEventLogRepo(engine) for engine in two_engines]
    rng = random.Random(7)
    writers, per_writer = 4, 8
    done = asyncio.Event()

    async def writer(index: int) -> None:
        engine, log = two_engines[index % 2], logs[index % 2]
        for n in range(per_writer):
            async with engine.transaction():
                event_id = f"evt_{index}_{n}"
                if index < 2:
                    await log.append(f"s{index}", "alert", {"n": n}, event_id)
                else:  # the receive path's way: a unit's events at once
                    await log.append_many(f"s{index}", [NewEvent("alert", {"n": n}, event_id)])
                # Commit at an arbitrary moment after the position was handed out.
                await asyncio.sleep(rng.uniform(0, 0.02))

    async def reader(seen: list[StoredEvent]) -> None:
        cursor = 0
        while not done.is_set():
            cursor = await follow(logs[1], seen, cursor)
            await asyncio.sleep(0.001)
        await follow(logs[1], seen, cursor)

    seen: list[StoredEvent] = []
    reading = asyncio.create_task(reader(seen))
    await asyncio.wait_for(asyncio.gather(*(writer(i) for i in range(writers))), TIMEOUT)
    done.set()
    await asyncio.wait_for(reading, TIMEOUT)
    expected = {f"evt_{i}_{n}" for i in range(writers) for n in range(per_writer)}
    assert sorted(event.id for event in seen) == sorted(expected)
    positions = [event.position for event in seen]
    assert positions == sorted(positions)


async def test_two_daemons_never_claim_the_same_delivery(
    two_engines: tuple[SqlEngine, SqlEngine],
) -> None:
    first = two_engines[0]
    await SqliteSessionRepo(first).create("s1")
    hooks = [SqliteWebhookRepo(engine) for engine in two_engines]
    await hooks[0].create(
        "wh_1", session_id=None, url="http://127.0.0.1:9/", secret="s" * 16, events=frozenset()
    )
    log = SqliteEventLogRepo(first)
    for n in range(40):
        await log.append("s1", "alert", {"n": n}, f"evt_{n}")
    step = await hooks[0].dispatch(WEBHOOK_DISPATCH_CURSOR, lambda _e, found: found)
    assert step.looked == 40
    now = first.now()
    until = now + timedelta(seconds=30)

    async def claims(repo: SqliteWebhookRepo) -> list[int]:
        got: list[int] = []
        for _ in range(6):
            got += [job.delivery_id for job in await repo.claim_due(now, until, limit=4)]
        return got

    mine, theirs = await asyncio.wait_for(asyncio.gather(*(claims(r) for r in hooks)), TIMEOUT)
    assert not set(mine) & set(theirs)
    assert len(mine) + len(theirs) == 40
    # Claimed: not due again before the claim ends...
    assert await hooks[1].claim_due(now, until, limit=50) == []
    # ...unless the daemon died: then the other one takes it over.
    assert await hooks[1].mark_delivered(mine[0], 200)
    later = until + timedelta(seconds=1)
    again = [job.delivery_id for job in await hooks[1].claim_due(later, later, limit=50)]
    assert sorted(again) == sorted(set(mine + theirs) - {mine[0]})
