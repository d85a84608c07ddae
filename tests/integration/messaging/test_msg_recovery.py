"""Decrypt failures: a corrupted session with one contact is recovered by retry receipts (the
contact's messages arrive, and keep arriving); a message that can never be decrypted ends as
``undecryptable`` with an explicit event, after the right number of retry receipts."""

from __future__ import annotations

import asyncio

import pytest
from messaging_harness import Client, events_until, phone_got
from sandbox_clients import next_event, phone

from daemon.binary import JID, Node
from daemon.client.message_content import Text
from daemon.client.message_events import MessageReceived, Undecryptable, UndecryptableState
from daemon.client.send import OutgoingMessage
from daemon.signal.address import ProtocolAddress
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.message_values import ContentType, MessageStatus


async def _corrupt(client: Client, peer: Account, how: str, carol: Account | None) -> None:
    store = client.session.messenger.context.session.store
    sid = client.session.session_id
    address = str(ProtocolAddress.from_jid(peer.lid_device(0)))
    assert await store.signal_sessions.load(sid, address) is not None
    if how == "deleted":
        await store.signal_sessions.delete(sid, address)
    elif how == "garbage":
        await store.signal_sessions.store(sid, address, b"\x01\xff\x00not a record")
    else:
        assert carol is not None
        foreign = await store.signal_sessions.load(
            sid, str(ProtocolAddress.from_jid(carol.lid_device(0)))
        )
        assert foreign is not None
        await store.signal_sessions.store(sid, address, foreign)


@pytest.mark.parametrize("how", ["deleted", "garbage", "foreign"])
async def test_corrupted_session_is_recovered_by_retry_receipts(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account, how: str
) -> None:
    session = alice_wamd.session
    bob_phone = phone(sandbox, bob)
    carol = await sandbox.network.create_account("15550003333", push_name="Carol")
    with session.events() as events:
        # Sessions both ways with Bob (and with Carol, whose record plays the wrong one).
        hello = await bob_phone.send_text(alice_wamd.jid, "hello")
        await next_event(events, MessageReceived, lambda e: e.message.message_id == hello)
        sent = await session.send(OutgoingMessage(bob.pn, Text("hi")))
        await phone_got(sandbox, bob, lambda m: m.id == sent.message_id)
        carols = await phone(sandbox, carol).send_text(alice_wamd.jid, "carol")
        await next_event(events, MessageReceived, lambda e: e.message.message_id == carols)

        await _corrupt(alice_wamd, bob, how, carol)

        broken = await bob_phone.send_text(alice_wamd.jid, "after the damage")
        waiting = await next_event(events, Undecryptable, lambda e: e.message_id == broken)
        assert waiting.state is UndecryptableState.WAITING and waiting.retries == 1
        recovered = await next_event(
            events, MessageReceived, lambda e: e.message.message_id == broken
        )
        assert recovered.recovered and recovered.message.text == "after the damage"
        assert recovered.message.status is MessageStatus.RECEIVED
        assert recovered.message.retry_count >= 1

        # The new session carries on, both ways.
        later = await bob_phone.send_text(alice_wamd.jid, "and later")
        got = await next_event(events, MessageReceived, lambda e: e.message.message_id == later)
        assert not got.recovered and got.message.text == "and later"
    reply = await session.send(OutgoingMessage(bob.pn, Text("all good")))
    seen = await phone_got(sandbox, bob, lambda m: m.id == reply.message_id)
    assert seen.text == "all good"


async def test_message_that_never_decrypts_ends_undecryptable(
    sandbox: SandboxServer, alice_wamd: Client, bob_wamd: Client, bob: Account
) -> None:
    """A broken sender repeats a message nobody can decrypt: five retry receipts (from the
    second on with our keys), then ``undecryptable`` and a final event — never silence."""
    session = alice_wamd.session
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    sender = bob.pn_device(1)  # Bob's wamd: it sees the retry receipts we send
    message_id = "3EB0BADBADBADBADBADBAD"
    broken = Node(
        "message",
        {
            "id": message_id,
            "from": sender,
            "type": "text",
            "t": "1700000000",
            "notify": "Bob",
            "sender_lid": bob.lid,
        },
        [Node("enc", {"v": "2", "type": "msg"}, b"\x33" + b"\x00" * 40)],
    )
    with session.events() as events:
        for _ in range(6):
            await sandbox.network.deliver(JID.parse(credentials.pn_jid), broken)
        states = await events_until(events, Undecryptable, lambda e: e.message_id == message_id, 2)
    assert [(e.state, e.retries) for e in states] == [
        (UndecryptableState.WAITING, 1),
        (UndecryptableState.FAILED, 5),
    ]
    row = await session.messenger.store.messages.get(
        session.session_id, str(bob.pn), str(bob.pn), message_id
    )
    assert row is not None and row.status is MessageStatus.UNDECRYPTABLE
    assert row.content_type is ContentType.PLACEHOLDER and row.retry_count == 5

    def retries_seen() -> list[Node]:
        return [
            n
            for n in sandbox.network.delivery_log.get(sender, [])
            if n.tag == "receipt" and n.attr_str("type") == "retry"
        ]

    # The last retry receipt may still be on its way through the server when the event fires.
    async with asyncio.timeout(10):
        while len(retries_seen()) < 5:
            await asyncio.sleep(0.02)
    retries = retries_seen()
    assert [r.child("retry").attr_str("count") for r in retries if r.child("retry")] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    assert [r.child("keys") is not None for r in retries] == [False, True, True, True, True]
    # Bob's wamd has no plaintext for a message it never sent: it refuses to answer.
    assert bob_wamd.session.messenger.retries_answered == 0
