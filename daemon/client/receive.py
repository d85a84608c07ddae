"""Incoming messages: decrypt, persist, then acknowledge (ARCHITECTURE principle 3).

For each ``message`` stanza, under the crypto lock and in one pipelined unit (one transaction
whose commit it shares with the stanzas handled right after it):

1. a message already stored under the same (chat, sender, id) is a redelivery: it is not
   decrypted again, only receipted again (the first receipt may have been lost in a crash);
2. the ``enc`` parts are decrypted into a staged Signal store;
3. the unit writes the advanced Signal state, the message row (or fills the placeholder of
   an earlier failure), what it changes (an edit, a revoke), the chat preview and the event rows
   (through the sink);
4. only once its commit is durable the receipt goes out (a receipt is the ack of a decrypted
   message): the connection's :class:`~daemon.client.ack_pipeline.AckPipeline` sends every
   stanza's ack or receipt in arrival order, after the commit that holds it.

The reads of steps 1 and 2 happen inside the unit, so they see the units before it that are not
committed yet (the same chat's ratchet, a redelivery of a message stored a moment ago) without
forcing their commit.

A message that does not decrypt gets a placeholder row (``waiting``) and a retry receipt — with
our keys from the second try on, or at once when we hold no session at all — and is acked; the
sender encrypts it again under the same id. After ``max_retries`` it is marked
``undecryptable`` and an ``Undecryptable(failed)`` event says so: never silence. Our phone, which
decrypted its own copy, is asked for the message then, and already when the first retry has
not brought it within ``phone_request_delay`` (``daemon.client.placeholder_resend``); an
``<unavailable>`` message is asked for at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daemon.binary import JID, Node
from daemon.client.ack_pipeline import AckPipeline, Owed
from daemon.client.acks import build_ack
from daemon.client.connection import Connection
from daemon.client.decrypt import DecryptResult, Outcome, decrypt_message
from daemon.client.errors import StanzaError
from daemon.client.incoming import IncomingMessage, parse_message
from daemon.client.message_content import (
    preview,
    shows_in_chat_list,
    summarize,
)
from daemon.client.message_context import MessagingContext, PendingUnit
from daemon.client.message_effects import apply_effects
from daemon.client.message_events import (
    ChatUpdated,
    MessageReceived,
    MessagingEvent,
    Undecryptable,
    UndecryptableState,
)
from daemon.client.placeholder import MissingMessage
from daemon.client.receipts import ReceiptType, build_receipt
from daemon.client.retry import RetryKeys, build_retry_receipt, wants_keys
from daemon.client.signal_stage import StagedSignalStore
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.errors import CorruptRecordError
from daemon.signal.keys import generate_prekeys
from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus
from storage.sync_values import MessageSecret
from storage.values import PreKey as StoredPreKey
from waproto import wa_e2e_pb2

NACK_PARSE_ERROR = 487

ProtocolHook = Callable[[MessageRecord, wa_e2e_pb2.Message], Coroutine[Any, Any, None]]
"""Called after commit for a protocol message from one of our own devices (history sync
notification, app-state key share...); the message row with its payload is already stored."""
MissingHook = Callable[[MissingMessage], Coroutine[Any, Any, None]]
"""Called (in a task) for a message only our phone can give us: an ``<unavailable>`` stanza,
or one still undecryptable after the last retry (``daemon.client.placeholder_resend``)."""
_PLACEHOLDER_STATES = (MessageStatus.WAITING, MessageStatus.UNDECRYPTABLE)


@dataclass(frozen=True, slots=True)
class _Names:
    """Where an incoming message belongs, in the canonical forms we store."""

    chat: JID
    sender: JID
    from_me: bool
    address: ProtocolAddress
    sender_key: SenderKeyName | None

    @property
    def kind(self) -> ChatKind:
        return ChatKind.GROUP if self.chat.is_group else ChatKind.USER


class Receiver:
    def __init__(
        self,
        m: MessagingContext,
        connection: Connection,
        protocol_hooks: list[ProtocolHook],
        on_unknown_group: Callable[[JID], None],
        missing_hooks: list[MissingHook] | None = None,
    ) -> None:
        self._m = m
        self._connection = connection
        self._protocol_hooks = protocol_hooks
        self._on_unknown_group = on_unknown_group
        self._missing_hooks = missing_hooks if missing_hooks is not None else []
        self._push_names: dict[JID, str] = {}
        self.acks = AckPipeline(m, connection)
        self.stored = 0
        """Messages stored by this receiver (for tests and metrics)."""

    async def on_message(self, node: Node) -> None:
        m = self._m
        try:
            incoming = parse_message(node)
        except StanzaError as exc:
            m.log.warning("client.message_unreadable", error=str(exc))
            await self.acks.submit(Owed([_nack(node, NACK_PARSE_ERROR)]))
            return
        unavailable = node.child("unavailable")
        if (
            unavailable is not None
            and not incoming.encs
            and not incoming.is_broadcast
            and not incoming.source.is_newsletter
        ):
            await self._unavailable(node, incoming, unavailable.attr_str("type") or "")
            return
        if not incoming.encs or incoming.is_broadcast or incoming.source.is_newsletter:
            # Status updates, newsletters (plaintext) and "unavailable" placeholders carry
            # nothing we decrypt here.
            m.log.info(
                "client.message_skipped", id=incoming.message_id, source=str(incoming.source)
            )
            await self.acks.submit(Owed([build_ack(node)]))
            return
        started = time.perf_counter()
        replies, unit, stored, protocol = await self._process(node, incoming)
        hooks = (
            [_bind(hook, stored, protocol) for hook in self._protocol_hooks]
            if stored is not None and protocol is not None
            else []
        )
        await self.acks.submit(
            Owed(replies, unit, hooks, started=started if stored is not None else None)
        )

    async def _unavailable(self, node: Node, incoming: IncomingMessage, kind: str) -> None:
        """The server has the message for our phone only: keep a placeholder (with its event),
        ack, and ask the phone for it (whatsmeow asks at once for these)."""
        m = self._m
        names = await self._names(incoming)
        reason = f"unavailable ({kind})" if kind else "unavailable"
        async with m.crypto_lock:
            existing = await m.messages.messages.get(
                m.session_id, str(names.chat), str(names.sender), incoming.message_id
            )
            if existing is None:
                async with m.unit() as events:
                    await m.messages.messages.insert(
                        m.session_id, self._placeholder(incoming, names, 0)
                    )
                    events.append(
                        self._undecryptable(incoming, names, UndecryptableState.WAITING, 0, reason)
                    )
        m.log.info("client.message_unavailable", id=incoming.message_id, kind=kind)
        await self.acks.submit(Owed([build_ack(node)]))
        if existing is None or existing.status in _PLACEHOLDER_STATES:
            self._ask_phone(names, incoming.message_id, reason)

    async def _ask_phone_later(self, names: _Names, message_id: str) -> None:
        m = self._m
        await asyncio.sleep(m.options.phone_request_delay)
        row = await m.messages.messages.get(
            m.session_id, str(names.chat), str(names.sender), message_id
        )
        if row is not None and row.status is MessageStatus.WAITING:
            self._ask_phone(names, message_id, "still waiting for the sender")

    def _ask_phone(self, names: _Names, message_id: str, reason: str) -> None:
        missing = MissingMessage(names.chat, names.sender, names.from_me, message_id, reason)
        for hook in self._missing_hooks:
            self._connection.spawn(hook(missing))

    async def store_recovered(
        self, incoming: IncomingMessage, content: wa_e2e_pb2.Message
    ) -> MessageRecord | None:
        """Stores a message our phone sent back (placeholder resend) like a decrypted one:
        it fills the placeholder, or is new; None when we hold it already."""
        m = self._m
        names = await self._names(incoming)
        async with m.crypto_lock:
            existing = await m.messages.messages.get(
                m.session_id, str(names.chat), str(names.sender), incoming.message_id
            )
            if existing is not None and existing.status not in _PLACEHOLDER_STATES:
                return None
            async with m.unit() as events:
                stored, _ = await self._store(incoming, names, content, existing, events)
        return stored

    # ----------------------------------------------------------------------------- naming

    async def _names(self, incoming: IncomingMessage) -> _Names:
        m = self._m
        addressing = await m.prepare()
        pairs = [(incoming.sender, incoming.sender_alt)]
        if incoming.recipient is not None:
            # Our own device's copy of a LID DM names the peer's number (peer_recipient_pn).
            pairs.append((incoming.recipient, incoming.recipient_alt))
        for named, alt in pairs:
            if alt is None:
                continue
            account = named.unhosted().to_non_ad()
            pn, lid = (alt, account) if account.is_lid else (account, alt)
            if pn.is_pn and lid.is_lid and addressing.lid_of(pn) != lid:
                # Before decrypting: a session made under the phone-number address moves to
                # the LID address that this message is now decrypted with.
                await m.learn_mapping(pn, lid)
        from_me = addressing.is_own(incoming.sender)
        sender = addressing.own_pn if from_me else addressing.account(incoming.sender)
        if incoming.is_group:
            chat = incoming.chat
        elif from_me and incoming.is_peer:
            chat = addressing.own_pn
        else:
            chat = addressing.account(incoming.chat)
        m.devices.saw_device(sender, incoming.sender.device, hosted=incoming.sender.is_hosted)
        sender_key = (
            addressing.sender_key_name(incoming.chat, incoming.sender)
            if incoming.is_group
            else None
        )
        return _Names(chat, sender, from_me, addressing.signal_address(incoming.sender), sender_key)

    # ----------------------------------------------------------------------------- processing

    async def _process(
        self, node: Node, incoming: IncomingMessage
    ) -> tuple[list[Node], PendingUnit, MessageRecord | None, wa_e2e_pb2.Message | None]:
        m = self._m
        names = await self._names(incoming)
        async with m.crypto_lock, m.pipelined_unit() as unit:
            events = unit.events
            existing = await m.messages.messages.get(
                m.session_id, str(names.chat), str(names.sender), incoming.message_id
            )
            if existing is not None and existing.status not in (
                MessageStatus.WAITING,
                MessageStatus.UNDECRYPTABLE,
            ):
                m.log.debug("client.message_redelivered", id=incoming.message_id)
                # Its receipt waits for this (empty) unit: the stored copy may be in the
                # commit still open.
                return [self._receipt(incoming, names)], unit, None, None
            staged = StagedSignalStore(m.signal)
            result = await decrypt_message(incoming, staged, names.address, names.sender_key)
            await m.signal.commit(staged.changes())
            await self._remember_push_name(incoming, names)
            if result.outcome is Outcome.FAILED:
                replies = await self._failed(node, incoming, names, result, existing, events)
                return replies, unit, None, None
            stored, protocol = None, None
            if result.outcome is Outcome.OK and result.content is not None:
                stored, protocol = await self._store(
                    incoming, names, result.content, existing, events
                )
        if names.chat.is_group:
            self._on_unknown_group(names.chat)
        return [self._receipt(incoming, names)], unit, stored, protocol

    async def _remember_push_name(self, incoming: IncomingMessage, names: _Names) -> None:
        name = incoming.push_name
        if not name or names.from_me or self._push_names.get(names.sender) == name:
            return
        m = self._m
        sender = names.sender
        if sender.is_pn:
            await m.messages.contacts.learn(m.session_id, pn=str(sender), push_name=name)
        elif sender.is_lid:
            await m.messages.contacts.learn(m.session_id, lid=str(sender), push_name=name)
        self._push_names[sender] = name

    def _receipt(self, incoming: IncomingMessage, names: _Names) -> Node:
        ids = [incoming.message_id]
        if incoming.is_group:
            return build_receipt(ids, incoming.source, participant=incoming.sender)
        if incoming.is_peer:
            return build_receipt(ids, incoming.source, kind=ReceiptType.PEER)
        if names.from_me:
            recipient = incoming.recipient or names.chat
            return build_receipt(ids, incoming.source, kind=ReceiptType.SENDER, recipient=recipient)
        return build_receipt(ids, incoming.source)

    async def _store(
        self,
        incoming: IncomingMessage,
        names: _Names,
        content: wa_e2e_pb2.Message,
        existing: MessageRecord | None,
        events: list[MessagingEvent],
    ) -> tuple[MessageRecord | None, wa_e2e_pb2.Message | None]:
        m = self._m
        chat = names.chat
        if content.HasField("deviceSentMessage"):
            if not names.from_me:
                m.log.warning("client.foreign_device_sent_message", id=incoming.message_id)
                return None, None
            sent = content.deviceSentMessage
            if incoming.recipient is None and sent.destinationJID:
                chat = m.addressing.account(JID.parse(sent.destinationJID))
            content = sent.message
        summary = summarize(content)
        is_protocol = summary.content_type is ContentType.PROTOCOL
        if is_protocol and not names.from_me:
            # History, key shares and the like are only ever accepted from our own devices.
            m.log.warning("client.spoofed_protocol_message", id=incoming.message_id)
            return None, None
        at = _at(incoming.timestamp, m.now())
        record = MessageRecord(
            chat=str(chat),
            message_id=incoming.message_id,
            sender=str(names.sender),
            from_me=names.from_me,
            sent_at=at,
            content_type=summary.content_type,
            status=MessageStatus.RECEIVED,
            text=summary.text,
            quoted_id=summary.quoted_id,
            target_id=summary.target_id,
            payload=content.SerializeToString(),
            sender_device=str(incoming.sender),
            push_name=incoming.push_name,
            retry_count=existing.retry_count if existing is not None else 0,
        )
        repo = m.messages.messages
        if existing is not None:
            stored = await repo.fill_placeholder(m.session_id, record)
        else:
            stored = await repo.insert(m.session_id, record)
        if stored is None:
            return None, None
        self.stored += 1
        secret = content.messageContextInfo.messageSecret
        if secret:
            # Votes on a poll, answers to an event: readable only with the message's secret.
            found = MessageSecret(str(chat), str(names.sender), incoming.message_id, secret)
            await m.messages.secrets.put_many(m.session_id, [found])
        events.append(MessageReceived(m.session_id, stored, recovered=existing is not None))
        sid, chat_text = m.session_id, str(chat)
        await apply_effects(m, chat_text, str(names.sender), summary, at, events)
        if shows_in_chat_list(summary):
            chat_row = await m.messages.chats.record_message(
                sid,
                chat_text,
                ChatKind.GROUP if chat.is_group else ChatKind.USER,
                message_id=incoming.message_id,
                sender=str(names.sender),
                from_me=names.from_me,
                preview=preview(summary),
                at=at,
                unread=0 if names.from_me else 1,
            )
            events.append(ChatUpdated(sid, chat_row))
        return stored, (content if is_protocol else None)

    # ----------------------------------------------------------------------------- failures

    async def _failed(
        self,
        node: Node,
        incoming: IncomingMessage,
        names: _Names,
        result: DecryptResult,
        existing: MessageRecord | None,
        events: list[MessagingEvent],
    ) -> list[Node]:
        m = self._m
        sid = m.session_id
        error = result.error
        reason = f"{type(error).__name__}: {error}"
        if isinstance(error, CorruptRecordError):
            # A record we cannot read is worth nothing; without it the sender's next prekey
            # message (after our retry receipt with keys) starts a clean session.
            m.log.error("client.signal_record_corrupt", address=str(names.address), error=reason)
            await m.signal.delete_session(names.address)
            if names.sender_key is not None:
                await m.session.store.sender_keys.delete(
                    sid, names.sender_key.group_id, str(names.sender_key.sender)
                )
        count = (existing.retry_count if existing is not None else 0) + 1
        chat, sender = str(names.chat), str(names.sender)
        m.session.counters.decrypt_failures += 1
        m.log.warning(
            "client.decrypt_failed",
            id=incoming.message_id,
            sender=str(incoming.sender),
            error=reason,
            attempt=count,
        )
        if count > m.options.max_retries:
            await m.messages.messages.set_retry(
                sid, chat, sender, incoming.message_id, count - 1, MessageStatus.UNDECRYPTABLE
            )
            m.session.counters.undecryptable += 1
            events.append(
                self._undecryptable(incoming, names, UndecryptableState.FAILED, count - 1, reason)
            )
            # The sender gave up re-encrypting; our phone decrypted its own copy.
            self._ask_phone(names, incoming.message_id, "undecryptable")
            return [build_ack(node)]
        if existing is None:
            await m.messages.messages.insert(sid, self._placeholder(incoming, names, count))
            # A sender that never answers the retry receipt (offline, or broken) would leave the
            # message waiting forever: our phone is asked too, a little later (whatsmeow).
            self._connection.spawn(self._ask_phone_later(names, incoming.message_id))
            events.append(
                self._undecryptable(incoming, names, UndecryptableState.WAITING, count, reason)
            )
        else:
            await m.messages.messages.set_retry(
                sid, chat, sender, incoming.message_id, count, MessageStatus.WAITING
            )
        keys = await self._fresh_keys() if wants_keys(count, result.lacks_session) else None
        credentials = m.session.require_credentials()
        retry = build_retry_receipt(
            incoming, count=count, registration_id=credentials.keys.registration_id, keys=keys
        )
        m.session.counters.retry_receipts_sent += 1
        return [retry, build_ack(node)]

    def _placeholder(self, incoming: IncomingMessage, names: _Names, retries: int) -> MessageRecord:
        return MessageRecord(
            chat=str(names.chat),
            message_id=incoming.message_id,
            sender=str(names.sender),
            from_me=names.from_me,
            sent_at=_at(incoming.timestamp, self._m.now()),
            content_type=ContentType.PLACEHOLDER,
            status=MessageStatus.WAITING,
            sender_device=str(incoming.sender),
            push_name=incoming.push_name,
            retry_count=retries,
        )

    def _undecryptable(
        self,
        incoming: IncomingMessage,
        names: _Names,
        state: UndecryptableState,
        retries: int,
        reason: str,
    ) -> Undecryptable:
        return Undecryptable(
            self._m.session_id,
            str(names.chat),
            incoming.message_id,
            str(names.sender),
            str(incoming.sender),
            state,
            retries,
            reason,
        )

    async def _fresh_keys(self) -> RetryKeys:
        """A one-time prekey made for this retry receipt alone: stored as already uploaded, so
        it never goes to the server and no second peer can be handed it."""
        m = self._m
        store, sid = m.session.store, m.session_id
        credentials = m.session.require_credentials()
        ids = await store.credentials.allocate_prekey_ids(sid, 1)
        prekey = generate_prekeys(ids.start, 1)[0]
        await store.prekeys.add_batch(
            sid, [StoredPreKey(prekey.key_id, prekey.key_pair.private, prekey.key_pair.public)]
        )
        await store.prekeys.mark_uploaded(sid, [prekey.key_id])
        signed = credentials.keys.signed_prekey
        return RetryKeys(
            identity=credentials.keys.identity.public,
            prekey_id=prekey.key_id,
            prekey=prekey.key_pair.public,
            signed_prekey_id=signed.key_id,
            signed_prekey=signed.key_pair.public,
            signed_prekey_signature=signed.signature,
            device_identity=credentials.signed_device_identity,
        )


def _bind(
    hook: ProtocolHook, stored: MessageRecord, protocol: wa_e2e_pb2.Message
) -> Callable[[], Coroutine[Any, Any, None]]:
    return lambda: hook(stored, protocol)


def _at(timestamp: int, now: float) -> datetime:
    return datetime.fromtimestamp(timestamp if timestamp > 0 else now, UTC)


def _nack(node: Node, code: int) -> Node:
    ack = build_ack(node)
    return Node(ack.tag, {**ack.attrs, "error": str(code)}, None)
