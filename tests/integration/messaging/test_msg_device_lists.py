"""A contact links a new device mid-conversation: the next message reaches it at once — by the
devices notification, or, when that was missed, by the server ack's ``phash`` (no waiting for
the device cache to expire)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from messaging_harness import Client, paired_client, phone_got
from sandbox_clients import next_event

from daemon.client.message_content import Text
from daemon.client.message_events import MessageReceived
from daemon.client.send import OutgoingMessage, SendResult
from daemon.client.session import Session
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.faults import Direction, StanzaAction

WAIT_S = 20.0


async def send_reaching(
    session: Session, laptop: Client, to: Account, text: str
) -> tuple[SendResult, MessageReceived]:
    """Sends ``text`` to ``to`` and waits for ``laptop`` (one of their devices) to get it."""
    with laptop.session.events() as events:
        sent = await session.send(OutgoingMessage(to.pn, Text(text)))
        got = await next_event(
            events, MessageReceived, lambda e: e.message.message_id == sent.message_id
        )
    return sent, got


async def bob_links_a_device(sandbox: SandboxServer, bob: Account, tmp_path: Path) -> Client:
    return await paired_client(sandbox, bob, tmp_path / "bob-laptop.db")


async def test_a_devices_notification_updates_the_cached_list(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account, tmp_path: Path
) -> None:
    session = alice_wamd.session
    first = await session.send(OutgoingMessage(bob.pn, Text("one")))
    await phone_got(sandbox, bob, lambda m: m.id == first.message_id)
    assert first.devices == 2  # Bob's phone and our own phone
    bob_laptop = await bob_links_a_device(sandbox, bob, tmp_path)
    try:
        cache = session.messenger.context.devices
        # Applied to the cached list (its hash matched), not merely dropped.
        async with asyncio.timeout(WAIT_S):
            while bob_laptop.session.credentials is None or len(cache.get(bob.pn) or ()) < 2:
                await asyncio.sleep(0.02)
        second, got = await send_reaching(session, bob_laptop, bob, "two")
        assert got.message.text == "two" and second.devices == 3
    finally:
        await bob_laptop.close()


async def test_a_missed_notification_is_caught_by_the_acks_phash(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account, tmp_path: Path
) -> None:
    session = alice_wamd.session
    alice_device = sandbox.network.directory.to_pn(
        session.messenger.context.addressing.own_pn.with_device(
            session.messenger.context.addressing.own_device
        )
    )
    first = await session.send(OutgoingMessage(bob.pn, Text("one")))
    await phone_got(sandbox, bob, lambda m: m.id == first.message_id)
    sandbox.network.faults.add_rule(
        Direction.TO_DEVICE, StanzaAction.DROP, device=alice_device, tag="notification"
    )
    bob_laptop = await bob_links_a_device(sandbox, bob, tmp_path)
    sandbox.network.faults.clear_rules()
    try:
        # Our cached list is stale: the server's ack names another device list ...
        stale = await session.send(OutgoingMessage(bob.pn, Text("stale")))
        assert stale.devices == 2
        assert session.messenger.context.devices.get(bob.pn) is None  # ... so it was dropped
        fresh, got = await send_reaching(session, bob_laptop, bob, "fresh")
        assert got.message.text == "fresh" and fresh.devices == 3
    finally:
        await bob_laptop.close()
