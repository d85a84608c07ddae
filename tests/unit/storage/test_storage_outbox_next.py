"""What the pipelined outbox may start next while some rows are in flight, on both engines: a
chat's next open row once every row ahead of it is in flight, never a row in flight, due rows
first, then in order of acceptance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from storage.engine import SqlEngine
from storage.outbox_values import NewOutboxRow
from storage.sqlite.outbox import SqliteOutboxRepo
from storage.sqlite.sessions import SqliteSessionRepo

SID = "s1"
A = "15550001111@s.whatsapp.net"
B = "15550002222@s.whatsapp.net"
OpenEngine = Callable[[], Awaitable[SqlEngine]]


async def queue(outbox: SqliteOutboxRepo, message_id: str, chat: str) -> None:
    await outbox.insert(
        NewOutboxRow(message_id, SID, None, bytes(32), chat, "text", {"text": message_id})
    )


async def test_a_chats_next_row_waits_for_the_ones_ahead_to_be_in_flight(
    open_engine: OpenEngine,
) -> None:
    db = await open_engine()
    await SqliteSessionRepo(db).create(SID)
    outbox = SqliteOutboxRepo(db)
    for message_id, chat in (("a1", A), ("b1", B), ("a2", A), ("a3", A), ("b2", B)):
        await queue(outbox, message_id, chat)

    async def ids(in_flight: list[str], limit: int = 8) -> list[str]:
        return [row.id for row in await outbox.next_open_past(SID, in_flight, limit)]

    assert await ids([]) == ["a1", "b1"]
    assert await ids([], limit=1) == ["a1"]
    assert await ids(["a1"]) == ["b1", "a2"]
    assert await ids(["a1", "b1"]) == ["a2", "b2"]
    assert await ids(["a1", "a2", "b1"]) == ["a3", "b2"]
    assert await ids(["a1", "a2", "a3", "b1", "b2"]) == []
    # A row not in flight (a retry backing off) keeps its chat's later rows behind it, and
    # the rows that are due come first.
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await outbox.reschedule("a1", later, "no ack")
    assert await ids(["b1"]) == ["b2", "a1"]
    assert await ids(["a2", "b1"]) == ["b2", "a1"]
