"""The send path keeps its Signal sessions and privacy tokens in memory, of committed state
only: warm sends read none of them from storage, a send whose transaction rolled back leaves the
committed ratchet for the next one (the sandbox phone, a real Signal party, decrypts it), and an
identity change drops the kept sessions. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from messaging_harness import TIMEOUT, Client, phone_got

from daemon.client.message_content import Text
from daemon.client.message_events import ChatUpdated, MessagingEvent
from daemon.client.send import OutgoingMessage
from daemon.client.signal_store import AuthSignalStore
from daemon.client.sinks import NoEventSink
from daemon.signal.address import ProtocolAddress
from daemon.signal.records import deserialize_session_record
from daemon.signal.state import SessionRecord
from sandbox.app import SandboxServer
from sandbox.directory import Account


class Refused(Exception):
    """Raised inside the send's transaction: it rolls back."""


class RefusingSink(NoEventSink):
    """An event log that refuses the events of one message."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id

    async def record(self, session_id: str, events: Sequence[MessagingEvent]) -> None:
        if any(
            isinstance(e, ChatUpdated) and e.chat.last_message_id == self.message_id for e in events
        ):
            raise Refused


def signal_of(client: Client) -> AuthSignalStore:
    signal = client.session.messenger.context.signal
    assert isinstance(signal, AuthSignalStore)
    return signal


def bob_address(client: Client, bob: Account) -> ProtocolAddress:
    addressing = client.session.messenger.context.addressing
    return addressing.signal_address(bob.pn.with_device(0))


async def stored(client: Client, address: ProtocolAddress) -> SessionRecord | None:
    store = client.session.messenger.context.session.store
    data = await store.signal_sessions.load(client.session.session_id, str(address))
    return None if data is None else deserialize_session_record(data)


async def send_and_see(sandbox: SandboxServer, client: Client, bob: Account, text: str) -> None:
    result = await client.session.messenger.send(OutgoingMessage(bob.pn, Text(text)))
    await phone_got(sandbox, bob, lambda m: m.id == result.message_id and m.text == text)


@pytest.mark.usefixtures("backend")
async def test_warm_sends_read_no_session_record(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    signal = signal_of(alice_wamd)
    await send_and_see(sandbox, alice_wamd, bob, "first contact")
    # After it, our privacy token is issued to Bob in the background (a write).
    sid = alice_wamd.session.session_id
    store = alice_wamd.session.messenger.store
    async with asyncio.timeout(TIMEOUT):
        while not any(t.sender_at for t in await store.privacy.all(sid)):
            await asyncio.sleep(0.02)
    # What the first contact and the token wrote is read back once.
    await send_and_see(sandbox, alice_wamd, bob, "second")
    privacy = alice_wamd.session.messenger.context.privacy

    def storage_reads() -> tuple[int, ...]:
        caches = (signal.sessions, signal.identities, privacy.tokens, privacy.salts)
        return tuple(cache.counters.misses for cache in caches)

    reads = storage_reads()
    for n in range(3):
        await send_and_see(sandbox, alice_wamd, bob, f"warm {n}")
    assert storage_reads() == reads
    assert signal.sessions.counters.hits > 0


@pytest.mark.usefixtures("backend")
async def test_a_rolled_back_send_leaves_the_committed_ratchet(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    signal = signal_of(alice_wamd)
    await send_and_see(sandbox, alice_wamd, bob, "before")
    address = bob_address(alice_wamd, bob)
    committed = await stored(alice_wamd, address)
    assert committed is not None and await signal.load_session(address) == committed

    # The event log refuses the send's events: its transaction rolls back after the ratchet
    # step was written in it.
    messenger = alice_wamd.session.messenger
    messenger.set_sink(RefusingSink("3EB0NEVERSENT"))
    try:
        with pytest.raises(Refused):
            await messenger.send(OutgoingMessage(bob.pn, Text("never"), "3EB0NEVERSENT"))
    finally:
        messenger.set_sink(NoEventSink())
    assert await stored(alice_wamd, address) == committed
    assert await signal.load_session(address) == committed

    await send_and_see(sandbox, alice_wamd, bob, "after")
    assert await signal.load_session(address) == await stored(alice_wamd, address)


async def test_an_identity_change_drops_the_kept_sessions(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    signal = signal_of(alice_wamd)
    await send_and_see(sandbox, alice_wamd, bob, "before")
    address = bob_address(alice_wamd, bob)
    assert await signal.load_session(address) is not None

    await alice_wamd.session.messenger.on_identity_change(bob.pn)
    assert await signal.load_session(address) is None
    # The next send starts a new session from a fresh bundle, and the phone reads it.
    await send_and_see(sandbox, alice_wamd, bob, "after")
    assert await signal.load_session(address) == await stored(alice_wamd, address)
