"""What a send raises when it cannot finish, and that repeating it (as the outbox does) with the
same message id delivers the message without a second row."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from messaging_harness import Client, pair_by_qr, phone_got
from sandbox_clients import FAST, client_config, next_event, phone

from daemon.binary import JID, Node
from daemon.client.connection import NodeSocket, transport_dialer
from daemon.client.errors import NotConnected
from daemon.client.events import Connected
from daemon.client.message_content import ContentError, Edit, Text
from daemon.client.messaging_errors import SendTimeout, TargetNotFound
from daemon.client.send import OutgoingMessage
from daemon.client.session import Session, default_transport
from daemon.crypto.curve import KeyPair
from daemon.wire.errors import TransportClosed
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.faults import Direction, StanzaAction
from storage.db import Database
from storage.message_values import MessageStatus
from storage.sqlite.stores import SqliteStores


async def test_lost_ack_times_out_and_the_repeat_lands_once(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    session = alice_wamd.session
    context = session.messenger.context
    context.options = dataclasses.replace(context.options, ack_timeout=0.5)
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    message = OutgoingMessage(bob.pn, Text("are you there?"), message_id="3EB0A1B2C3D4E5F6A7B8C9")
    # Only this message's ack: acks of the login's tail (history, app state) may still be due.
    sandbox.network.faults.add_rule(
        Direction.TO_DEVICE,
        StanzaAction.DROP,
        device=JID.parse(credentials.pn_jid),
        tag="ack",
        count=1,
        stanza_id=message.message_id,
    )
    with pytest.raises(SendTimeout) as failure:
        await session.send(message)
    assert failure.value.message_id == message.message_id
    store = session.messenger.store
    row = await store.messages.find_own(session.session_id, "3EB0A1B2C3D4E5F6A7B8C9")
    # Stored before it left; only the server's ack was lost, so the phone may have receipted it.
    assert row is not None and row.status in (MessageStatus.PENDING, MessageStatus.DELIVERED)

    result = await session.send(message)
    assert result.message_id == message.message_id and result.timestamp > 0
    await phone_got(sandbox, bob, lambda m: m.id == message.message_id)
    row = await store.messages.find_own(session.session_id, "3EB0A1B2C3D4E5F6A7B8C9")
    assert row is not None and row.status.rank >= MessageStatus.SENT.rank
    assert await store.messages.count(session.session_id, str(bob.pn)) == 1
    # The phone got it twice (both attempts reached the server); it is one message by its id.
    copies = [m for m in phone(sandbox, bob).messages_received if m.id == message.message_id]
    assert {m.text for m in copies} == {"are you there?"}


async def test_refusals_before_anything_is_sent(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    session = alice_wamd.session
    with pytest.raises(TargetNotFound):
        await session.send(OutgoingMessage(bob.pn, Edit("3EB0000000000000000000", "x")))
    with pytest.raises(ValueError):
        await session.send(OutgoingMessage(bob.pn_device(2), Text("to a device")))
    with pytest.raises(ContentError):
        Text("")
    await session.disconnect()
    with pytest.raises(NotConnected):
        await session.send(OutgoingMessage(bob.pn, Text("offline")))
    # Nothing was stored for any of these.
    assert await session.messenger.store.messages.count(session.session_id, str(bob.pn)) == 0


class ClosesDuringDeviceQuery:
    """A socket that closes while the client sends its device-list query (once, when armed):
    the close is seen by the sender first, as when the peer goes away between two steps."""

    def __init__(self, inner: NodeSocket) -> None:
        self.inner = inner
        self.armed = False

    async def send_node(self, node: Node) -> None:
        if self.armed and node.tag == "iq" and node.child("usync") is not None:
            self.armed = False
            await self.inner.close()
            raise TransportClosed("websocket closed while sending")
        await self.inner.send_node(node)

    async def receive_node(self, timeout: float | None = None) -> Node:
        return await self.inner.receive_node(timeout)

    async def close(self) -> None:
        await self.inner.close()

    @property
    def closed(self) -> bool:
        return self.inner.closed


async def test_a_socket_closing_during_the_device_query_is_a_retryable_loss(
    sandbox: SandboxServer, alice: Account, bob: Account, tmp_path: Path
) -> None:
    config = client_config(sandbox)
    real = transport_dialer(default_transport(config), time.time)
    sockets: list[ClosesDuringDeviceQuery] = []

    async def dial(static: KeyPair, client_payload: Callable[[], bytes]) -> NodeSocket:
        socket = ClosesDuringDeviceQuery(await real(static, client_payload))
        sockets.append(socket)
        return socket

    db = await Database.open(tmp_path / "alice.db")
    session = await Session.open(SqliteStores(db), "main", config, options=FAST, dialer=dial)
    try:
        await pair_by_qr(sandbox, alice, session)
        with session.events() as events:
            sockets[-1].armed = True
            message = OutgoingMessage(bob.pn, Text("hello"), message_id="3EB0C1D2E3F4A5B6C7D8E9")
            with pytest.raises(SendTimeout, match="connection lost"):
                await session.send(message)
            await next_event(events, Connected)
        result = await session.send(message)
        assert result.message_id == message.message_id
        await phone_got(sandbox, bob, lambda m: m.id == message.message_id)
    finally:
        await session.close()
        await db.close()
