"""One message, one lifecycle: the outbox row holds the request (pending, sending, done,
failed); a sent message's status and the server's time live in its message row only, written
in the client's transaction, and every reader of an outbox entry sees that row's status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from daemon_fakes import fast_config

from daemon.client import message_events as me
from daemon.eventlog import EventLog, EventLogSink
from daemon.message_sender import QueuedMessage, ServerAck
from daemon.outbox import Outbox, describe, parse_send_request
from storage.db import Database, Synchronous
from storage.message_values import MessageStatus, ReceiptStatus
from storage.outbox_values import OutboxRequest, OutboxRow, OutboxStatus
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.stores import SqliteStores
from storage.stores import Stores

SID = "s1"
OWN = "15550009999"
FRIEND = "15550001111"
FRIEND_DEVICE = "15550001111:1@s.whatsapp.net"
SERVER_TIME = 1_700_000_000
TIMEOUT = 5.0


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "wamd.db", synchronous=Synchronous.NORMAL)
    await SqliteSessionRepo(opened).create(SID)
    yield opened
    await opened.close()


@dataclass
class ClientLikeSender:
    """Writes what the client's messenger writes after the server's ack, in one transaction:
    the message row becomes ``sent`` at the server's time. ``connected`` False holds sends."""

    stores: Stores
    connected: bool = True
    sent: list[str] = field(default_factory=list)

    def is_connected(self, session_id: str) -> bool:
        return self.connected

    async def send(self, message: QueuedMessage) -> ServerAck:
        self.sent.append(message.id)
        await client_records_sent(self.stores, message.id)
        return ServerAck(server_timestamp=SERVER_TIME)


async def client_records_sent(stores: Stores, message_id: str) -> None:
    messages = stores.messages.messages
    async with stores.transaction():
        await messages.set_own_sent_at(SID, message_id, datetime.fromtimestamp(SERVER_TIME, UTC))
        await messages.advance_own(SID, message_id, MessageStatus.SENT)


async def client_records_receipt(stores: Stores, message_id: str, status: ReceiptStatus) -> None:
    """What the receipt handler writes, in the client's one transaction."""
    at = datetime.fromtimestamp(SERVER_TIME + 5, UTC)
    async with stores.transaction():
        await stores.messages.receipts.record(SID, message_id, FRIEND_DEVICE, status, at)
        await stores.messages.messages.advance_own(SID, message_id, status.message_status)


def new_outbox(stores: Stores, sender: ClientLikeSender, tmp_path: Path) -> Outbox:
    return Outbox(
        stores, EventLog(stores), sender, fast_config(tmp_path).outbox, own_user=lambda _s: OWN
    )


async def accept(outbox: Outbox, text: str = "hi") -> str:
    accepted = await outbox.accept(SID, parse_send_request({"to": FRIEND, "text": text}), None)
    return accepted.row.id


async def entry(stores: Stores, message_id: str) -> OutboxRow:
    row = await stores.outbox.get(SID, message_id)
    assert row is not None
    return row


async def message_status(stores: Stores, message_id: str) -> MessageStatus:
    found = await stores.messages.messages.find_own(SID, message_id)
    assert found is not None
    return found.status


async def raw_request_states(db: Database) -> set[str]:
    return {str(row[0]) for row in await db.fetch_all("SELECT status FROM outbox")}


async def wait_for_request(stores: Stores, message_id: str, state: OutboxRequest) -> None:
    async with asyncio.timeout(TIMEOUT):
        while (await entry(stores, message_id)).request is not state:
            await asyncio.sleep(0.01)


async def test_a_receipt_before_the_done_commit_keeps_the_higher_status(
    db: Database, tmp_path: Path
) -> None:
    stores = SqliteStores(db)
    outbox = new_outbox(stores, ClientLikeSender(stores, connected=False), tmp_path)
    message_id = await accept(outbox)
    # The test plays the client and the outbox from here: a worker looking at the row after
    # the client's "sent" would record it done already.
    await outbox.stop(1.0)
    assert (await entry(stores, message_id)).status is OutboxStatus.PENDING
    assert await stores.outbox.mark_sending(message_id)
    # The client commits "sent" with the ack, and the recipient's delivery receipt commits
    # before the outbox gets to record that the request is done.
    await client_records_sent(stores, message_id)
    await client_records_receipt(stores, message_id, ReceiptStatus.DELIVERED)
    row = await entry(stores, message_id)
    assert (row.request, row.status) == (OutboxRequest.SENDING, OutboxStatus.DELIVERED)
    assert await stores.outbox.mark_done(message_id)
    # A late "sent" (a repeated ack) does not move the message back.
    assert await stores.messages.messages.advance_own(SID, message_id, MessageStatus.SENT) == []

    row = await entry(stores, message_id)
    assert (row.request, row.status) == (OutboxRequest.DONE, OutboxStatus.DELIVERED)
    assert await message_status(stores, message_id) is MessageStatus.DELIVERED
    assert row.sent_at == datetime.fromtimestamp(SERVER_TIME, UTC)
    shown = describe(row)
    assert shown["status"] == "delivered" and shown["nextAttemptAt"] is None
    assert await stores.outbox.counts(SID) == {OutboxStatus.DELIVERED: 1}
    page = await stores.outbox.page(SID, status=OutboxStatus.DELIVERED)
    assert [r.id for r in page] == [message_id]
    assert await stores.outbox.page(SID, status=OutboxStatus.SENT) == []
    totals = await stores.metrics.totals()
    assert totals.outbox == {(SID, "delivered"): 1}
    await outbox.stop(1.0)


async def test_only_the_message_row_holds_delivered_and_read(db: Database, tmp_path: Path) -> None:
    stores = SqliteStores(db)
    outbox = new_outbox(stores, ClientLikeSender(stores), tmp_path)
    await outbox.start()
    message_id = await accept(outbox)
    await wait_for_request(stores, message_id, OutboxRequest.DONE)
    assert (await entry(stores, message_id)).status is OutboxStatus.SENT
    # The daemon's sink records the client's status events; it leaves the outbox row alone.
    sink = EventLogSink(EventLog(stores), stores)
    before = await db.fetch_one("SELECT updated_at FROM outbox WHERE id = ?", (message_id,))
    for status in (ReceiptStatus.DELIVERED, ReceiptStatus.READ):
        await client_records_receipt(stores, message_id, status)
        async with stores.transaction():
            update = me.MessageUpdated(
                SID,
                f"{FRIEND}@s.whatsapp.net",
                message_id,
                f"{OWN}@s.whatsapp.net",
                me.UpdateKind.STATUS,
                status=status.message_status,
            )
            await sink.record(SID, [update])
    after = await db.fetch_one("SELECT updated_at FROM outbox WHERE id = ?", (message_id,))
    assert before == after
    assert await raw_request_states(db) == {"done"}
    columns = {str(row[1]) for row in await db.fetch_all("PRAGMA table_info(outbox)")}
    assert not columns & {"sent_at", "server_timestamp"}
    assert (await entry(stores, message_id)).status is OutboxStatus.READ
    assert await message_status(stores, message_id) is MessageStatus.READ
    await outbox.stop(1.0)


async def test_a_crash_between_sent_and_a_receipt_loses_nothing(
    db: Database, tmp_path: Path
) -> None:
    stores = SqliteStores(db)
    first = new_outbox(stores, ClientLikeSender(stores, connected=False), tmp_path)
    message_id = await accept(first)
    uncertain_id = await accept(first, "second")
    await first.stop(1.0)
    # What a process killed after the client's "sent" commit and before the outbox's
    # "done" leaves behind: the request still sending, the message row sent. (The second
    # message was killed mid-send, before the server's ack.)
    assert await stores.outbox.mark_sending(message_id)
    await client_records_sent(stores, message_id)
    assert await stores.outbox.mark_sending(uncertain_id)
    assert (await entry(stores, message_id)).status is OutboxStatus.SENT
    # The receipt arrives while no process runs the outbox; the client records it.
    await client_records_receipt(stores, message_id, ReceiptStatus.READ)

    sender = ClientLikeSender(stores)
    second = new_outbox(stores, sender, tmp_path)
    await second.start()
    await wait_for_request(stores, uncertain_id, OutboxRequest.DONE)
    row = await entry(stores, message_id)
    # The server had it: done without a second send, and nothing of its lifecycle lost.
    assert (row.request, row.status, row.uncertain_sends) == (
        OutboxRequest.DONE,
        OutboxStatus.READ,
        0,
    )
    assert row.sent_at == datetime.fromtimestamp(SERVER_TIME, UTC)
    assert await message_status(stores, message_id) is MessageStatus.READ
    # The one whose outcome was unknown goes again under its id.
    assert sender.sent == [uncertain_id]
    uncertain = await entry(stores, uncertain_id)
    assert (uncertain.status, uncertain.uncertain_sends) == (OutboxStatus.SENT, 1)
    await second.stop(1.0)


async def test_a_refused_request_shows_failed_in_both_views(db: Database, tmp_path: Path) -> None:
    stores = SqliteStores(db)
    outbox = new_outbox(stores, ClientLikeSender(stores, connected=False), tmp_path)
    message_id = await accept(outbox)
    assert await stores.outbox.mark_sending(message_id)
    async with stores.transaction():
        assert await stores.outbox.mark_failed(message_id, "bad recipient")
        await stores.messages.messages.fail_own(SID, message_id)
    row = await entry(stores, message_id)
    assert (row.request, row.status, row.sent_at) == (
        OutboxRequest.FAILED,
        OutboxStatus.FAILED,
        None,
    )
    assert await message_status(stores, message_id) is MessageStatus.FAILED
    await outbox.stop(1.0)
