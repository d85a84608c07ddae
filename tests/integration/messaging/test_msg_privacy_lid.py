"""LID-first DMs and privacy tokens against the sandbox in enforcing mode (the 2026 service)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from messaging_harness import Client, phone_got
from sandbox_clients import next_event, phone

from daemon.client.message_content import Text
from daemon.client.message_events import MessageReceived
from daemon.client.messaging_errors import SendRefused
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.service_rules import Timelock

WAIT_S = 20.0


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not await check():
            await asyncio.sleep(0.02)


def issued(
    sandbox: SandboxServer, issuer: Account, subject: Account
) -> Callable[[], Awaitable[bool]]:
    """The service holds a token ``issuer`` gave ``subject``."""
    network = sandbox.network

    async def check() -> bool:
        return network.rules.token(issuer.phone_user, subject.phone_user, network.now()) is not None

    return check


async def salt_stored(client: Client) -> None:
    store = client.session.messenger.store

    async def stored() -> bool:
        return await store.privacy.get_salt(client.session.session_id) is not None

    await until(stored)


async def test_first_contact_by_cstoken_then_tctoken_once_the_contact_wrote(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    rules = sandbox.network.rules
    alice = alice_wamd.account
    session = alice_wamd.session
    await salt_stored(alice_wamd)  # history sync carried our NCT salt

    # Bob never wrote to Alice: her first message goes to his LID with a cstoken, and the
    # enforcing sandbox lets it through (a DM to his number would never arrive).
    first = await session.send(OutgoingMessage(bob.pn, Text("first contact")))
    got = await phone_got(sandbox, bob, lambda m: m.id == first.message_id)
    assert got.text == "first contact" and got.sender.user == alice.phone_user
    assert rules.accepted_with[(alice.phone_user, bob.phone_user)] == "cstoken"
    assert first.chat == str(bob.pn)  # the chat stays the person's, whatever the addressing
    # ... and Alice issued her own token to Bob after sending.
    await until(issued(sandbox, alice, bob))

    # Bob writes back: his phone issues a token to Alice (privacy_token notification) ...
    await phone(sandbox, bob).send_text(alice.pn, "hello alice")
    store = session.messenger.store

    async def token_kept() -> bool:
        return await session.messenger.privacy.has_token(bob.pn)

    await until(token_kept)
    # ... and from then on Alice's messages carry it as tctoken.
    second = await session.send(OutgoingMessage(bob.pn, Text("with a token")))
    await phone_got(sandbox, bob, lambda m: m.id == second.message_id)
    assert rules.accepted_with[(alice.phone_user, bob.phone_user)] == "tctoken"
    kept = await store.privacy.all(session.session_id)
    assert [t.jid for t in kept] == [str(bob.lid)]  # kept under the contact's LID


async def test_a_463_is_about_one_contact(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    network = sandbox.network
    alice = alice_wamd.account
    carl = await network.create_account("15550003333", push_name="Carl")
    session = alice_wamd.session
    await salt_stored(alice_wamd)
    await phone(sandbox, bob).send_text(alice.pn, "bob writes first")

    async def bob_token() -> bool:
        return await session.messenger.privacy.has_token(bob.pn)

    await until(bob_token)
    # Alice may not start chats now: a new contact is refused 463, Bob's chat flows on.
    network.rules.timelocks[alice.phone_user] = Timelock(True, "DEFAULT", network.now() + 600)
    with pytest.raises(SendRefused) as refused:
        await session.send(OutgoingMessage(carl.pn, Text("cold outreach")))
    assert refused.value.code == 463
    ok = await session.send(OutgoingMessage(bob.pn, Text("still talking")))
    await phone_got(sandbox, bob, lambda m: m.id == ok.message_id)
    # Recovery as the service expects: Alice issued her token to Carl; no resend.
    await until(issued(sandbox, alice, carl))
    assert all(m.text != "cold outreach" for m in phone(sandbox, carl).messages_received)


async def test_a_lid_only_conversation_becomes_the_persons_chat_once_the_number_is_known(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    network = sandbox.network
    alice = alice_wamd.account
    session = alice_wamd.session
    store = session.messenger.store
    sid = session.session_id
    bob_phone = phone(sandbox, bob)
    await salt_stored(alice_wamd)  # history sync is done: it would tell Bob's number anyway
    with session.events() as events:
        # Bob's number is hidden: his first message names only his LID.
        network.rules.hidden_numbers.add(bob.phone_user)
        first = await bob_phone.send_text(alice.pn, "who am I")
        got = await next_event(events, MessageReceived, lambda e: e.message.message_id == first)
        assert got.message.chat == str(bob.lid)
        # Then the service tells his number beside his LID: one chat, under his number.
        network.rules.hidden_numbers.discard(bob.phone_user)
        second = await bob_phone.send_text(alice.pn, "it's Bob")
        got = await next_event(events, MessageReceived, lambda e: e.message.message_id == second)
        assert got.message.chat == str(bob.pn)
    assert await store.chats.get(sid, str(bob.lid)) is None
    chat = await store.chats.get(sid, str(bob.pn))
    assert chat is not None and chat.unread_count == 2 and chat.last_message_id == second
    page = await store.messages.page(sid, str(bob.pn), limit=10)
    assert [m.message_id for m in page] == [second, first]
