"""wamd and a sandbox phone exchange 1:1 texts, replies, reactions, edits and deletes both ways;
receipts move our messages' statuses; persist-before-ack holds (the row is there before the
sandbox sees the receipt). The exchanges run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from messaging_harness import Client, events_until, phone_got
from sandbox_clients import next_event, phone

from daemon.binary import JID
from daemon.client.message_content import Edit, Reaction, Reply, Revoke, Text
from daemon.client.message_events import (
    ChatUpdated,
    MessageReceived,
    MessageUpdated,
    ReceiptReceived,
    UpdateKind,
)
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.message_values import ContentType, MessageStatus, ReceiptStatus
from waproto import wa_e2e_pb2


def _edit(chat: str, target: str, text: str) -> wa_e2e_pb2.Message:
    key = wa_e2e_pb2.MessageKey(remoteJID=chat, fromMe=True, ID=target)
    edit = wa_e2e_pb2.ProtocolMessage(
        key=key,
        type=wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT,
        editedMessage=wa_e2e_pb2.Message(conversation=text),
    )
    return wa_e2e_pb2.Message(protocolMessage=edit)


def _revoke(chat: str, target: str) -> wa_e2e_pb2.Message:
    key = wa_e2e_pb2.MessageKey(remoteJID=chat, fromMe=True, ID=target)
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(key=key, type=wa_e2e_pb2.ProtocolMessage.REVOKE)
    )


@pytest.mark.usefixtures("backend")
async def test_phone_to_wamd_every_kind(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    bob_phone = phone(sandbox, bob)
    store = alice_wamd.session.messenger.store
    sid = alice_wamd.session.session_id
    chat = str(bob.pn)
    with alice_wamd.session.events() as events:
        text_id = await bob_phone.send_text(alice_wamd.jid, "hello wamd")
        received = await next_event(
            events, MessageReceived, lambda e: e.message.message_id == text_id
        )
        assert received.message.text == "hello wamd"
        assert received.message.chat == chat and received.message.sender == chat
        assert received.message.push_name == "Bob" and not received.message.from_me
        listed = await next_event(events, ChatUpdated, lambda e: e.chat.jid == chat)
        assert listed.chat.last_preview == "hello wamd" and listed.chat.unread_count == 1
        # Persisted before the receipt went out: the phone saw our delivery receipt, and by then
        # the row was committed.
        stored = await store.messages.get(sid, chat, chat, text_id)
        assert stored is not None and stored.status is MessageStatus.RECEIVED

        reply_id = await bob_phone.send_reply(alice_wamd.jid, "a reply", text_id)
        reply = await next_event(
            events, MessageReceived, lambda e: e.message.message_id == reply_id
        )
        assert reply.message.text == "a reply" and reply.message.quoted_id == text_id

        reaction_id = await bob_phone.send_reaction(alice_wamd.jid, text_id, "👍")
        reaction = await next_event(
            events, MessageReceived, lambda e: e.message.message_id == reaction_id
        )
        assert reaction.message.content_type is ContentType.REACTION
        assert reaction.message.text == "👍" and reaction.message.target_id == text_id

        edit_id = await bob_phone.send_message(
            alice_wamd.jid, _edit(str(alice_wamd.jid), text_id, "hello, edited")
        )
        edited = await next_event(
            events,
            MessageUpdated,
            lambda e: e.kind is UpdateKind.EDITED and e.message_id == text_id,
        )
        assert edited.text == "hello, edited"
        row = await store.messages.get(sid, chat, chat, text_id)
        assert row is not None and row.text == "hello, edited" and row.edited_at is not None
        edit_row = await store.messages.get(sid, chat, chat, edit_id)
        assert edit_row is not None and edit_row.content_type is ContentType.EDIT

        await bob_phone.send_message(alice_wamd.jid, _revoke(str(alice_wamd.jid), reply_id))
        await next_event(
            events,
            MessageUpdated,
            lambda e: e.kind is UpdateKind.REVOKED and e.message_id == reply_id,
        )
        row = await store.messages.get(sid, chat, chat, reply_id)
        assert row is not None and row.revoked_at is not None and row.text is None

    # Every message delivered once, each receipted: nothing is left in our device's queue.
    credentials = alice_wamd.session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    # Receipts go out from the connection's ack pipeline: the server may take a moment to read
    # the last one after its event was published.
    async with asyncio.timeout(10):
        while await sandbox.network.offline.pending(JID.parse(credentials.pn_jid)):
            await asyncio.sleep(0.02)
    assert await store.messages.count(sid, chat) == 5


@pytest.mark.usefixtures("backend")
async def test_wamd_to_phone_every_kind_and_statuses(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    bob_phone = phone(sandbox, bob)
    session = alice_wamd.session
    store = session.messenger.store
    sid = session.session_id
    chat = str(bob.pn)
    with session.events() as events:
        sent = await session.send(OutgoingMessage(bob.pn, Text("hi bob")))
        got = await phone_got(sandbox, bob, lambda m: m.id == sent.message_id)
        assert got.kind == "text" and got.text == "hi bob"
        assert got.chat == alice_wamd.jid

        # sent (the server's ack), then delivered (the phone's receipt); the ack and the
        # receipt are handled by different tasks, and a status never moves back, so "sent" may
        # be skipped when the receipt is recorded first.
        delivered_status = await next_event(
            events,
            MessageUpdated,
            lambda e: e.message_id == sent.message_id and e.status is MessageStatus.DELIVERED,
        )
        assert delivered_status.kind is UpdateKind.STATUS
        delivered = await next_event(
            events, ReceiptReceived, lambda e: sent.message_id in e.message_ids
        )
        assert delivered.status is ReceiptStatus.DELIVERED
        assert delivered.recipient == str(bob.pn_device(0))

        await bob_phone.mark_read(alice_wamd.jid, [got.id])
        read = await next_event(
            events,
            MessageUpdated,
            lambda e: e.message_id == sent.message_id and e.status is MessageStatus.READ,
        )
        assert read.chat == chat
        receipts = await store.receipts.for_message(sid, chat, sent.message_id)
        assert [(r.recipient, r.status) for r in receipts] == [
            (str(bob.pn_device(0)), ReceiptStatus.READ)
        ]
        assert receipts[0].delivered_at is not None and receipts[0].read_at is not None

    # Reply, reaction, edit and delete for everyone, each decrypted by the phone.
    incoming = await bob_phone.send_text(alice_wamd.jid, "question?")
    reply = await session.send(OutgoingMessage(bob.pn, Reply("answer", incoming)))
    got = await phone_got(sandbox, bob, lambda m: m.id == reply.message_id)
    assert got.kind == "reply" and got.text == "answer" and got.quoted_id == incoming

    reaction = await session.send(OutgoingMessage(bob.pn, Reaction(incoming, "❤️")))
    got = await phone_got(sandbox, bob, lambda m: m.id == reaction.message_id)
    assert got.kind == "reaction" and got.text == "❤️" and got.quoted_id == incoming

    await session.send(OutgoingMessage(bob.pn, Edit(sent.message_id, "hi bob (edited)")))
    got = await phone_got(sandbox, bob, lambda m: m.kind == "edit")
    assert got.quoted_id == sent.message_id and got.text == "hi bob (edited)"
    row = await store.messages.get(sid, chat, str(alice_wamd.jid), sent.message_id)
    assert row is not None and row.text == "hi bob (edited)"

    await session.send(OutgoingMessage(bob.pn, Revoke(reply.message_id)))
    got = await phone_got(sandbox, bob, lambda m: m.kind == "revoke")
    assert got.quoted_id == reply.message_id
    row = await store.messages.get(sid, chat, str(alice_wamd.jid), reply.message_id)
    assert row is not None and row.revoked_at is not None

    # Our own phone saw everything we sent (device-sent copies), in the right chat.
    alice_phone = phone(sandbox, alice_wamd.account)
    mirrored = await phone_got(sandbox, alice_wamd.account, lambda m: m.id == sent.message_id)
    assert mirrored.chat == bob.pn and mirrored.text == "hi bob"
    assert any(m.id == reaction.message_id for m in alice_phone.messages_received)


async def test_messages_from_our_phone_and_read_receipts(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """What we send from our phone shows up as our own message; marking read tells the sender."""
    session = alice_wamd.session
    alice_phone = phone(sandbox, alice_wamd.account)
    bob_phone = phone(sandbox, bob)
    with session.events() as events:
        own = await alice_phone.send_text(bob.pn, "sent from my phone")
        mine = await next_event(events, MessageReceived, lambda e: e.message.message_id == own)
        assert mine.message.from_me and mine.message.chat == str(bob.pn)
        assert mine.message.sender == str(alice_wamd.jid)

        first = await bob_phone.send_text(alice_wamd.jid, "one")
        second = await bob_phone.send_text(alice_wamd.jid, "two")
        await events_until(
            events, MessageReceived, lambda e: e.message.message_id in (first, second), 2
        )
        assert await session.mark_read(bob.pn, [first, second]) == 2
        chat = await next_event(events, ChatUpdated, lambda e: e.chat.unread_count == 0)
        assert chat.chat.jid == str(bob.pn)

    async def read_by_alice() -> set[str]:
        return {
            message_id
            for receipt in bob_phone.receipts
            if receipt.receipt_type == "read"
            for message_id in receipt.message_ids
        }

    async with asyncio.timeout(10):
        while not {first, second} <= await read_by_alice():
            await asyncio.sleep(0.02)


async def test_lid_and_phone_number_are_one_chat(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """Addressed by LID or by phone number, a contact is one chat, one session, one person."""
    session = alice_wamd.session
    store = session.messenger.store
    sid = session.session_id
    with session.events() as events:
        by_pn = await phone(sandbox, bob).send_text(alice_wamd.jid, "via phone number")
        by_lid = await phone(sandbox, bob).send_text(alice_wamd.account.lid, "via lid")
        got = await events_until(
            events, MessageReceived, lambda e: e.message.message_id in (by_pn, by_lid), 2
        )
    assert {e.message.chat for e in got} == {str(bob.pn)}
    assert {e.message.sender for e in got} == {str(bob.pn)}
    sent = await session.send(OutgoingMessage(bob.lid, Text("to the lid")))
    assert sent.chat == str(bob.pn)
    seen = await phone_got(sandbox, bob, lambda m: m.id == sent.message_id)
    assert seen.text == "to the lid"
    contact = await store.contacts.find(sid, str(bob.lid))
    assert contact is not None and contact.pn == str(bob.pn) and contact.push_name == "Bob"
    assert await store.messages.count(sid, str(bob.lid)) == 0
