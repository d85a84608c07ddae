"""A pipelined unit's commit held open for another task's unit (``PendingCommit.hold_open``):
the two share one commit, and nothing waits on a hold for longer than the group's bound."""

from __future__ import annotations

import asyncio
from pathlib import Path

from unit_rows import committed_rows, opened

from storage.db import Database
from storage.interfaces import PendingCommit

TIMEOUT = 10.0


async def accept(db: Database) -> PendingCommit:
    """The first unit: a pipelined one, as an accepted send is."""
    async with db.pipelined_transaction() as accepted:
        await db.execute("INSERT INTO units VALUES ('accepted')")
    return accepted


async def test_the_held_unit_and_the_companion_share_one_commit(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        commits = db.commit_count
        accepted = await accept(db)
        hold = accepted.hold_open()

        async def companion() -> None:
            async with db.transaction():
                hold.release()
                await db.execute("INSERT INTO units VALUES ('prepared')")

        prepared = asyncio.create_task(companion())
        await accepted.wait(TIMEOUT)
        await asyncio.wait_for(prepared, TIMEOUT)
        assert db.commit_count - commits == 1
        assert committed_rows(path) == ["accepted", "prepared"]


async def test_without_a_hold_the_companion_commits_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        commits = db.commit_count
        accepted = await accept(db)

        async def companion() -> None:
            async with db.transaction():
                await db.execute("INSERT INTO units VALUES ('prepared')")

        prepared = asyncio.create_task(companion())
        await accepted.wait(TIMEOUT)
        await asyncio.wait_for(prepared, TIMEOUT)
        assert db.commit_count - commits == 2


async def test_a_hold_released_without_a_unit_lets_the_group_commit(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        accepted = await accept(db)
        hold = accepted.hold_open()
        await asyncio.sleep(0)  # the scheduled flush finds the hold and leaves the group
        assert not accepted.done()
        hold.release()
        await accepted.wait(TIMEOUT)
        assert committed_rows(path) == ["accepted"]


async def test_a_hold_never_released_only_delays_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        accepted = await accept(db)
        accepted.hold_open()  # the companion never comes: the group's time bound commits it
        await accepted.wait(TIMEOUT)
        assert committed_rows(path) == ["accepted"]


async def test_a_read_outside_a_transaction_commits_a_held_group_first(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        accepted = await accept(db)
        hold = accepted.hold_open()
        assert await db.fetch_one("SELECT count(*) FROM units") == (1,)
        assert accepted.done()
        assert committed_rows(path) == ["accepted"]
        hold.release()  # too late to matter, and harmless


async def test_another_unit_ending_meanwhile_keeps_the_group_open(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        commits = db.commit_count
        accepted = await accept(db)
        hold = accepted.hold_open()

        wrote = asyncio.Event()

        async def bystander() -> None:
            async with db.transaction():
                await db.execute("INSERT INTO units VALUES ('receipt')")
                wrote.set()

        async def companion() -> None:
            await wrote.wait()
            async with db.transaction():
                hold.release()
                await db.execute("INSERT INTO units VALUES ('prepared')")

        other = asyncio.create_task(bystander())
        prepared = asyncio.create_task(companion())
        await asyncio.wait_for(asyncio.gather(accepted.wait(TIMEOUT), other, prepared), TIMEOUT)
        assert db.commit_count - commits == 1
        assert committed_rows(path) == ["accepted", "receipt", "prepared"]


async def test_a_hold_on_a_committed_unit_holds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    async with await opened(path) as db:
        accepted = await accept(db)
        await accepted.wait(TIMEOUT)
        commits = db.commit_count
        accepted.hold_open().release()
        async with db.transaction():
            await db.execute("INSERT INTO units VALUES ('later')")
        assert db.commit_count - commits == 1
