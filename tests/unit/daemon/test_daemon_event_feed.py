"""A session's followers get this daemon's committed events from memory: once each, in order,
never one rolled back, and from the log whatever memory cannot vouch for (a gap, another
daemon's commit, a follower fallen behind)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from backends import BackendStores, OpenEngine, stores_over

from daemon import eventlog as eventlog_module
from daemon.event_feed import FEED_CAPACITY
from daemon.event_format import EventType
from daemon.event_records import EventRecord
from daemon.eventlog import EventLog
from storage.event_values import StoredEvent

TIMEOUT = 10.0


@pytest.fixture
async def stores(open_engine: OpenEngine, tmp_path: Path) -> BackendStores:
    opened = stores_over(await open_engine(), tmp_path)
    await opened.sessions.create("s1")
    return opened


@pytest.fixture(autouse=True)
def no_idle_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """A follower re-reads the log after a second without events: not within these tests,
    which count the reads."""
    monkeypatch.setattr(eventlog_module, "FOLLOW_POLL_S", 60.0)


class Follower:
    def __init__(
        self, log: EventLog, after_seq: int = 0, types: frozenset[str] | None = None
    ) -> None:
        self.seen: list[StoredEvent] = []
        self._task = asyncio.create_task(
            self._run(log.follow("s1", after_seq=after_seq, types=types))
        )

    async def _run(self, events: AsyncIterator[StoredEvent]) -> None:
        async for event in events:
            self.seen.append(event)

    async def until(self, count: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while len(self.seen) < count:
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


def alert(n: int) -> EventRecord:
    return EventRecord(EventType.ALERT, {"n": n})


def numbers(events: list[StoredEvent]) -> list[int]:
    return [event.data["n"] for event in events]


async def reads_settle(log: EventLog, follower: Follower, count: int) -> int:
    await follower.until(count)
    await asyncio.sleep(0.05)  # nothing more is read or seen
    assert len(follower.seen) == count
    return log.stream_reads


async def test_a_follower_reads_once_then_takes_this_daemons_commits_from_memory(
    stores: BackendStores,
) -> None:
    log = EventLog(stores)
    for n in range(3):
        await log.append("s1", EventType.ALERT, {"n": n})
    follower = Follower(log, after_seq=1)  # resumed by cursor
    assert await reads_settle(log, follower, 2) == 1
    for n in range(3, 10):
        await log.append("s1", EventType.ALERT, {"n": n})
    async with stores.transaction():  # one unit, several events
        await log.append_records("s1", [alert(n) for n in range(10, 15)])
    await log.append_records("s1", [alert(15)])
    assert await reads_settle(log, follower, 15) == 1
    assert numbers(follower.seen) == list(range(1, 16))
    assert [e.seq for e in follower.seen] == list(range(2, 17))
    assert follower.seen == await log.read("s1", after_seq=1)
    await follower.stop()


async def test_a_filtered_follower_catches_up_reading_only_what_it_wants(
    stores: BackendStores,
) -> None:
    """A client resuming a filtered stream after a long history (every received message)
    reads its own type only: one read, then memory, with the cursor past the skipped ones."""
    log = EventLog(stores)
    async with stores.transaction():
        await log.append_records("s1", [alert(n) for n in range(450)])
    await log.append("s1", EventType.MESSAGE_UPDATED, {"n": 450})
    async with stores.transaction():
        await log.append_records("s1", [alert(n) for n in range(451, 600)])
    follower = Follower(log, types=frozenset({str(EventType.MESSAGE_UPDATED)}))
    assert await reads_settle(log, follower, 1) == 1  # unfiltered pages took seven reads
    await log.append("s1", EventType.ALERT, {"n": 600})
    await log.append("s1", EventType.MESSAGE_UPDATED, {"n": 601})
    assert await reads_settle(log, follower, 2) == 1  # from memory: the cursor is contiguous
    assert numbers(follower.seen) == [450, 601]
    await follower.stop()


async def test_a_rolled_back_unit_never_reaches_a_follower(stores: BackendStores) -> None:
    """The next commit reuses the rolled-back sequence number: the follower sees that event,
    never the one that did not commit."""
    log = EventLog(stores)
    follower = Follower(log)
    assert await reads_settle(log, follower, 0) == 1
    with pytest.raises(RuntimeError):
        async with stores.transaction():
            await log.append_records("s1", [alert(1)])
            raise RuntimeError("the write this event reports failed")
    async with stores.transaction():
        await log.append("s1", EventType.ALERT, {"n": 2})
        try:
            async with stores.transaction():  # a savepoint rolled back inside a unit
                await log.append("s1", EventType.ALERT, {"n": 3})
                raise RuntimeError("inner")
        except RuntimeError:
            pass
        await log.append("s1", EventType.ALERT, {"n": 4})
    assert await reads_settle(log, follower, 2) == 1
    assert [(e.seq, e.data["n"]) for e in follower.seen] == [(1, 2), (2, 4)]
    assert follower.seen == await log.read("s1")
    await follower.stop()


async def test_what_memory_cannot_vouch_for_is_read_from_the_log(
    stores: BackendStores,
) -> None:
    """An event appended past the event log (a gap in what the feed saw), another daemon's
    commit, and more events than a follower's feed holds: each read from the log, and every
    event seen once, in order."""
    log = EventLog(stores)
    follower = Follower(log)
    assert await reads_settle(log, follower, 0) == 1
    await log.repo.append("s1", "alert", {"n": 1}, "evt_gap")  # not published
    await log.append("s1", EventType.ALERT, {"n": 2})
    assert await reads_settle(log, follower, 2) == 2

    await log.repo.append("s1", "alert", {"n": 3}, "evt_elsewhere")
    log.committed_elsewhere()
    assert await reads_settle(log, follower, 3) == 3

    many = FEED_CAPACITY + 50
    await log.append_records("s1", [alert(n) for n in range(4, 4 + many)])
    await follower.until(3 + many)
    assert numbers(follower.seen) == list(range(1, 4 + many))
    assert [e.seq for e in follower.seen] == list(range(1, 4 + many))
    await follower.stop()


async def test_followers_of_one_session_are_not_woken_by_another(
    stores: BackendStores,
) -> None:
    await stores.sessions.create("s2")
    log = EventLog(stores)
    follower = Follower(log)
    assert await reads_settle(log, follower, 0) == 1
    for n in range(5):
        await log.append("s2", EventType.ALERT, {"n": n})
    assert await reads_settle(log, follower, 0) == 1
    await follower.stop()


async def test_an_idle_follower_reads_what_no_wake_up_announced(
    stores: BackendStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's poll bounds a follower's wait: an event appended past the event log (no
    wake-up) is read once the follower's feed stayed idle for a poll period."""
    monkeypatch.setattr(eventlog_module, "FOLLOW_POLL_S", 0.05)
    log = EventLog(stores)
    follower = Follower(log)
    await follower.until(0)
    await log.repo.append("s1", "alert", {"n": 1}, "evt_unannounced")
    await follower.until(1)
    assert numbers(follower.seen) == [1]
    await follower.stop()


async def test_waiting_for_events_arms_no_timer_per_wait(
    stores: BackendStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy stream waits on its feed several times per send: one timer for every feed (the
    hub's poll), none per wait."""
    armed: list[str] = []
    original = asyncio.timeout

    def counting_timeout(delay: float | None) -> asyncio.Timeout:
        armed.append(sys._getframe(1).f_globals["__name__"])
        return original(delay)

    monkeypatch.setattr(asyncio, "timeout", counting_timeout)
    log = EventLog(stores)
    follower = Follower(log)
    for n in range(20):
        await log.append("s1", EventType.ALERT, {"n": n})
        await follower.until(n + 1)
    assert numbers(follower.seen) == list(range(20))
    assert "daemon.eventlog" not in armed and "daemon.event_feed" not in armed
    await follower.stop()
