"""Members, leases and fencing on a real PostgreSQL server, two daemons' pools on one database."""

from __future__ import annotations

import asyncio

import pytest

from storage.engine import Fence
from storage.errors import LeaseLost
from storage.postgres.engine import PgDatabase
from storage.postgres.fenced import FencedEngine
from storage.postgres.fleet import PgFleetRepo

TTL_MS = 60_000


async def statuses(db: PgDatabase) -> list[str]:
    return [str(r[0]) for r in await db.fetch_all("SELECT status FROM sessions ORDER BY id")]


async def add_session(db: PgDatabase, session_id: str) -> None:
    now = 1_700_000_000_000
    await db.execute(
        "INSERT INTO sessions (id, name, status, status_reason, status_changed_at, created_at, "
        "updated_at) "
        "VALUES (?, '', 'disconnected', '', ?, ?, ?)",
        (session_id, now, now, now),
    )


async def test_one_daemon_at_a_time_holds_a_lease_and_tokens_only_grow(
    two_daemons: tuple[PgDatabase, PgDatabase],
) -> None:
    a, b = PgFleetRepo(two_daemons[0]), PgFleetRepo(two_daemons[1])
    results = await asyncio.gather(
        *(repo.acquire("s1", name, TTL_MS) for repo, name in ((a, "a"), (b, "b")) * 3)
    )
    winners = [lease for lease in results if lease is not None]
    assert len(winners) == 1
    first = winners[0]
    assert first.token == 1
    assert await a.acquire("s1", first.owner, TTL_MS) is None  # held, even by its owner
    assert await a.release(first)
    assert not await a.release(first)  # already given back
    again = await b.acquire("s1", "b", TTL_MS)
    assert again is not None and again.owner == "b" and again.token == 2
    assert [lease.resource for lease in await a.leases()] == ["s1"]


async def test_an_expired_lease_is_taken_over_and_cannot_be_renewed(
    two_daemons: tuple[PgDatabase, PgDatabase],
) -> None:
    a, b = PgFleetRepo(two_daemons[0]), PgFleetRepo(two_daemons[1])
    held = await a.acquire("s1", "a", 1500)
    assert held is not None
    assert await b.acquire("s1", "b", TTL_MS) is None
    await asyncio.sleep(1.7)
    taken = await b.acquire("s1", "b", TTL_MS)
    assert taken is not None and taken.token == held.token + 1
    assert await a.renew("a", ["s1"], TTL_MS) == []
    renewed = await b.renew("b", ["s1", "s2"], TTL_MS)
    assert [(lease.resource, lease.token) for lease in renewed] == [("s1", taken.token)]


async def test_members_are_listed_while_their_heartbeat_lasts(
    two_daemons: tuple[PgDatabase, PgDatabase],
) -> None:
    a, b = PgFleetRepo(two_daemons[0]), PgFleetRepo(two_daemons[1])
    await a.heartbeat("a", "http://127.0.0.1:1", TTL_MS)
    await b.heartbeat("b", "http://127.0.0.1:2", 1500)
    assert {m.node_id for m in await a.members()} == {"a", "b"}
    await asyncio.sleep(1.7)
    assert [m.node_id for m in await a.members()] == ["a"]
    await a.leaving("a")
    assert [m.leaving for m in await b.members()] == [True]
    await a.leave("a")
    assert await b.members() == []


async def test_a_fenced_write_is_refused_once_the_lease_moved(
    two_daemons: tuple[PgDatabase, PgDatabase],
) -> None:
    old_db, new_db = two_daemons
    await add_session(old_db, "s1")
    held = await PgFleetRepo(old_db).acquire("s1", "old", 1500)
    assert held is not None
    old = FencedEngine(old_db, Fence("s1", "old", held.token))
    await old.execute("UPDATE sessions SET status = 'connected' WHERE id = ?", ("s1",))
    await asyncio.sleep(1.7)  # the old owner is paused past its lease
    taken = await PgFleetRepo(new_db).acquire("s1", "new", TTL_MS)
    assert taken is not None
    with pytest.raises(LeaseLost):
        await old.execute("UPDATE sessions SET status = 'replaced' WHERE id = ?", ("s1",))
    with pytest.raises(LeaseLost):
        async with old.transaction():
            await old.execute("UPDATE sessions SET status = 'replaced' WHERE id = ?", ("s1",))
    with pytest.raises(LeaseLost):
        async with old.pipelined_transaction():
            pass
    new = FencedEngine(new_db, Fence("s1", "new", taken.token))
    async with new.transaction():
        await new.execute("UPDATE sessions SET status = 'connecting' WHERE id = ?", ("s1",))
    assert await statuses(new_db) == ["connecting"]


async def test_a_takeover_waits_for_the_fenced_transaction_in_flight(
    two_daemons: tuple[PgDatabase, PgDatabase],
) -> None:
    old_db, new_db = two_daemons
    await add_session(old_db, "s1")
    held = await PgFleetRepo(old_db).acquire("s1", "old", 1500)
    assert held is not None
    old = FencedEngine(old_db, Fence("s1", "old", held.token))
    inside = asyncio.Event()
    order: list[str] = []

    async def slow_owner_write() -> None:
        async with old.transaction():
            await old.execute("UPDATE sessions SET status = 'connected' WHERE id = ?", ("s1",))
            inside.set()
            await asyncio.sleep(2.5)  # outlives the lease, but its check holds the row
            order.append("old committed")

    async def takeover() -> None:
        await asyncio.wait_for(inside.wait(), 10)
        await asyncio.sleep(1.7)  # the lease has expired by now
        lease = await PgFleetRepo(new_db).acquire("s1", "new", TTL_MS)
        order.append("taken" if lease is not None else "refused")

    await asyncio.wait_for(asyncio.gather(slow_owner_write(), takeover()), 20)
    assert order == ["old committed", "taken"]
    assert await statuses(new_db) == ["connected"]
