"""The sender side of retry receipts, between two wamd accounts: a recipient that cannot decrypt
our message gets it again, even when its retry receipt reaches us after a restart; stale and
excessive requests are refused; an identity change drops the old sessions."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from messaging_harness import Client, open_session, phone_got
from sandbox_clients import next_event, phone

from daemon.binary import JID, Node
from daemon.client.events import Connected
from daemon.client.media_message import MediaKind, OutgoingMedia
from daemon.client.message_content import Text
from daemon.client.message_events import MessageReceived, Undecryptable
from daemon.client.send import OutgoingMessage
from daemon.signal.address import ProtocolAddress
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.faults import Direction, StanzaAction


def _device(client: Client) -> JID:
    credentials = client.session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    return JID.parse(credentials.pn_jid)


async def _exchange(alice_wamd: Client, bob_wamd: Client, bob: Account) -> None:
    """Sessions both ways between the two wamd devices (and the phones)."""
    with bob_wamd.session.events() as bob_events:
        sent = await alice_wamd.session.send(OutgoingMessage(bob.pn, Text("warm-up")))
        await next_event(
            bob_events, MessageReceived, lambda e: e.message.message_id == sent.message_id
        )
    with alice_wamd.session.events() as alice_events:
        back = await bob_wamd.session.send(OutgoingMessage(alice_wamd.jid, Text("back")))
        await next_event(
            alice_events, MessageReceived, lambda e: e.message.message_id == back.message_id
        )


async def test_retry_receipt_answered_after_a_restart(
    sandbox: SandboxServer,
    alice_wamd: Client,
    bob_wamd: Client,
    bob: Account,
    tmp_path: Path,
) -> None:
    await _exchange(alice_wamd, bob_wamd, bob)
    # Bob's wamd loses its session with Alice's wamd, and goes offline.
    bob_store = bob_wamd.session.messenger.context.session.store
    alice_lid = alice_wamd.account.lid_device(_device(alice_wamd).device)
    assert await bob_store.signal_sessions.delete(
        bob_wamd.session.session_id, str(ProtocolAddress.from_jid(alice_lid))
    )
    await bob_wamd.session.disconnect()

    # Alice sends (Bob's wamd gets it queued), then Alice's process "restarts".
    sent = await alice_wamd.session.send(OutgoingMessage(bob.pn, Text("can you read this?")))
    await alice_wamd.close()

    # Bob comes back, cannot decrypt, asks for a retry: queued for Alice, who is away.
    with bob_wamd.session.events() as bob_events:
        await bob_wamd.session.connect()
        waiting = await next_event(
            bob_events, Undecryptable, lambda e: e.message_id == sent.message_id
        )
        assert waiting.retries == 1

        # Alice is back (a new Session over the same database) and answers from the plaintext
        # she kept; Bob's wamd reads the message.
        session, db = await open_session(sandbox, tmp_path / "alice.db")
        restarted = Client(session, db, alice_wamd.account)
        try:
            with session.events() as alice_events:
                await session.connect()
                await next_event(alice_events, Connected)
            recovered = await next_event(
                bob_events,
                MessageReceived,
                lambda e: e.message.message_id == sent.message_id,
                timeout=20,
            )
            assert recovered.recovered and recovered.message.text == "can you read this?"
            assert session.messenger.retries_answered == 1
        finally:
            await restarted.close()


async def test_excessive_unknown_and_stale_retries_are_refused(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    session = alice_wamd.session
    sent = await session.send(OutgoingMessage(bob.pn, Text("hello")))
    await phone_got(sandbox, bob, lambda m: m.id == sent.message_id)
    alice_device = _device(alice_wamd)

    def retry(message_id: str, count: int) -> Node:
        return Node(
            "receipt",
            {"id": message_id, "from": bob.pn_device(0), "type": "retry", "t": "1"},
            [
                Node("retry", {"count": str(count), "id": message_id, "t": "1", "v": "1"}),
                Node("registration", {}, bob.registration_id.to_bytes(4, "big")),
            ],
        )

    async def answered_after(node: Node) -> int:
        before = session.messenger.retries_answered
        await sandbox.network.deliver(alice_device, node)
        await asyncio.sleep(0.3)
        return session.messenger.retries_answered - before

    assert await answered_after(retry(sent.message_id, 1)) == 1
    assert await answered_after(retry(sent.message_id, 6)) == 0  # more than five: refused
    assert await answered_after(retry("3EB0NEVERSENTNEVERSENT", 1)) == 0
    context = session.messenger.context
    context.options = dataclasses.replace(context.options, plaintext_window=0.0)
    assert await answered_after(retry(sent.message_id, 2)) == 0  # stale
    # The phone read the one answer we gave (the same message, encrypted again).
    copies = [m for m in phone(sandbox, bob).messages_received if m.id == sent.message_id]
    assert copies and all(m.text == "hello" for m in copies)


async def test_identity_change_drops_the_sessions(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    session = alice_wamd.session
    store = session.messenger.context.session.store
    sid = session.session_id
    with session.events() as events:
        first = await phone(sandbox, bob).send_text(alice_wamd.jid, "before")
        await next_event(events, MessageReceived, lambda e: e.message.message_id == first)
    address = str(ProtocolAddress.from_jid(bob.lid_device(0)))
    assert await store.signal_sessions.load(sid, address) is not None
    notice = Node(
        "notification",
        {"from": bob.pn, "type": "encrypt", "id": "n1", "t": "1"},
        [Node("identity")],
    )
    await sandbox.network.deliver(_device(alice_wamd), notice)
    async with asyncio.timeout(5):
        while await store.signal_sessions.load(sid, address) is not None:
            await asyncio.sleep(0.02)
    # The next send starts over from a fresh bundle, and the phone reads it.
    sent = await session.send(OutgoingMessage(bob.pn, Text("after")))
    seen = await phone_got(sandbox, bob, lambda m: m.id == sent.message_id)
    assert seen.text == "after"


async def test_a_retry_receipt_is_acked_only_after_it_was_answered(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """Answering a second retry needs a fresh prekey bundle (an iq); while that iq is held up,
    the receipt is still the server's to deliver again; once answered, it is acked."""
    session = alice_wamd.session
    sent = await session.send(OutgoingMessage(bob.pn, Text("again please")))
    await phone_got(sandbox, bob, lambda m: m.id == sent.message_id)
    alice_device = _device(alice_wamd)
    sandbox.network.faults.add_rule(
        Direction.FROM_DEVICE, StanzaAction.DELAY, device=alice_device, tag="iq", delay=1.0, count=1
    )
    receipt = Node(
        "receipt",
        {"id": sent.message_id, "from": bob.pn_device(0), "type": "retry", "t": "1"},
        [
            Node("retry", {"count": "2", "id": sent.message_id, "t": "1", "v": "1"}),
            Node("registration", {}, bob.registration_id.to_bytes(4, "big")),
        ],
    )

    async def receipt_pending() -> bool:
        pending = await sandbox.network.offline.pending(alice_device)
        return any(n.tag == "receipt" and n.attr_str("id") == sent.message_id for n in pending)

    await sandbox.network.deliver(alice_device, receipt)
    await asyncio.sleep(0.5)  # well inside the held-up iq
    assert await receipt_pending() and session.messenger.retries_answered == 0
    async with asyncio.timeout(10):
        while await receipt_pending():
            await asyncio.sleep(0.05)
    assert session.messenger.retries_answered == 1


async def test_a_media_message_sent_again_for_a_retry_keeps_its_enc_mediatype(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """whatsmeow's retry handler sets the enc's ``mediatype`` as the first send did: Bob's
    phone cannot read the first copy, asks again, and reads the answer, an image enc."""
    photo = b"\x89PNG\r\n\x1a\n sent again on request " * 200
    session = alice_wamd.session
    first = await session.send(OutgoingMessage(bob.pn, Text("a session first")))
    await phone_got(sandbox, bob, lambda m: m.id == first.message_id)
    faults = sandbox.network.faults
    faults.add_rule(
        Direction.TO_DEVICE,
        StanzaAction.CORRUPT,
        device=bob.pn_device(0),
        tag="message",
        source=alice_wamd.jid,
        source_alias=alice_wamd.account.lid,
        count=1,
    )
    try:
        sent = await session.send_media(
            bob.pn, OutgoingMedia(MediaKind.IMAGE, "image/png", data=photo)
        )
        got = await phone_got(sandbox, bob, lambda m: m.id == sent.result.message_id)
    finally:
        faults.clear_rules()
    assert session.messenger.retries_answered == 1
    assert got.kind == "media" and got.enc_media_type == "image"
