"""What a send writes about itself: the row the outbox showed when it accepted the message is
completed in place, and the chat list hears of the send once more only when the server's ack
gives the message its time. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from messaging_harness import Client, phone_got

from daemon.client.message_content import Text
from daemon.client.message_events import ChatUpdated, MessageUpdated
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus


async def show_queued(client: Client, chat: str, message_id: str, text: str) -> MessageRecord:
    """What the outbox writes when it accepts a text: a pending row and the chat's preview."""
    store = client.session.messenger.store
    sid = client.session.session_id
    own = str(client.account.pn)
    at = datetime.fromtimestamp(client.session.messenger.context.now() - 3.217, UTC)
    row = await store.messages.insert(
        sid,
        MessageRecord(
            chat=chat,
            message_id=message_id,
            sender=own,
            from_me=True,
            sent_at=at,
            content_type=ContentType.TEXT,
            status=MessageStatus.PENDING,
            text=text,
        ),
    )
    assert row is not None
    await store.chats.record_message(
        sid,
        chat,
        ChatKind.USER,
        message_id=message_id,
        sender=own,
        from_me=True,
        preview=text,
        at=at,
    )
    return row


@pytest.mark.usefixtures("backend")
async def test_a_queued_send_fills_its_row_and_updates_the_chat_once_at_the_ack(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    messenger = alice_wamd.session.messenger
    sid = alice_wamd.session.session_id
    chat = str(bob.pn)
    queued = await show_queued(alice_wamd, chat, "3EB0QUEUED0001", "queued hello")
    with alice_wamd.session.events() as events:
        result = await messenger.send(
            OutgoingMessage(bob.pn, Text("queued hello"), "3EB0QUEUED0001")
        )
        published = events.pending()
    await phone_got(sandbox, bob, lambda m: m.id == result.message_id)

    stored = await messenger.store.messages.get(
        sid, chat, str(alice_wamd.account.pn), result.message_id
    )
    assert stored is not None and stored.row_id == queued.row_id
    assert stored.payload is not None and stored.status.rank >= MessageStatus.SENT.rank
    assert stored.sent_at == datetime.fromtimestamp(result.timestamp, UTC)
    statuses = [e for e in published if isinstance(e, MessageUpdated)]
    assert [e.status for e in statuses] == [MessageStatus.SENT]
    # The accepted row already showed this text: only the ack's new time reaches the list.
    updates = [e for e in published if isinstance(e, ChatUpdated)]
    assert len(updates) == 1
    assert updates[0].chat.last_message_id == result.message_id
    assert updates[0].chat.last_message_at == stored.sent_at
    assert updates[0].chat.last_preview == "queued hello"


async def test_a_send_without_a_queued_row_shows_in_its_chat_before_it_leaves(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    with alice_wamd.session.events() as events:
        result = await alice_wamd.session.messenger.send(OutgoingMessage(bob.pn, Text("direct")))
        published = events.pending()
    await phone_got(sandbox, bob, lambda m: m.id == result.message_id)
    updates = [e for e in published if isinstance(e, ChatUpdated)]
    assert len(updates) == 2  # the new row, then its time from the ack
    assert all(e.chat.last_message_id == result.message_id for e in updates)
