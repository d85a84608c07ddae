"""Threads on SQLite and PostgreSQL: the outbox's pending row filled by the messenger, the chat
preview recomputed in the thread's order, forward paging, and protocol rows left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from counting_engine import CountingEngine

from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus
from storage.sqlite import SqliteStore
from storage.sqlite.message_store import SqliteMessageStore

SID = "s1"
BOB = "15550002222@s.whatsapp.net"
BOB_LID = "98765@lid"
ME = "15550001111@s.whatsapp.net"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
async def messages(store: SqliteStore) -> AsyncIterator[SqliteMessageStore]:
    await store.sessions.create(SID)
    yield SqliteMessageStore(store.db)


def message(message_id: str, at: datetime, **changes: object) -> MessageRecord:
    record = MessageRecord(
        chat=BOB,
        message_id=message_id,
        sender=BOB,
        from_me=False,
        sent_at=at,
        content_type=ContentType.TEXT,
        status=MessageStatus.RECEIVED,
        text=message_id,
        payload=b"\x0a\x02hi",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def queued(message_id: str, at: datetime, chat: str = BOB) -> MessageRecord:
    return message(
        message_id,
        at,
        chat=chat,
        sender=ME,
        from_me=True,
        status=MessageStatus.PENDING,
        payload=None,
    )


def preview_of(record: MessageRecord) -> str | None:
    return record.text


async def test_the_messenger_fills_the_queued_row_once(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    first = await repo.insert(SID, queued("OUT", T0))
    assert first is not None
    sent = replace(queued("OUT", T0 + timedelta(seconds=5)), payload=b"\x0a\x03out")
    filled = await repo.insert_own(SID, sent)
    assert filled is not None and filled.row_id == first.row_id
    stored = await repo.get(SID, BOB, ME, "OUT")
    assert stored is not None and stored.payload == b"\x0a\x03out" and stored.sent_at == T0
    assert await repo.insert_own(SID, sent) is None  # a repeated attempt adds nothing
    assert await repo.count(SID, BOB) == 1


async def test_a_queued_row_showing_the_same_content_is_filled_in_place(
    messages: SqliteMessageStore,
) -> None:
    repo = messages.messages
    first = await repo.insert(SID, queued("OUT", T0))
    assert first is not None
    sent = replace(queued("OUT", T0 + timedelta(seconds=5)), payload=b"\x0a\x03out")
    filled = await repo.fill_queued_own(SID, sent)
    assert filled is not None and filled.row_id == first.row_id
    stored = await repo.get(SID, BOB, ME, "OUT")
    assert stored is not None and stored.payload == b"\x0a\x03out" and stored.sent_at == T0
    assert await repo.fill_queued_own(SID, sent) is None  # filled already
    # A row that shows something else (or none at all) is left to insert_own.
    await repo.insert(SID, queued("OTHER", T0))
    assert await repo.fill_queued_own(SID, replace(sent, message_id="OTHER", text="x")) is None
    assert await repo.fill_queued_own(SID, replace(sent, message_id="NONE")) is None
    assert await repo.count(SID, BOB) == 2


async def test_the_servers_ack_sets_the_time_and_advances_once(
    messages: SqliteMessageStore,
) -> None:
    repo = messages.messages
    await repo.insert(SID, replace(queued("OUT", T0), payload=b"\x0a\x03out"))
    acked = T0 + timedelta(seconds=2)
    assert await repo.mark_own_sent(SID, "OUT", acked) == [BOB]
    stored = await repo.get(SID, BOB, ME, "OUT")
    assert stored is not None and stored.status is MessageStatus.SENT and stored.sent_at == acked
    # Delivered before a repeated ack: the time is set, the status stays.
    assert await repo.advance_own(SID, "OUT", MessageStatus.DELIVERED) == [BOB]
    assert await repo.mark_own_sent(SID, "OUT", T0) == []
    stored = await repo.get(SID, BOB, ME, "OUT")
    assert stored is not None and stored.status is MessageStatus.DELIVERED
    assert stored.sent_at == T0


async def test_a_queued_row_in_another_chat_moves_to_the_messengers_chat(
    messages: SqliteMessageStore,
) -> None:
    repo = messages.messages
    await repo.insert(SID, queued("OUT", T0, chat=BOB_LID))
    sent = replace(queued("OUT", T0), payload=b"\x0a\x03out")
    assert await repo.insert_own(SID, sent) is not None
    assert await repo.count(SID, BOB_LID) == 0 and await repo.count(SID, BOB) == 1


async def test_the_preview_follows_the_threads_order_after_a_time_changes(
    messages: SqliteMessageStore,
) -> None:
    repo, chats = messages.messages, messages.chats
    ours = await repo.insert(SID, queued("OURS", T0 + timedelta(milliseconds=567)))
    reply = await repo.insert(SID, message("REPLY", T0))
    assert ours is not None and reply is not None
    for record in (ours, reply):
        await chats.record_message(
            SID,
            BOB,
            ChatKind.USER,
            message_id=record.message_id,
            sender=record.sender,
            from_me=record.from_me,
            preview=record.text,
            at=record.sent_at,
        )
    chat = await chats.get(SID, BOB)
    assert chat is not None and chat.last_message_id == "OURS"
    # The server's ack: our message is at the same whole second as the reply, which came
    # later, so the reply is newest in the thread and must be in the preview.
    await repo.set_own_sent_at(SID, "OURS", T0)
    page = await repo.page(SID, BOB, limit=10)
    assert [m.message_id for m in page] == ["REPLY", "OURS"]
    refreshed = await chats.refresh_last(SID, BOB, preview_of)
    assert refreshed is not None and refreshed.last_message_id == "REPLY"
    assert refreshed.last_message_at == T0 and refreshed.last_preview == "REPLY"
    assert await chats.refresh_last(SID, BOB, preview_of) is None  # nothing changed


async def test_our_acked_message_moves_the_chat_time_or_yields_to_a_newer_one(
    messages: SqliteMessageStore,
) -> None:
    repo, chats = messages.messages, messages.chats
    ours = await repo.insert(SID, queued("OURS", T0 + timedelta(milliseconds=567)))
    reply = await repo.insert(SID, message("REPLY", T0))
    assert ours is not None and reply is not None
    for record in (reply, ours):
        await chats.record_message(
            SID,
            BOB,
            ChatKind.USER,
            message_id=record.message_id,
            sender=record.sender,
            from_me=record.from_me,
            preview=record.text,
            at=record.sent_at,
        )
    # Acked a second later: still the newest, only the time changes.
    acked = T0 + timedelta(seconds=1)
    await repo.mark_own_sent(SID, "OURS", acked)
    moved = await chats.refresh_own_last(SID, BOB, "OURS", acked, preview_of)
    assert moved is not None and moved.last_message_id == "OURS"
    assert moved.last_message_at == acked and moved.last_preview == "OURS"
    assert await chats.refresh_own_last(SID, BOB, "OURS", acked, preview_of) is None
    # Acked at the reply's whole second: the reply (a later row) is newest, and last.
    await repo.set_own_sent_at(SID, "OURS", T0)
    back = await chats.refresh_own_last(SID, BOB, "OURS", T0, preview_of)
    assert back is not None and back.last_message_id == "REPLY"
    assert back.last_message_at == T0 and back.last_preview == "REPLY"
    assert await chats.refresh_own_last(SID, BOB, "OURS", T0, preview_of) is None


async def test_an_ack_before_the_chats_last_message_writes_nothing(
    store: SqliteStore, messages: SqliteMessageStore
) -> None:
    """Sends in flight: the ack of one that a later message already follows reads the
    newest message beside what the chat shows (one statement, after the try of the one-statement
    common case) and writes nothing; a server time that makes it the newest still moves the
    chat."""
    repo, chats = messages.messages, messages.chats
    for record in (
        queued("FIRST", T0 + timedelta(milliseconds=100)),
        queued("NEXT", T0 + timedelta(milliseconds=200)),
    ):
        assert await repo.insert(SID, record) is not None
        await chats.record_message(
            SID,
            BOB,
            ChatKind.USER,
            message_id=record.message_id,
            sender=ME,
            from_me=True,
            preview=record.text,
            at=record.sent_at,
        )
    before = await chats.get(SID, BOB)
    assert before is not None and before.last_message_id == "NEXT"
    counting = CountingEngine(store.db)
    counted = SqliteMessageStore(counting).chats
    await repo.mark_own_sent(SID, "FIRST", T0)
    assert await counted.refresh_own_last(SID, BOB, "FIRST", T0, preview_of) is None
    assert len(counting.statements) == 2
    assert await chats.get(SID, BOB) == before
    # The server's clock ahead of ours: the first message becomes the thread's newest.
    later = T0 + timedelta(seconds=1)
    await repo.mark_own_sent(SID, "FIRST", later)
    moved = await counted.refresh_own_last(SID, BOB, "FIRST", later, preview_of)
    assert moved is not None and moved.last_message_id == "FIRST"
    assert moved.last_message_at == later and moved.last_preview == "FIRST"


async def test_forward_pages_and_no_protocol_rows(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    for n in range(5):
        await repo.insert(SID, message(f"M{n}", T0 + timedelta(seconds=n)))
    await repo.insert(
        SID, message("KEYS", T0 + timedelta(seconds=2), content_type=ContentType.PROTOCOL)
    )
    newest_first = await repo.page(SID, BOB, limit=10)
    assert [m.message_id for m in newest_first] == ["M4", "M3", "M2", "M1", "M0"]
    second = newest_first[-2]
    after = await repo.page(SID, BOB, limit=2, after=(second.sent_at, second.row_id))
    assert [m.message_id for m in after] == ["M2", "M3"]
    with pytest.raises(ValueError):
        await repo.page(SID, BOB, limit=2, before=(T0, 0), after=(T0, 0))
