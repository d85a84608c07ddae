"""wamd and the unmodified npm ``baileys`` (7.0.0-rc14) as two accounts of the sandbox: 1:1
both ways with delivery statuses, and a group with wamd, Baileys and a sandbox phone where every
message decrypts on every side."""

from __future__ import annotations

from pathlib import Path

from baileys_client import BaileysClient, MessageStatus, NodeSetup
from messaging_harness import Client, phone_got
from sandbox_clients import next_event, phone

from daemon.binary import JID
from daemon.client.message_content import Reaction, Reply, Text
from daemon.client.message_events import MessageReceived, MessageUpdated
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.message_values import ContentType
from storage.message_values import MessageStatus as Status

TIMEOUT = 30.0


async def _baileys(sandbox: SandboxServer, tmp_path: Path) -> tuple[BaileysClient, JID]:
    client = BaileysClient(
        ws_url=sandbox.ws_url,
        auth_dir=tmp_path / "baileys-auth",
        root_key=sandbox.root_public_key,
        push_name="Interop Baileys",
    )
    await client.start()
    me = await client.pair(sandbox.origin, timeout=TIMEOUT)
    return client, JID.parse(me.id).to_non_ad()


async def test_wamd_and_baileys_one_to_one_and_in_a_group(
    sandbox: SandboxServer,
    alice_wamd: Client,
    bob: Account,
    baileys_node: NodeSetup,
    tmp_path: Path,
) -> None:
    session = alice_wamd.session
    baileys, baileys_jid = await _baileys(sandbox, tmp_path)
    try:
        with session.events() as events:
            # wamd → Baileys, and the delivery receipt back.
            mark = baileys.mark()
            sent = await session.send(OutgoingMessage(baileys_jid, Text("hello baileys")))
            got = await baileys.wait_text("hello baileys", TIMEOUT, since=mark)
            assert got.key.id == sent.message_id
            await next_event(
                events,
                MessageUpdated,
                lambda e: e.message_id == sent.message_id and e.status is Status.DELIVERED,
                timeout=TIMEOUT,
            )

            # Baileys → wamd, and our receipt moves its status.
            key = await baileys.send_text(str(alice_wamd.jid), "hello wamd")
            received = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == key.id, TIMEOUT
            )
            assert received.message.text == "hello wamd"
            assert received.message.chat == str(baileys_jid)
            await baileys.wait_status(key.id, MessageStatus.DELIVERY_ACK, TIMEOUT)

            # A reply and a reaction from wamd, a reply from Baileys.
            mark = baileys.mark()
            reply = await session.send(OutgoingMessage(baileys_jid, Reply("a reply", key.id)))
            quoted = await baileys.wait_text("a reply", TIMEOUT, since=mark)
            assert quoted.quoted_id == key.id and quoted.key.id == reply.message_id
            await session.send(OutgoingMessage(baileys_jid, Reaction(key.id, "👍")))
            reacted = await baileys.wait_message(
                lambda m: m.reaction is not None and m.reaction.text == "👍", TIMEOUT, since=mark
            )
            assert reacted.reaction is not None and reacted.reaction.key is not None
            assert reacted.reaction.key.id == key.id
            answer = await baileys.send_reply(sent.message_id, "quoting you")
            got_reply = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == answer.id, TIMEOUT
            )
            assert got_reply.message.quoted_id == sent.message_id

            # A group of wamd, Baileys and Bob's phone.
            record = await session.messenger.create_group("interop", [baileys_jid, bob.pn])
            group = JID.parse(record.jid)
            mark = baileys.mark()
            first = await session.send(OutgoingMessage(group, Text("group hello from wamd")))
            got = await baileys.wait_text("group hello from wamd", TIMEOUT, since=mark)
            assert got.key.remote_jid == record.jid
            seen = await phone_got(sandbox, bob, lambda m: m.id == first.message_id)
            assert seen.text == "group hello from wamd"

            from_baileys = await baileys.group_send(record.jid, "group hello from baileys")
            got_group = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == from_baileys.id, TIMEOUT
            )
            assert got_group.message.chat == record.jid
            assert got_group.message.sender == str(baileys_jid)
            assert got_group.message.text == "group hello from baileys"
            seen = await phone_got(sandbox, bob, lambda m: m.id == from_baileys.id)
            assert seen.text == "group hello from baileys"

            mark = baileys.mark()
            from_phone = await phone(sandbox, bob).send_group_text(group, "group hello from bob")
            got_phone = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == from_phone, TIMEOUT
            )
            assert got_phone.message.text == "group hello from bob"
            await baileys.wait_text("group hello from bob", TIMEOUT, since=mark)

            # A second round: keys already distributed, sessions established, still readable.
            mark = baileys.mark()
            second = await session.send(OutgoingMessage(group, Text("second round")))
            await baileys.wait_text("second round", TIMEOUT, since=mark)
            await phone_got(sandbox, bob, lambda m: m.id == second.message_id)
            again = await baileys.group_send(record.jid, "baileys again")
            await next_event(
                events, MessageReceived, lambda e: e.message.message_id == again.id, TIMEOUT
            )
        undecrypted = [
            row
            for row in await session.messenger.store.messages.page(
                session.session_id, record.jid, limit=50
            )
            if row.content_type is ContentType.PLACEHOLDER
        ]
        assert undecrypted == []
        assert baileys.errors == []
    finally:
        await baileys.close()
