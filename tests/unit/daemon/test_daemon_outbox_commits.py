"""An accepted send shares its commit with its first attempt's unit when the worker takes it at
once: the 202 and the message leave after one fsync, not two in a row; the accept is durable
before it returns either way."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from operator import contains
from pathlib import Path

import pytest
from daemon_fakes import fast_config

from daemon.eventlog import EventLog
from daemon.outbox import Outbox, QueuedMessage, ServerAck, parse_send_request
from storage.db import Database
from storage.outbox_values import OutboxStatus
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.stores import SqliteStores

TIMEOUT = 10.0


@dataclass
class CommittingSender:
    """Commits the attempt as the client does (``sending`` in the unit that commits the
    message, then the ack in another); ``gate``, when given, holds it before that unit."""

    db: Database
    gate: asyncio.Event | None = None
    acked: list[str] = field(default_factory=list)

    def is_connected(self, session_id: str) -> bool:
        return True

    async def send(self, message: QueuedMessage) -> ServerAck:
        if self.gate is not None:
            await self.gate.wait()
        async with self.db.transaction():
            if message.stage_attempt is not None:
                await message.stage_attempt()
        if message.on_written is not None:
            message.on_written()
        async with self.db.transaction():
            if message.record_done is not None:
                await message.record_done()
        self.acked.append(message.id)
        return ServerAck(server_timestamp=1_700_000_000)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "wamd.db")
    await SqliteSessionRepo(opened).create("s1")
    yield opened
    await opened.close()


def outbox_for(db: Database, sender: CommittingSender, tmp_path: Path) -> Outbox:
    stores = SqliteStores(db)
    config = dataclasses.replace(fast_config(tmp_path).outbox, max_in_flight=4)
    return Outbox(stores, EventLog(stores), sender, config)


def durable_status(path: Path, message_id: str) -> str | None:
    """The row as another connection sees it: committed, or nothing."""
    check = sqlite3.connect(path)
    try:
        row = check.execute("SELECT status FROM outbox WHERE id = ?", (message_id,)).fetchone()
        return None if row is None else str(row[0])
    finally:
        check.close()


async def until(condition: object) -> None:
    assert callable(condition)
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.005)


async def test_a_send_taken_at_once_shares_the_accepts_commit(db: Database, tmp_path: Path) -> None:
    sender = CommittingSender(db)
    outbox = outbox_for(db, sender, tmp_path)
    request = parse_send_request({"to": "15550001111", "text": "hello"})
    # The worker exists and idles: the case of a session sending one message after another.
    first = await outbox.accept("s1", request, None)
    await until(lambda: first.row.id in sender.acked)
    await until(lambda: durable_status(db.path, first.row.id) == "done")
    commits = db.commit_count
    sends = 10
    for _ in range(sends):
        accepted = await outbox.accept("s1", request, None)
        assert durable_status(db.path, accepted.row.id) is not None  # durable before the 202
        await until(functools.partial(contains, sender.acked, accepted.row.id))
    # accept + ``sending`` in one commit, the ack in another: two per send, not three. On a
    # loaded machine an accept still commits alone now and then (the hold is bounded in time,
    # and a read outside a transaction commits the group first): without the hold every send
    # takes three, so most sends sharing is what this asserts.
    assert db.commit_count - commits <= 2 * sends + sends // 2
    await outbox.stop(1.0)


async def test_an_attempt_that_is_slow_to_commit_does_not_hold_the_accept(
    db: Database, tmp_path: Path
) -> None:
    gate = asyncio.Event()
    sender = CommittingSender(db)
    outbox = outbox_for(db, sender, tmp_path)
    request = parse_send_request({"to": "15550001111", "text": "hello"})
    first = await outbox.accept("s1", request, None)
    await until(lambda: first.row.id in sender.acked)
    sender.gate = gate
    # The worker takes the row and then waits (a prekey fetch, say) before its unit: the
    # accept's commit goes without it, within the group's time bound.
    accepted = await asyncio.wait_for(outbox.accept("s1", request, None), TIMEOUT)
    assert durable_status(db.path, accepted.row.id) == OutboxStatus.PENDING.value
    assert accepted.row.id not in sender.acked
    gate.set()
    await until(lambda: accepted.row.id in sender.acked)
    await until(lambda: durable_status(db.path, accepted.row.id) == "done")
    await outbox.stop(1.0)
