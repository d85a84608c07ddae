"""The phone's receipts for our messages: one receipt stanza is one unit (one
``ReceiptReceived`` for its messages, a ``MessageUpdated`` for each status that moved), and a
receipt that tells nothing new (the same read receipt again) records and says nothing. On
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from messaging_harness import TIMEOUT, Client, events_until, phone_got
from sandbox_clients import phone

from daemon.client.events import Subscription
from daemon.client.message_content import Text
from daemon.client.message_events import MessageUpdated, ReceiptReceived
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.message_values import MessageStatus, ReceiptStatus


async def status_events_until_receipt(
    events: Subscription, receipt_of: str
) -> list[MessageUpdated | ReceiptReceived]:
    """Every status and receipt event up to the receipt naming ``receipt_of``."""
    seen: list[MessageUpdated | ReceiptReceived] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            event = await events.next()
            if isinstance(event, MessageUpdated | ReceiptReceived):
                seen.append(event)
            if isinstance(event, ReceiptReceived) and receipt_of in event.message_ids:
                return seen


@pytest.mark.usefixtures("backend")
async def test_a_repeated_receipt_records_and_says_nothing(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    bob_phone = phone(sandbox, bob)
    session = alice_wamd.session
    with session.events() as events:
        ids = [
            (await session.send(OutgoingMessage(bob.pn, Text(f"m{n}")))).message_id
            for n in range(4)
        ]
        for message_id in ids:
            await phone_got(sandbox, bob, lambda m, wanted=message_id: m.id == wanted)
        delivered = await events_until(
            events,
            ReceiptReceived,
            lambda e: e.status is ReceiptStatus.DELIVERED and set(e.message_ids) <= set(ids),
            len(ids),
        )
        assert sorted(i for e in delivered for i in e.message_ids) == sorted(ids)

        await bob_phone.mark_read(alice_wamd.jid, ids[:3])
        first = await status_events_until_receipt(events, ids[0])
        assert [(type(e), e.status) for e in first] == [
            *[(MessageUpdated, MessageStatus.READ)] * 3,
            (ReceiptReceived, ReceiptStatus.READ),
        ]
        assert [e.message_id for e in first[:3] if isinstance(e, MessageUpdated)] == ids[:3]
        assert isinstance(first[3], ReceiptReceived) and first[3].message_ids == tuple(ids[:3])

        # The same receipt again, then one for the fourth message: the receipts are recorded
        # in order, and the repeat added no event before the fourth's.
        await bob_phone.mark_read(alice_wamd.jid, ids[:3])
        await bob_phone.mark_read(alice_wamd.jid, ids[3:])
        after = await status_events_until_receipt(events, ids[3])
        assert [(type(e), e.status) for e in after] == [
            (MessageUpdated, MessageStatus.READ),
            (ReceiptReceived, ReceiptStatus.READ),
        ]
        assert isinstance(after[0], MessageUpdated) and after[0].message_id == ids[3]
