"""One lifecycle per sent message, as the API shows it: the outbox entry's status, its time
and the outbox's counts and filter are the stored message's once it has gone out, so the two
views of one message never disagree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from http_rig import running_api

from daemon.event_format import iso_utc
from storage.message_values import ContentType, MessageRecord, MessageStatus, ReceiptStatus
from storage.stores import Stores

SID = "s"
OWN = "15550009999@s.whatsapp.net"
CHAT = "15550002222@s.whatsapp.net"
READER = "15550002222:1@s.whatsapp.net"
SERVER_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def client_sends_and_gets_read(stores: Stores, message_id: str) -> None:
    """What the client writes for a message that goes out and is read: the message row, its
    ``sent`` with the server's time, then the read receipt, each in one transaction."""
    messages = stores.messages.messages
    async with stores.transaction():
        await messages.insert_own(
            SID,
            MessageRecord(
                chat=CHAT,
                message_id=message_id,
                sender=OWN,
                from_me=True,
                sent_at=datetime.now(UTC),
                content_type=ContentType.TEXT,
                status=MessageStatus.PENDING,
                text="hello",
                payload=b"\x0a\x05hello",
            ),
        )
    async with stores.transaction():
        await messages.set_own_sent_at(SID, message_id, SERVER_TIME)
        await messages.advance_own(SID, message_id, MessageStatus.SENT)
    async with stores.transaction():
        await stores.messages.receipts.record(
            SID, message_id, READER, ReceiptStatus.READ, SERVER_TIME
        )
        await messages.advance_own(SID, message_id, MessageStatus.READ)


async def test_the_outbox_entry_shows_the_stored_messages_lifecycle(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        assert (await rig.call("POST", "/sessions", json_body={"id": SID})).status == 201
        sent = await rig.call(
            "POST", f"/sessions/{SID}/messages", json_body={"to": CHAT, "text": "hello"}
        )
        message_id = sent.body["id"]
        async with asyncio.timeout(5):
            while not rig.sender.sent:
                await asyncio.sleep(0.01)
        await client_sends_and_gets_read(rig.services.stores, message_id)

        detail = (await rig.call("GET", f"/sessions/{SID}/messages/{message_id}")).body
        assert detail["status"] == detail["message"]["status"] == "read"
        assert [r["status"] for r in detail["receipts"]] == ["read"]
        assert detail["sentAt"] == detail["message"]["timestamp"] == iso_utc(SERVER_TIME)
        listed = (await rig.call("GET", f"/sessions/{SID}/outbox?status=read")).body
        assert [m["id"] for m in listed["messages"]] == [message_id]
        assert listed["counts"]["read"] == 1 and listed["counts"]["sent"] == 0
        assert (await rig.call("GET", f"/sessions/{SID}/outbox?status=sent")).body["messages"] == []
