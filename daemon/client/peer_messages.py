"""Protocol messages to our own primary phone: app-state key requests, peer data operations.

Shape (protocol-inventory §7.4, whatsmeow send.go 2026-08): ``message(id, to=<own PN, no
device>, type=text, category=peer, push_priority?, privacy_sensitive?) > [meta(appdata=default),
enc, device-identity?]`` — one ``enc`` for device 0 only, no ``participants``, no
``deviceSentMessage`` wrapper. The server acks it like any message. Such a message is not a
chat message: no row is stored for it.

The Signal step follows the send path's rule: the ratchet advances in a staged store and is
committed before the stanza leaves (a crash after the commit only skips a ratchet step, which
the phone tolerates; the reverse would reuse one).
"""

from __future__ import annotations

import asyncio

from daemon.binary import Node
from daemon.binary.node import AttrValue
from daemon.client.device_sessions import DeviceSessions
from daemon.client.ids import new_message_id
from daemon.client.message_context import MessagingContext
from daemon.client.messaging_errors import SendRefused, SendTimeout
from daemon.client.send import build_message_node
from daemon.client.signal_stage import StagedSignalStore
from daemon.client.sync_errors import PeerRequestFailed
from daemon.signal.cipher import SessionCipher
from waproto import wa_e2e_pb2

PHONE_DEVICE = 0


def peer_attrs(message: wa_e2e_pb2.Message, push_priority: str | None) -> dict[str, AttrValue]:
    """The stanza attributes whatsmeow's peer messages carry (send.go, 2026-08): an on-demand
    history request is ``push_priority=high_force`` and ``privacy_sensitive=1``."""
    attrs: dict[str, AttrValue] = {"category": "peer"}
    protocol = message.protocolMessage
    on_demand = protocol.HasField("peerDataOperationRequestMessage") and (
        protocol.peerDataOperationRequestMessage.peerDataOperationRequestType
        == wa_e2e_pb2.HISTORY_SYNC_ON_DEMAND
    )
    if on_demand:
        attrs["push_priority"] = "high_force"
        attrs["privacy_sensitive"] = "1"
    elif push_priority is not None:
        attrs["push_priority"] = push_priority
    return attrs


class PeerMessages:
    def __init__(self, m: MessagingContext, sessions: DeviceSessions) -> None:
        self._m = m
        self._sessions = sessions
        self.sent = 0

    def new_id(self) -> str:
        m = self._m
        return new_message_id(m.addressing.own_pn.user, m.now())

    async def send(
        self,
        message: wa_e2e_pb2.Message,
        *,
        push_priority: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Sends ``message`` to our phone and returns its id once the server acked it.
        Raises PeerRequestFailed (no session could be made, refused, no ack)."""
        m = self._m
        connection = m.require_connection()
        addressing = await m.prepare()
        phone = addressing.own_pn.with_device(PHONE_DEVICE)
        message_id = message_id or new_message_id(addressing.own_pn.user, m.now())
        try:
            bundles = await self._sessions.fetch_bundles(connection, [phone])
        except SendTimeout as exc:
            raise PeerRequestFailed(f"no prekey bundle for our phone: {exc}") from None
        async with m.crypto_lock:
            staged = StagedSignalStore(m.signal)
            await self._sessions.start_sessions(staged, bundles)
            enc = await self._sessions.encrypt(
                SessionCipher(staged), phone, message.SerializeToString()
            )
            if enc is None:
                raise PeerRequestFailed("no Signal session with our phone could be made")
            async with m.messages.transaction():
                await m.signal.commit(staged.changes())
        node = build_message_node(
            message_id,
            addressing.own_pn,
            "text",
            content=[Node("meta", {"appdata": "default"}), enc],
            device_identity=m.session.require_credentials().signed_device_identity,
            extra=peer_attrs(message, push_priority),
        )
        waiter = m.acks.expect(message_id)
        try:
            await connection.send(node)
            async with asyncio.timeout(m.ack_timeout):
                ack = await waiter
        except TimeoutError:
            raise PeerRequestFailed(f"no server ack for peer message {message_id}") from None
        except (ConnectionError, OSError, SendTimeout) as exc:
            raise PeerRequestFailed(f"peer message {message_id}: {exc}") from None
        finally:
            m.acks.forget(message_id)
        if ack.error is not None:
            raise PeerRequestFailed(str(SendRefused(message_id, ack.error)))
        self.sent += 1
        m.log.info("client.peer_message_sent", id=message_id)
        return message_id
