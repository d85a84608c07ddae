"""The outbox read with its message row, on both engines: the request's state until the
message has gone out, then the message row's status and time, in every view (one entry, a
page and its status filter, the counts, the metrics' totals) and at restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from storage.engine import SqlEngine
from storage.message_values import ContentType, MessageRecord, MessageStatus, ReceiptStatus
from storage.outbox_values import NewOutboxRow, OutboxRequest, OutboxStatus
from storage.sqlite.message_store import SqliteMessageStore
from storage.sqlite.metrics import SqliteMetricsRepo
from storage.sqlite.outbox import SqliteOutboxRepo
from storage.sqlite.sessions import SqliteSessionRepo

SID = "s1"
OWN = "15550009999@s.whatsapp.net"
CHAT = "15550001111@s.whatsapp.net"
READER = "15550001111:1@s.whatsapp.net"
SERVER_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OpenEngine = Callable[[], Awaitable[SqlEngine]]


async def queued(db: SqlEngine, message_id: str, *, with_message: bool = True) -> None:
    """An accepted send (its message row ``pending``, as the outbox writes it for a text)."""
    await SqliteOutboxRepo(db).insert(
        NewOutboxRow(message_id, SID, None, bytes(32), CHAT, "text", {"text": "hi"})
    )
    if with_message:
        await SqliteMessageStore(db).messages.insert(
            SID,
            MessageRecord(
                chat=CHAT,
                message_id=message_id,
                sender=OWN,
                from_me=True,
                sent_at=datetime.now(UTC),
                content_type=ContentType.TEXT,
                status=MessageStatus.PENDING,
                text="hi",
            ),
        )


async def client_acked(db: SqlEngine, message_id: str) -> None:
    messages = SqliteMessageStore(db).messages
    async with db.transaction():
        await messages.set_own_sent_at(SID, message_id, SERVER_TIME)
        await messages.advance_own(SID, message_id, MessageStatus.SENT)


async def client_receipt(db: SqlEngine, message_id: str, status: ReceiptStatus) -> None:
    store = SqliteMessageStore(db)
    async with db.transaction():
        await store.receipts.record(SID, message_id, READER, status, SERVER_TIME)
        await store.messages.advance_own(SID, message_id, status.message_status)


async def test_a_receipt_before_done_shows_in_every_view(open_engine: OpenEngine) -> None:
    db = await open_engine()
    await SqliteSessionRepo(db).create(SID)
    outbox = SqliteOutboxRepo(db)
    await queued(db, "A")
    fresh = await outbox.get(SID, "A")
    assert fresh is not None
    assert (fresh.request, fresh.status, fresh.sent_at) == (
        OutboxRequest.PENDING,
        OutboxStatus.PENDING,
        None,
    )
    assert await outbox.mark_sending("A")
    await client_acked(db, "A")
    await client_receipt(db, "A", ReceiptStatus.DELIVERED)
    row = await outbox.get(SID, "A")
    assert row is not None
    assert (row.request, row.status) == (OutboxRequest.SENDING, OutboxStatus.DELIVERED)
    assert await outbox.mark_done("A")
    assert not await outbox.mark_done("A")

    row = await outbox.get_by_id("A")
    assert row is not None
    assert (row.request, row.status, row.sent_at) == (
        OutboxRequest.DONE,
        OutboxStatus.DELIVERED,
        SERVER_TIME,
    )
    assert row.updated_at >= SERVER_TIME
    assert [r.id for r in await outbox.page(SID, status=OutboxStatus.DELIVERED)] == ["A"]
    assert await outbox.page(SID, status=OutboxStatus.SENT) == []
    assert await outbox.counts(SID) == {OutboxStatus.DELIVERED: 1}
    assert (await SqliteMetricsRepo(db).totals()).outbox == {(SID, "delivered"): 1}
    raw = await db.fetch_all("SELECT status FROM outbox")
    assert [str(r[0]) for r in raw] == ["done"]


async def test_a_done_request_without_a_message_row_shows_sent(open_engine: OpenEngine) -> None:
    db = await open_engine()
    await SqliteSessionRepo(db).create(SID)
    outbox = SqliteOutboxRepo(db)
    await queued(db, "B", with_message=False)
    assert await outbox.mark_sending("B")
    assert await outbox.mark_done("B")
    row = await outbox.get(SID, "B")
    assert row is not None
    assert (row.request, row.status, row.sent_at) == (
        OutboxRequest.DONE,
        OutboxStatus.SENT,
        row.updated_at,
    )


async def test_a_restart_requeues_only_sends_without_a_recorded_ack(
    open_engine: OpenEngine,
) -> None:
    db = await open_engine()
    await SqliteSessionRepo(db).create(SID)
    outbox = SqliteOutboxRepo(db)
    for message_id in ("ACKED", "UNKNOWN"):
        await queued(db, message_id)
        assert await outbox.mark_sending(message_id)
    await client_acked(db, "ACKED")

    assert await outbox.requeue_interrupted() == 1
    acked = await outbox.get(SID, "ACKED")
    unknown = await outbox.get(SID, "UNKNOWN")
    assert acked is not None and unknown is not None
    # Both go back to the worker: the acked one to be recorded done, the other sent again.
    assert (acked.request, acked.status, acked.uncertain_sends) == (
        OutboxRequest.PENDING,
        OutboxStatus.SENT,
        0,
    )
    assert (unknown.request, unknown.status, unknown.uncertain_sends) == (
        OutboxRequest.PENDING,
        OutboxStatus.PENDING,
        1,
    )
    # The worker's next row (the chat's oldest open one) carries the shown status it needs.
    following = await outbox.next_open(SID)
    assert following is not None
    assert (following.id, following.status) == ("ACKED", OutboxStatus.SENT)
