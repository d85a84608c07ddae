"""Sending: one message to a user or a group, returning once the server acked it.

1:1 (protocol-inventory §7.4): the device lists of the peer and of our own account (usync,
cached), prekey bundles for devices we have no session with, then one ``enc`` per device —
our own other devices get the ``deviceSentMessage`` copy so they show what we sent.

Groups (§7.5): the member devices, our sender key for the group (made on first use), one
``skmsg`` for everyone, and the sender key distribution (pairwise ``pkmsg``/``msg``) only to the
devices that do not hold our current key yet (the sender-key memory).

Ordering is what makes a send safe to repeat: the ratchet steps, the message row (``pending``),
the plaintext kept for retry receipts and the sender-key memory are committed in one
transaction *before* the stanza leaves; after the server's ack the row becomes ``sent``. A send
that times out leaves ``pending`` behind and raises :class:`SendTimeout`: the caller (the
outbox) sends the same message id again, and recipients drop the repeat by its key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from daemon.binary import JID, Node
from daemon.binary.node import AttrValue
from daemon.client.connection import Connection
from daemon.client.device_sessions import DeviceSessions, enc_node
from daemon.client.devices import participant_list_hash
from daemon.client.errors import IqTimeout
from daemon.client.group_manager import GroupManager
from daemon.client.ids import new_message_id
from daemon.client.message_content import (
    Content,
    Edit,
    Reply,
    Revoke,
    Summary,
    TargetRef,
    build_message,
    device_sent_bytes,
    preview,
    sender_key_distribution,
    shows_in_chat_list,
    stored_preview,
    target_of,
)
from daemon.client.message_context import MessagingContext
from daemon.client.message_effects import apply_effects
from daemon.client.message_events import (
    ChatUpdated,
    MessageUpdated,
    MessagingEvent,
    UpdateKind,
)
from daemon.client.message_kind import MessageKind, classify
from daemon.client.messaging_errors import (
    NewChatsRestricted,
    NoRecipientDevices,
    SendRefused,
    SendTimeout,
    TargetNotFound,
)
from daemon.client.privacy import PrivacyTokens
from daemon.client.privacy_tokens import NACK_NO_PRIVACY_TOKEN
from daemon.client.server_acks import ServerAck
from daemon.client.signal_stage import StagedSignalStore
from daemon.signal.cipher import GroupCipher, SessionCipher
from daemon.signal.padding import pad
from daemon.signal.session import EncType
from daemon.wire.errors import WireError
from storage.message_values import (
    ChatKind,
    MessageRecord,
    MessageStatus,
    OutgoingPlaintext,
)
from waproto import wa_e2e_pb2


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    to: JID
    """A user (phone-number JID or LID) or a group; not a device."""
    content: Content
    message_id: str | None = None
    """Set it when repeating an attempt (the outbox does), so recipients recognise the repeat;
    None draws a new id in WhatsApp's format."""
    on_written: Callable[[], None] | None = None
    """Called once the stanza is written to the connection, before the server's ack (the
    outbox starts the chat's next message then: frames leave one connection in order)."""
    stage: Callable[[], Awaitable[None]] | None = None
    """Awaited inside the transaction that commits the message's ratchet step and rows before
    the stanza is written (the outbox records its attempt there: one commit for both)."""
    acked: Callable[[], Awaitable[None]] | None = None
    """Awaited inside the transaction that records the server's ack (the outbox records its
    request done there: one commit for both)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    chat: str
    timestamp: int
    """The server's time from its ack (unix seconds)."""
    devices: int
    """Devices the message was encrypted for (ours included)."""


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """The message being sent, serialized and classified once for every step that needs it."""

    message: wa_e2e_pb2.Message
    body: bytes
    """``message`` serialized: the plaintext of every device but ours, and the stored payload."""
    kind: MessageKind


@dataclass(frozen=True, slots=True)
class _Prepared:
    node: Node
    chat: JID
    devices: int
    peer: JID | None = None
    """The contact of a 1:1 message (as addressed), for privacy tokens."""
    phash: str | None = None
    """Our participant-list hash of every device the message is meant for (ours too)."""
    accounts: tuple[JID, ...] = ()
    """Whose cached device lists a mismatching ``phash`` in the server's ack drops."""


def build_message_node(
    message_id: str,
    to: JID,
    message_type: str,
    *,
    fanout: dict[JID, Node] | None = None,
    content: Sequence[Node] = (),
    device_identity: bytes | None = None,
    extra: dict[str, AttrValue] | None = None,
) -> Node:
    """``message(id, to, type, ...) > [participants > to(jid) > enc]*, content...,
    device-identity?`` — the identity goes along whenever a ``pkmsg`` does."""
    children: list[Node] = []
    if fanout:
        children.append(
            Node("participants", {}, [Node("to", {"jid": d}, [enc]) for d, enc in fanout.items()])
        )
    children.extend(content)
    encs = [*(fanout or {}).values(), *content]
    if device_identity is not None and any(e.attr_str("type") == "pkmsg" for e in encs):
        children.append(Node("device-identity", {}, device_identity))
    attrs: dict[str, AttrValue] = {"id": message_id, "to": to, "type": message_type}
    attrs.update(extra or {})
    return Node("message", attrs, children)


class Sender:
    def __init__(self, m: MessagingContext, groups: GroupManager) -> None:
        self._m = m
        self._groups = groups
        self.privacy = PrivacyTokens(m)
        self.device_sessions = DeviceSessions(m)
        """Where a message goes and our Signal sessions there (the messenger shares it with
        peer messages and retry resends)."""
        self._shown_later: set[str] = set()
        """Chats whose last message was, at the latest ack, a later one than the message acked
        (sends in flight): see :meth:`_after_ack`."""
        self._awaiting_acks = 0
        """Sends of this session written to the server and not acked yet."""

    # ------------------------------------------------------------------------------- public

    async def send(self, out: OutgoingMessage) -> SendResult:
        m = self._m
        connection = m.require_connection()
        addressing = m.addressing
        to = out.to
        if to.is_ad:
            raise ValueError(f"send to an account or a group, not to the device {to}")
        chat = to if to.is_group else addressing.account(to)
        message_id = out.message_id or new_message_id(addressing.own_pn.user, m.now())
        if not to.is_group and not addressing.is_own(to):
            await self._check_restrictions(to, message_id)
        target = await self._target(chat, out.content)
        message = build_message(out.content, target, int(m.now() * 1000))
        outgoing = _Outgoing(message, message.SerializeToString(), classify(message))
        try:
            if to.is_group:
                prepared = await self._prepare_group(
                    connection, to, message_id, outgoing, out.stage
                )
            else:
                prepared = await self._prepare_direct(
                    connection, to, chat, message_id, outgoing, out.stage
                )
        except IqTimeout as exc:
            # A device list, a prekey fetch or group metadata got no answer: nothing was sent.
            raise SendTimeout(message_id, str(exc)) from None
        except (ConnectionError, WireError) as exc:
            # The socket went away between two steps (the sender saw it before the reader):
            # a connection loss like any other, retried with the same id after the reconnect.
            raise SendTimeout(message_id, f"connection lost: {exc}") from None
        self._awaiting_acks += 1
        try:
            ack = await self._dispatch(connection, prepared.node, message_id, out.on_written)
        except SendRefused as exc:
            await self._refused(prepared.chat, message_id)
            if exc.code == NACK_NO_PRIVACY_TOKEN and prepared.peer is not None:
                # Recovery as the service expects: issue our token, never resend blindly.
                connection.spawn(self._recover(connection, prepared.peer))
            raise
        finally:
            self._awaiting_acks -= 1
        timestamp = ack.timestamp if ack.timestamp is not None else int(m.now())
        self._check_phash(prepared, ack)
        await self._after_ack(
            prepared.chat, message_id, outgoing.kind.summary, timestamp, out.acked
        )
        if prepared.peer is not None:
            self.privacy.after_send(connection, prepared.peer)
        # Debug: the outbox logs each send it makes (``outbox.sent``); a line per message is
        # a write to the log pipe per message, worth it once, not twice.
        m.log.debug(
            "client.message_sent", id=message_id, devices=prepared.devices, group=to.is_group
        )
        return SendResult(message_id, str(prepared.chat), timestamp, prepared.devices)

    async def _target(self, chat: JID, content: Content) -> TargetRef | None:
        target_id = target_of(content)
        if target_id is None:
            return None
        m = self._m
        stored = await m.messages.messages.find_in_chat(m.session_id, str(chat), target_id)
        if stored is None:
            if isinstance(content, Edit | Revoke):
                raise TargetNotFound(f"no message {target_id} of ours in {chat}")
            # A reply or reaction to a message we never stored (sent before we were linked).
            return TargetRef(str(chat), target_id, False, None)
        participant = stored.sender if chat.is_group and not stored.from_me else None
        payload = stored.payload if isinstance(content, Reply) else None
        return TargetRef(str(chat), target_id, stored.from_me, participant, payload)

    async def _check_restrictions(self, to: JID, message_id: str) -> None:
        """A time-lock or message cap covers new chats only: a contact that gave us a privacy
        token is an established chat and is written to as usual."""
        m = self._m
        blocking = m.restrictions.blocking_new_chats(m.now())
        if blocking is None or await self.privacy.has_token(to):
            return
        raise NewChatsRestricted(
            message_id,
            blocking.until,
            f"the account may not start chats now: {blocking.kind.value} ({blocking.detail})",
        )

    async def _recover(self, connection: Connection, peer: JID) -> None:
        await self.privacy.issue(connection, peer)

    # ------------------------------------------------------------------------------- 1:1

    async def _prepare_direct(
        self,
        connection: Connection,
        to: JID,
        chat: JID,
        message_id: str,
        outgoing: _Outgoing,
        stage: Callable[[], Awaitable[None]] | None = None,
    ) -> _Prepared:
        m = self._m
        addressing = m.addressing
        kind = outgoing.kind
        peer, peer_pn = await self.device_sessions.direct_address(connection, to)
        to_self = addressing.is_own(peer)
        # Our own devices under our LID in a LID chat (whatsmeow's ownID for LID DMs).
        own = addressing.own_lid if peer.is_lid and addressing.own_lid else addressing.own_pn
        devices = await self.device_sessions.devices_of(connection, [peer, own], hosted=True)
        ours = {device: addressing.is_own(device) for device in devices}
        if all(ours.values()) and not to_self:
            raise NoRecipientDevices(message_id, f"{peer} has no device to deliver to")
        bundles = await self.device_sessions.fetch_bundles(connection, devices)
        token = None if to_self else await self.privacy.token_node(peer, wait=True)
        body = outgoing.body
        own_copy = device_sent_bytes(outgoing.message, body, str(chat))
        hide, media = kind.hides_decrypt_failure, kind.media_type
        async with m.crypto_lock:
            staged = StagedSignalStore(m.signal)
            await self.device_sessions.start_sessions(staged, bundles)
            cipher = SessionCipher(staged)
            fanout: dict[JID, Node] = {}
            for device, own_device in ours.items():
                plaintext = own_copy if own_device else body
                enc = await self.device_sessions.encrypt(
                    cipher, device, plaintext, hide=hide, media_type=media
                )
                if enc is not None:
                    fanout[device] = enc
            if all(ours[d] for d in fanout) and not to_self:
                raise NoRecipientDevices(message_id, f"no session with any device of {peer}")
            extra = _edit_attrs(kind)
            if peer.is_lid and peer_pn is not None:
                extra["peer_recipient_pn"] = peer_pn
            node = build_message_node(
                message_id,
                peer,
                kind.stanza_type,
                fanout=fanout,
                content=[token] if token is not None else (),
                device_identity=m.session.require_credentials().signed_device_identity,
                extra=extra,
            )
            async with m.unit() as events:
                if stage is not None:
                    await stage()
                written = await m.signal.write(staged.changes())
                await self._persist(chat, message_id, outgoing, events)
            m.signal.settled(written)
        everyone = [*devices, own.with_device(addressing.own_device)]
        return _Prepared(
            node,
            chat,
            len(fanout),
            None if to_self else peer,
            participant_list_hash(everyone),
            (peer, own),
        )

    # ------------------------------------------------------------------------------- groups

    async def _prepare_group(
        self,
        connection: Connection,
        group: JID,
        message_id: str,
        outgoing: _Outgoing,
        stage: Callable[[], Awaitable[None]] | None = None,
    ) -> _Prepared:
        m = self._m
        addressing = m.addressing
        kind = outgoing.kind
        record = await self._groups.for_send(connection, group)
        # A LID-addressed group is sent to its members' LID devices (whatsmeow does the same).
        lid_group = record.addressing_mode == "lid"
        members = [JID.parse(p.lid if lid_group and p.lid else p.jid) for p in record.participants]
        devices = await self.device_sessions.devices_of(connection, members)
        name = addressing.own_sender_key_name(group)
        have_key = await m.signal.load_sender_key(name) is not None
        memory = await m.messages.sender_key_memory.devices(m.session_id, str(group))
        lacking = [
            d for d in devices if not have_key or str(addressing.signal_address(d)) not in memory
        ]
        bundles = await self.device_sessions.fetch_bundles(connection, lacking)
        async with m.crypto_lock:
            staged = StagedSignalStore(m.signal)
            await self.device_sessions.start_sessions(staged, bundles)
            groups = GroupCipher(staged)
            new_key = await staged.load_sender_key(name) is None
            if new_key:
                lacking = devices
            distribution = (await groups.distribution_message(name)).message
            skmsg = (await groups.encrypt(name, pad(outgoing.body))).ciphertext
            skdm = sender_key_distribution(str(group), distribution.serialized)
            skdm_body = skdm.SerializeToString()
            cipher = SessionCipher(staged)
            fanout: dict[JID, Node] = {}
            for device in lacking:
                enc = await self.device_sessions.encrypt(cipher, device, skdm_body)
                if enc is not None:
                    fanout[device] = enc
            extra = _edit_attrs(kind)
            extra["addressing_mode"] = record.addressing_mode
            own = addressing.own_lid if lid_group and addressing.own_lid else addressing.own_pn
            # Hosted (Cloud API) devices never take part in groups.
            phash = participant_list_hash(
                [*(d for d in devices if not d.is_hosted), own.with_device(addressing.own_device)]
            )
            extra["phash"] = phash
            node = build_message_node(
                message_id,
                group,
                kind.stanza_type,
                fanout=fanout,
                content=[
                    enc_node(
                        EncType.SKMSG,
                        skmsg,
                        hide=kind.hides_decrypt_failure,
                        media_type=kind.media_type,
                    )
                ],
                device_identity=m.session.require_credentials().signed_device_identity,
                extra=extra,
            )
            async with m.unit() as events:
                if stage is not None:
                    await stage()
                written = await m.signal.write(staged.changes())
                if new_key:
                    await m.messages.sender_key_memory.clear(m.session_id, str(group))
                await m.messages.sender_key_memory.add(
                    m.session_id, str(group), [str(addressing.signal_address(d)) for d in fanout]
                )
                await self._persist(group, message_id, outgoing, events)
            m.signal.settled(written)
        return _Prepared(node, group, len(devices), phash=phash, accounts=tuple(members))

    # ------------------------------------------------------------------------------- rows

    async def _persist(
        self,
        chat: JID,
        message_id: str,
        outgoing: _Outgoing,
        events: list[MessagingEvent],
    ) -> None:
        m = self._m
        sid, now = m.session_id, m.now_dt()
        kind = outgoing.kind
        summary = kind.summary
        own = str(m.addressing.own_pn)
        payload = outgoing.body
        record = MessageRecord(
            chat=str(chat),
            message_id=message_id,
            sender=own,
            from_me=True,
            sent_at=now,
            content_type=summary.content_type,
            status=MessageStatus.PENDING,
            text=summary.text,
            quoted_id=summary.quoted_id,
            target_id=summary.target_id,
            payload=payload,
        )
        # The outbox showed the message in its chat when it accepted it: a row that already
        # shows this content is completed in place, and the chat list has nothing new to say.
        if await m.messages.messages.fill_queued_own(sid, record) is not None:
            inserted = None
        else:
            inserted = await m.messages.messages.insert_own(sid, record)
        await m.messages.outgoing.keep(
            sid,
            OutgoingPlaintext(
                message_id=message_id,
                chat=str(chat),
                message_type=kind.stanza_type,
                edit=kind.edit,
                payload=payload,
                sent_at=now,
                created_at=now,
            ),
        )
        if inserted is not None and shows_in_chat_list(summary):
            chat_row = await m.messages.chats.record_message(
                sid,
                str(chat),
                ChatKind.GROUP if chat.is_group else ChatKind.USER,
                message_id=message_id,
                sender=own,
                from_me=True,
                preview=preview(summary),
                at=now,
            )
            events.append(ChatUpdated(sid, chat_row))

    def _check_phash(self, prepared: _Prepared, ack: ServerAck) -> None:
        """The server delivered to other devices than we encrypted for: our cached lists are
        stale, the next send asks again (some devices may have missed this one)."""
        if ack.phash is None or prepared.phash is None or ack.phash == prepared.phash:
            return
        m = self._m
        for account in prepared.accounts:
            m.devices.invalidate(m.addressing.account(account))
        m.log.warning("client.device_list_stale", id=ack.message_id, chats=str(prepared.chat))

    async def _dispatch(
        self,
        connection: Connection,
        node: Node,
        message_id: str,
        on_written: Callable[[], None] | None = None,
    ) -> ServerAck:
        m = self._m
        waiter = m.acks.expect(message_id)
        try:
            await connection.send(node)
            if on_written is not None:
                on_written()
            async with asyncio.timeout(m.ack_timeout):
                ack = await waiter
        except TimeoutError:
            raise SendTimeout(message_id, f"no server ack within {m.ack_timeout:g} s") from None
        except (ConnectionError, OSError, WireError) as exc:
            raise SendTimeout(message_id, f"connection lost: {exc}") from None
        finally:
            m.acks.forget(message_id)
        if ack.error is not None:
            raise SendRefused(message_id, ack.error)
        return ack

    async def _refused(self, chat: JID, message_id: str) -> None:
        m = self._m
        own = str(m.addressing.own_pn)
        async with m.unit() as events:
            for row_chat in await m.messages.messages.fail_own(m.session_id, message_id):
                events.append(
                    MessageUpdated(
                        m.session_id,
                        row_chat,
                        message_id,
                        own,
                        UpdateKind.STATUS,
                        status=MessageStatus.FAILED,
                        at=m.now(),
                    )
                )

    async def _after_ack(
        self,
        chat: JID,
        message_id: str,
        summary: Summary,
        timestamp: int,
        acked: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        m = self._m
        sid = m.session_id
        at = datetime.fromtimestamp(timestamp, UTC)
        own = str(m.addressing.own_pn)
        # Other sends waiting for their acks will commit within milliseconds: this one rides
        # along instead of spending an fsync of its own (with 8 in flight, 2.0 commits per send
        # became 1.6). Its `sent` is still shown only once durable.
        linger = ACK_LINGER_S if self._awaiting_acks else 0.0
        async with m.unit(linger) as events:
            if acked is not None:
                await acked()
            if await m.messages.messages.mark_own_sent(sid, message_id, at):
                events.append(
                    MessageUpdated(
                        sid,
                        str(chat),
                        message_id,
                        own,
                        UpdateKind.STATUS,
                        status=MessageStatus.SENT,
                        at=float(timestamp),
                    )
                )
            await apply_effects(m, str(chat), own, summary, at, events)
            # Our row's local time became the server's: the preview follows the thread's order.
            # With sends in flight the chat shows a later message: the full refresh, which then
            # finds nothing to write in one statement, beats trying the one-statement path for
            # our message as the chat's last first (two). Either way is correct; the set only
            # picks the order (bounded: it forgets everything past _SHOWN_LATER_MAX chats).
            chats, jid = m.messages.chats, str(chat)
            shown_later = self._shown_later
            if jid in shown_later:
                refreshed = await chats.refresh_last(sid, jid, stored_preview)
            else:
                refreshed = await chats.refresh_own_last(sid, jid, message_id, at, stored_preview)
            if refreshed is not None and refreshed.last_message_id == message_id:
                shown_later.discard(jid)
            else:
                if len(shown_later) >= _SHOWN_LATER_MAX:
                    shown_later.clear()
                shown_later.add(jid)
            if refreshed is not None:
                events.append(ChatUpdated(sid, refreshed))


_SHOWN_LATER_MAX = 1024
ACK_LINGER_S: Final = 0.005
"""How long an ack's unit may wait to share another unit's commit while other sends of the
session wait for their acks (see ``Sender._after_ack``)."""


def _edit_attrs(kind: MessageKind) -> dict[str, AttrValue]:
    return {"edit": kind.edit} if kind.edit is not None else {}
