"""Two wamd accounts and sandbox phones in one group: messages both ways, sender keys handed out
to the devices that need them, and a participant who is added then removed gets, then stops
getting, the group's messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from messaging_harness import Client, client_database, paired_client, phone_got
from sandbox_clients import next_event, phone

from daemon.binary import JID
from daemon.client.message_content import Text
from daemon.client.message_events import GroupUpdated, MessageReceived
from daemon.client.messaging_errors import NotGroupMember
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account


@pytest.fixture
async def dave(sandbox: SandboxServer) -> Account:
    return await sandbox.network.create_account("15550004444", push_name="Dave")


@pytest.fixture
async def dave_wamd(
    sandbox: SandboxServer, dave: Account, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Client]:
    client = await paired_client(sandbox, dave, await client_database(request, tmp_path, "dave"))
    yield client
    await client.close()


async def _quiet(sandbox: SandboxServer, *accounts: Account) -> None:
    """Waits until the given phones have handled everything delivered to them."""
    for account in accounts:
        await phone(sandbox, account).idle()


@pytest.mark.usefixtures("backend")
async def test_group_both_ways_and_membership_changes(
    sandbox: SandboxServer,
    alice_wamd: Client,
    bob_wamd: Client,
    dave_wamd: Client,
    alice: Account,
    bob: Account,
    dave: Account,
) -> None:
    carol = await sandbox.network.create_account("15550003333", push_name="Carol")
    alice_session, bob_session = alice_wamd.session, bob_wamd.session
    dave_session = dave_wamd.session

    with (
        bob_session.events() as bob_events,
        alice_session.events() as alice_events,
        dave_session.events() as dave_events,
    ):
        record = await alice_session.messenger.create_group("team", [bob.pn, carol.pn])
        group = JID.parse(record.jid)
        assert record.is_member and {p.jid for p in record.participants} == {
            str(alice.pn),
            str(bob.pn),
            str(carol.pn),
        }
        created = await next_event(bob_events, GroupUpdated, lambda e: e.group.jid == record.jid)
        assert created.change == "create" and created.group.subject == "team"

        # wamd → everyone: the other wamd, the phones, and our own phone.
        first = await alice_session.send(OutgoingMessage(group, Text("hello team")))
        got = await next_event(
            bob_events, MessageReceived, lambda e: e.message.message_id == first.message_id
        )
        assert got.message.chat == record.jid and got.message.sender == str(alice.pn)
        assert got.message.text == "hello team"
        for account in (carol, bob, alice):
            seen = await phone_got(sandbox, account, lambda m: m.id == first.message_id)
            assert seen.text == "hello team" and seen.chat == group

        # The other wamd → us and the phones.
        second = await bob_session.send(OutgoingMessage(group, Text("hi from bob")))
        got = await next_event(
            alice_events, MessageReceived, lambda e: e.message.message_id == second.message_id
        )
        assert got.message.sender == str(bob.pn) and got.message.text == "hi from bob"
        await phone_got(sandbox, carol, lambda m: m.id == second.message_id)

        # A phone → both wamd sessions.
        third = await phone(sandbox, carol).send_group_text(group, "carol here")
        for events in (alice_events, bob_events):
            got = await next_event(events, MessageReceived, lambda e: e.message.message_id == third)
            assert got.message.sender == str(carol.pn) and got.message.text == "carol here"

        # Our sender key went to each device once: the second message carries no distribution.
        again = await alice_session.send(OutgoingMessage(group, Text("again")))
        await next_event(
            bob_events, MessageReceived, lambda e: e.message.message_id == again.message_id
        )
        memory = await alice_session.messenger.store.sender_key_memory.devices(
            alice_session.session_id, record.jid
        )
        # Bob's phone and wamd, Carol's phone and our own phone (keyed by LID address).
        assert memory == {
            f"{bob.lid_user}_1.0",
            f"{bob.lid_user}_1.1",
            f"{carol.lid_user}_1.0",
            f"{alice.lid_user}_1.0",
        }

        # Dave is added: he gets what is sent from then on.
        added = await alice_session.messenger.add_participants(group, [dave.pn])
        assert str(dave.pn) in {p.jid for p in added.participants}
        await next_event(
            bob_events,
            GroupUpdated,
            lambda e: e.change == "add" and str(dave.pn) in e.participants,
        )
        # Dave's wamd had never heard of the group: the server sends him the whole group (a
        # <create> child, as to the first members), then the <add>.
        joined = await next_event(dave_events, GroupUpdated, lambda e: e.group.jid == record.jid)
        assert joined.group.is_member and joined.group.subject == "team"
        assert joined.change == "create"
        dave_credentials = dave_session.credentials
        assert dave_credentials is not None and dave_credentials.pn_jid is not None
        dave_device = JID.parse(dave_credentials.pn_jid)
        told = [
            n.children[0].tag
            for n in sandbox.network.delivery_log.get(dave_device, [])
            if n.tag == "notification" and n.attr_str("type") == "w:gp2"
        ]
        assert told[:2] == ["create", "add"]
        welcome = await alice_session.send(OutgoingMessage(group, Text("welcome dave")))
        seen = await phone_got(sandbox, dave, lambda m: m.id == welcome.message_id)
        assert seen.text == "welcome dave"
        from_bob = await bob_session.send(OutgoingMessage(group, Text("hello dave")))
        await phone_got(sandbox, dave, lambda m: m.id == from_bob.message_id)
        for message_id in (welcome.message_id, from_bob.message_id):
            await next_event(
                dave_events, MessageReceived, lambda e, i=message_id: e.message.message_id == i
            )
        from_dave = await dave_session.send(OutgoingMessage(group, Text("thanks, from dave")))
        got = await next_event(
            alice_events, MessageReceived, lambda e: e.message.message_id == from_dave.message_id
        )
        assert got.message.sender == str(dave.pn)

        # Dave is removed: nothing sent afterwards reaches him, from either wamd.
        removed = await alice_session.messenger.remove_participants(group, [dave.pn])
        assert str(dave.pn) not in {p.jid for p in removed.participants}
        await next_event(
            bob_events,
            GroupUpdated,
            lambda e: e.change == "remove" and str(dave.pn) in e.participants,
        )
        after = await alice_session.send(OutgoingMessage(group, Text("dave has gone")))
        after_bob = await bob_session.send(OutgoingMessage(group, Text("bye dave")))
        for message_id in (after.message_id, after_bob.message_id):
            await phone_got(sandbox, carol, lambda m, i=message_id: m.id == i)
        got = await next_event(
            bob_events, MessageReceived, lambda e: e.message.message_id == after.message_id
        )
        assert got.message.text == "dave has gone"
        await _quiet(sandbox, dave)
        dave_ids = {m.id for m in phone(sandbox, dave).messages_received}
        assert welcome.message_id in dave_ids
        assert after.message_id not in dave_ids and after_bob.message_id not in dave_ids
        # Dave's wamd saw the removal: the group is read-only for it now.
        left = await next_event(
            dave_events, GroupUpdated, lambda e: e.group.jid == record.jid and e.change == "remove"
        )
        assert not left.group.is_member
        with pytest.raises(NotGroupMember):
            await dave_session.send(OutgoingMessage(group, Text("still here?")))
        stored = await dave_session.messenger.store.messages.page(
            dave_session.session_id, record.jid, limit=20
        )
        assert after.message_id not in {m.message_id for m in stored}


async def test_group_we_left_is_read_only(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    session = alice_wamd.session
    record = await session.messenger.create_group("short-lived", [bob.pn])
    group = JID.parse(record.jid)
    await session.messenger.leave_group(group)
    stored = await session.messenger.store.groups.get(session.session_id, record.jid)
    assert stored is not None and not stored.is_member
    with pytest.raises(NotGroupMember):
        await session.send(OutgoingMessage(group, Text("anyone?")))
    # The group still reads: its metadata and chat stay.
    assert stored.subject == "short-lived"
