"""Event wake-ups across daemons on a real PostgreSQL server: two daemons' pools on one database;
rows one commits to the event log wake the other's followers through LISTEN/NOTIFY, also after
the listening connection was cut."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import daemon.eventlog
from daemon.eventlog import EventLog
from storage.event_values import StoredEvent
from storage.postgres.engine import PgDatabase
from storage.postgres.fleet import PgFleetRepo
from storage.postgres.stores import PgStores

WAIT_S = 30.0
SESSION = "s1"


async def append_raw(db: PgDatabase, seq: int) -> None:
    """An event row as another daemon's event log commits it."""
    async with db.transaction():
        await db.execute(
            "INSERT INTO event_log (id, session_id, seq, type, data, created_at) "
            "VALUES (?, ?, ?, 'alert', '{}', 1700000000000)",
            (f"evt_{seq}", SESSION, seq),
        )


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.changed.set()

    async def next(self) -> None:
        async with asyncio.timeout(WAIT_S):
            await self.changed.wait()
        self.changed.clear()


async def test_a_commit_on_one_daemon_wakes_the_other(
    two_daemons: tuple[PgDatabase, PgDatabase],
) -> None:
    a, b = two_daemons
    wakes = Wakes()
    watch = PgFleetRepo(a).watch_events(wakes)
    try:
        await wakes.next()  # the catch-up call once listening
        await append_raw(b, 1)
        await wakes.next()
        assert wakes.count == 2

        # The listening connection is cut: the watch reconnects, catches up, hears again.
        await b.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        )
        await wakes.next()  # the catch-up call after the reconnection
        count = wakes.count
        await append_raw(b, 2)
        await wakes.next()
        assert wakes.count == count + 1
    finally:
        await watch.close()


async def test_a_follower_sees_events_another_daemon_commits(
    two_daemons: tuple[PgDatabase, PgDatabase],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without a wake-up the follower would sleep its whole (here very long) poll interval.
    monkeypatch.setattr(daemon.eventlog, "FOLLOW_POLL_S", 3600.0)
    a, b = two_daemons
    events = EventLog(PgStores(a, tmp_path))
    watch = PgFleetRepo(a).watch_events(events.committed_elsewhere)
    got: list[StoredEvent] = []
    reading = asyncio.Event()

    async def follow() -> None:
        async for event in events.follow(SESSION):
            got.append(event)
            reading.set()

    follower = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.2)  # the follower is waiting, caught up
        await append_raw(b, 1)
        async with asyncio.timeout(WAIT_S):
            await reading.wait()
        assert [event.id for event in got] == ["evt_1"]
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await watch.close()
