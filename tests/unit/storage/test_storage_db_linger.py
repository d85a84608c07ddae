"""A lingering pipelined unit (``pipelined_transaction(linger=...)``) asks for no commit of its
own: it shares the next unit's, or a timer commits it once ``linger`` is up. A unit in a hurry
that joins it is bounded from its own start, not the lingering unit's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from unit_rows import committed_rows, opened

from storage.db import MAX_GROUP_WAIT_S, Database
from storage.interfaces import PendingCommit

TIMEOUT = 10.0
LINGER = 0.2


async def lingering(db: Database, name: str) -> PendingCommit:
    async with db.pipelined_transaction(LINGER) as pending:
        await db.execute("INSERT INTO units VALUES (?)", (name,))
    return pending


async def test_a_lone_lingering_unit_is_committed_by_its_timer(tmp_path: Path) -> None:
    path = tmp_path / "linger.db"
    async with await opened(path) as db:
        commits = db.commit_count
        started = time.monotonic()
        pending = await lingering(db, "receipt")
        for _ in range(5):
            await asyncio.sleep(0)  # a plain pipelined unit would have committed by now
        assert not pending.done() and committed_rows(path) == []
        await pending.wait(TIMEOUT)
        assert time.monotonic() - started >= LINGER * 0.9
        assert db.commit_count - commits == 1
        assert committed_rows(path) == ["receipt"]


async def test_lingering_units_ride_along_with_the_next_units_commit(tmp_path: Path) -> None:
    path = tmp_path / "linger.db"
    async with await opened(path) as db:
        commits = db.commit_count
        started = time.monotonic()
        first = await lingering(db, "receipt 1")
        second = await lingering(db, "receipt 2")
        async with db.transaction():
            await db.execute("INSERT INTO units VALUES ('send')")
        # The transaction returned once durable, and so are the units it carried.
        assert first.done() and second.done()
        await first.wait(TIMEOUT)
        await second.wait(TIMEOUT)
        assert time.monotonic() - started < LINGER
        assert db.commit_count - commits == 1
        assert committed_rows(path) == ["receipt 1", "receipt 2", "send"]


async def test_a_read_outside_a_transaction_commits_lingering_units_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "linger.db"
    async with await opened(path) as db:
        pending = await lingering(db, "receipt")
        rows = await db.fetch_all("SELECT name FROM units")
        assert [row[0] for row in rows] == ["receipt"]
        assert pending.done() and committed_rows(path) == ["receipt"]


async def test_a_hurried_unit_joining_a_lingering_group_is_bounded_from_its_own_start(
    tmp_path: Path,
) -> None:
    """A send accepted while a receipt lingers keeps the commit open for its worker's unit for
    the usual bound, counted from the accept: the receipt's head start does not eat it."""
    path = tmp_path / "linger.db"
    async with await opened(path) as db:
        commits = db.commit_count
        receipt = await lingering(db, "receipt")
        await asyncio.sleep(MAX_GROUP_WAIT_S * 1.5)
        async with db.pipelined_transaction() as accepted:
            await db.execute("INSERT INTO units VALUES ('accepted')")
        hold = accepted.hold_open()
        await asyncio.sleep(MAX_GROUP_WAIT_S / 5)
        async with db.transaction():
            hold.release()
            await db.execute("INSERT INTO units VALUES ('prepared')")
        await receipt.wait(TIMEOUT)
        await accepted.wait(TIMEOUT)
        assert db.commit_count - commits == 1
        assert committed_rows(path) == ["receipt", "accepted", "prepared"]


async def test_a_failed_unit_after_a_lingering_one_leaves_it_to_commit(tmp_path: Path) -> None:
    path = tmp_path / "linger.db"
    async with await opened(path) as db:
        pending = await lingering(db, "receipt")
        try:
            async with db.transaction():
                await db.execute("INSERT INTO units VALUES ('broken')")
                raise RuntimeError("the unit fails")
        except RuntimeError:
            pass
        await pending.wait(TIMEOUT)
        assert committed_rows(path) == ["receipt"]


async def test_a_unit_in_a_hurry_does_not_wait_for_a_queued_lingering_one(
    tmp_path: Path,
) -> None:
    """The ack of a send commits at once even when a receipt queued behind it: handing the
    open transaction to the receipt would make the ack wait for work nobody waits on."""
    path = tmp_path / "linger.db"
    async with await opened(path) as db:
        commits = db.commit_count
        queued: asyncio.Task[PendingCommit] | None = None
        async with db.transaction():
            await db.execute("INSERT INTO units VALUES ('ack')")
            queued = asyncio.create_task(lingering(db, "receipt"))
            for _ in range(3):
                await asyncio.sleep(0)  # the receipt is queued for the lock
        assert committed_rows(path) == ["ack"] and db.commit_count - commits == 1
        receipt = await asyncio.wait_for(queued, TIMEOUT)
        assert not receipt.done()  # it lingers for the next unit (or its timer)
        await receipt.wait(TIMEOUT)
        assert committed_rows(path) == ["ack", "receipt"]
        assert db.commit_count - commits == 2
