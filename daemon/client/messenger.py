"""The messaging API of one session: send, mark read, groups; and the stanza handlers behind it.

::

    messenger = session.messenger
    result = await messenger.send(OutgoingMessage(JID.parse("15551234567@s.whatsapp.net"),
                                                  Text("hello")))
    await messenger.send(OutgoingMessage(chat, Reaction(result.message_id, "👍")))
    await messenger.mark_read(chat, [message_id])

Received messages, status changes and receipts arrive as events (``MessageReceived``,
``MessageUpdated``, ``ReceiptReceived``, ``Undecryptable``, ``ChatUpdated``, ``GroupUpdated``)
on the session's bus, and through the :class:`~daemon.client.sinks.EventSink` inside the
transactions that commit them.

The session installs the handlers on every new connection (:meth:`Messenger.install`), marks
the messenger ready once logged in (:meth:`Messenger.on_connected`) and detaches it when the
connection ends (:meth:`Messenger.on_disconnected`): a send without a live, logged-in
connection raises NotConnected; a send cut off by a disconnect raises SendTimeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from daemon.binary import JID, Node
from daemon.client.acks import build_ack
from daemon.client.calls import CallHandler
from daemon.client.connection import Connection
from daemon.client.contact_lookups import ContactLookups
from daemon.client.context import SessionContext
from daemon.client.device_sessions import DeviceSessions
from daemon.client.devices import parse_device_changes, parse_devices_notification
from daemon.client.group_manager import GroupManager
from daemon.client.groups import ParticipantAction
from daemon.client.lid_sync import lid_sync_mappings
from daemon.client.message_context import MessagingContext, MessagingOptions
from daemon.client.message_events import ChatUpdated, RestrictionChanged
from daemon.client.presence_service import PresenceService
from daemon.client.privacy import PrivacyTokens
from daemon.client.receipt_handler import ReceiptHandler
from daemon.client.receipts import ReceiptType, build_receipt
from daemon.client.receive import MissingHook, ProtocolHook, Receiver
from daemon.client.resend import RetryResponder
from daemon.client.restrictions import parse_mex_notification
from daemon.client.retry import RetryRequest
from daemon.client.send import OutgoingMessage, Sender, SendResult
from daemon.client.server_acks import parse_server_ack
from daemon.client.signal_store import AuthSignalStore
from daemon.client.sinks import EventSink, NoEventSink
from daemon.signal.address import ProtocolAddress
from storage.message_interfaces import MessageStore
from storage.message_values import GroupRecord, MessageRecord
from waproto import wa_e2e_pb2


class Messenger:
    def __init__(
        self,
        session: SessionContext,
        messages: MessageStore,
        *,
        sink: EventSink | None = None,
        options: MessagingOptions | None = None,
    ) -> None:
        self._m = MessagingContext(
            session,
            messages,
            AuthSignalStore(session.store, session.session_id),
            sink or NoEventSink(),
            options or MessagingOptions(),
        )
        self.groups = GroupManager(self._m)
        self.lookups = ContactLookups(self._m)
        """Number checks, profile pictures, PN ↔ LID."""
        self.presence = PresenceService(self._m)
        """Our presence, typing indicators, subscriptions; presence events."""
        self._sender = Sender(self._m, self.groups)
        self._resender = RetryResponder(self._m, self._sender.device_sessions)
        self.missing_hooks: list[MissingHook] = []
        """Called for messages only our phone can give us (placeholder resend)."""
        self.protocol_hooks: list[ProtocolHook] = [self._on_lid_sync]
        """Called after commit for protocol messages from our own devices (history sync,
        app-state keys); see ``daemon.client.receive``."""
        self.receiver: Receiver | None = None

    @property
    def context(self) -> MessagingContext:
        return self._m

    @property
    def store(self) -> MessageStore:
        return self._m.messages

    @property
    def privacy(self) -> PrivacyTokens:
        return self._sender.privacy

    @property
    def device_sessions(self) -> DeviceSessions:
        """The session's devices and Signal sessions, shared with peer messages."""
        return self._sender.device_sessions

    @property
    def retries_answered(self) -> int:
        return self._resender.answered

    def set_sink(self, sink: EventSink) -> None:
        """Where events are made durable from now on (the daemon's event log)."""
        self._m.sink = sink

    # ------------------------------------------------------------------------------ lifecycle

    def install(self, connection: Connection) -> None:
        """Registers the messaging handlers on a new connection's router."""
        m = self._m
        m.connection = connection
        m.ready = False
        m.refresh_identity()
        # What was kept in memory from an earlier connection is read afresh from storage
        # (which may have been changed while we were away) before the first stanza.
        m.signal.forget_all()
        m.privacy.forget_all()
        receiver = Receiver(
            m,
            connection,
            self.protocol_hooks,
            lambda group: self.groups.seen(connection, group),
            self.missing_hooks,
        )
        self.receiver = receiver
        receipts = ReceiptHandler(
            m, connection, lambda r, node: self._spawn_retry(connection, r, node)
        )
        router = connection.router
        router.by_tag["message"] = receiver.on_message
        router.by_tag["receipt"] = receipts.on_receipt
        router.by_tag["ack"] = self._on_ack
        calls = CallHandler(m, connection)
        router.by_tag["call"] = calls.on_call
        router.by_tag["status"] = calls.on_status
        router.notification_by_type["devices"] = lambda node: self._on_devices(connection, node)
        router.notification_by_type["privacy_token"] = lambda node: (
            self._sender.privacy.on_notification(connection, node)
        )
        router.notification_by_type["mex"] = lambda node: self._on_mex(connection, node)
        router.notification_by_type["w:gp2"] = lambda node: self.groups.on_notification(
            connection, node
        )
        self.presence.install(connection)

    async def on_connected(self) -> None:
        """Logged in: load the known PN ↔ LID mappings, prune old plaintexts, allow sends."""
        m = self._m
        m.refresh_identity()
        await m.prepare()
        window = timedelta(seconds=m.options.plaintext_window)
        pruned = await m.messages.outgoing.prune(m.session_id, m.now_dt() - window)
        if pruned:
            m.log.info("client.plaintexts_pruned", count=pruned)
        m.ready = True
        m.ready_at = m.now()
        if m.connection is not None:
            self.groups.sync_in_background(m.connection)

    def on_disconnected(self) -> None:
        m = self._m
        m.ready = False
        m.connection = None
        m.acks.fail_all(
            lambda: ConnectionResetError("the connection ended before the server's ack")
        )

    # ------------------------------------------------------------------------------ handlers

    async def _on_ack(self, node: Node) -> None:
        ack = parse_server_ack(node)
        if ack is not None:
            self._m.acks.resolve(ack.message_id, ack)

    async def _on_devices(self, connection: Connection, node: Node) -> None:
        """A contact linked or removed a device: the change is applied to the cached list
        (kept only if its hash matches the notification's), the ``lid`` beside a phone number
        is learnt; anything unreadable drops the accounts' cached lists."""
        m = self._m
        changes = parse_device_changes(node)
        for change in changes:
            if change.lid is not None and change.account.is_pn:
                await m.learn_mapping(change.account, change.lid)
        addressing = await m.prepare()
        applied = set()
        for change in changes:
            account = addressing.account(change.account)
            if account == change.account.to_non_ad():
                kept = m.devices.apply_change(
                    account, change.added, change.device_id, change.device_hash
                )
                m.log.info(
                    "client.device_list_changed",
                    added=change.added,
                    device=change.device_id,
                    cache_kept=kept,
                )
                applied.add(account)
            else:
                m.devices.invalidate(account)
        for account in parse_devices_notification(node):
            if addressing.account(account) not in applied:
                m.devices.invalidate(addressing.account(account))
        await connection.send(build_ack(node))

    async def _on_lid_sync(self, stored: MessageRecord, message: wa_e2e_pb2.Message) -> None:
        """Our phone's LID migration mapping sync: every pair is learnt (sessions moved,
        chats merged) like a mapping from any other source."""
        pairs = lid_sync_mappings(message)
        if not pairs:
            return
        m = self._m
        addressing = await m.prepare()
        fresh = [(pn, lid) for pn, lid in pairs if addressing.lid_of(pn) != lid]
        if fresh:
            async with m.crypto_lock:
                await m.store_mappings(fresh)
        m.log.info("client.lid_mappings_synced", count=len(pairs), new=len(fresh))

    async def _on_mex(self, connection: Connection, node: Node) -> None:
        """Restrictions of the account (reachout time-lock, message cap): remembered, so that
        sends they cover wait, and recorded as an alert event; then acked."""
        m = self._m
        found = parse_mex_notification(node, m.now())
        if found:
            async with m.unit() as events:
                for restriction in found:
                    m.restrictions.update(restriction)
                    events.append(RestrictionChanged(m.session_id, restriction))
                    m.log.warning(
                        "client.account_restricted",
                        kind=restriction.kind.value,
                        blocking=restriction.blocking,
                        until=restriction.until,
                        detail=restriction.detail,
                    )
        await connection.send(build_ack(node))

    async def on_identity_change(self, user: JID) -> None:
        """``notification type=encrypt > identity``: the user re-registered, so every session
        with their devices is worthless (whatsmeow deletes them too). Their device list is asked
        again; the next message either way starts a new session. Like Baileys, a notice about
        one of their companions (device > 0) or about ourselves changes nothing."""
        m = self._m
        addressing = await m.prepare()
        if user.device != 0 or addressing.is_own(user):
            return
        account = addressing.account(user)
        m.devices.invalidate(account)
        names = {ProtocolAddress.from_jid(account).name}
        lid = addressing.lid_of(account)
        if lid is not None:
            names.add(ProtocolAddress.from_jid(lid).name)
        async with m.crypto_lock, m.messages.transaction():
            removed = 0
            for name in names:
                removed += await m.session.store.signal_sessions.delete_all_for_user(
                    m.session_id, name
                )
            m.signal.forget_all()  # records deleted behind the Signal store
        m.log.info("client.identity_changed", user=str(account), sessions_removed=removed)

    def _spawn_retry(self, connection: Connection, request: RetryRequest, receipt: Node) -> None:
        connection.spawn(self._answer_retry(connection, request, receipt))

    async def _answer_retry(
        self, connection: Connection, request: RetryRequest, receipt: Node
    ) -> None:
        # Acked only after the answer left (or was refused): if answering fails, the
        # receipt stays with the server and comes back on the next connection.
        await self._resender.answer(connection, request)
        await connection.send(build_ack(receipt))

    # ------------------------------------------------------------------------------ API

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Sends and returns after the server's ack. Raises NotConnected, SendTimeout (send the
        same ``message_id`` again later), SendRefused, NoRecipientDevices, NotGroupMember,
        TargetNotFound, or ContentError for content that cannot be sent."""
        self._m.require_connection()
        await self._m.prepare()
        return await self._sender.send(message)

    async def mark_read(self, chat: JID, message_ids: Sequence[str]) -> int:
        """Marks incoming messages of ``chat`` read and sends read receipts to their senders;
        returns how many were unread."""
        m = self._m
        connection = m.require_connection()
        sid = m.session_id
        chat = chat if chat.is_group else (await m.prepare()).account(chat)
        by_sender: dict[tuple[JID, JID | None], list[str]] = {}
        key: tuple[JID, JID | None]
        for message_id in message_ids:
            record = await m.messages.messages.find_in_chat(sid, str(chat), message_id)
            if record is None or record.from_me:
                continue
            if chat.is_group:
                device = record.sender_device or record.sender
                key = (chat, JID.parse(device))
            else:
                key = (JID.parse(record.sender_device or record.sender).to_non_ad(), None)
            by_sender.setdefault(key, []).append(message_id)
        async with m.unit() as events:
            changed = await m.messages.messages.mark_read(sid, str(chat), list(message_ids))
            row = await m.messages.chats.mark_read(sid, str(chat), changed)
            if row is not None and changed:
                events.append(ChatUpdated(sid, row))
        now = int(m.now())
        for (to, participant), ids in by_sender.items():
            await connection.send(
                build_receipt(
                    ids, to, kind=ReceiptType.READ, participant=participant, timestamp=now
                )
            )
        return changed

    async def create_group(self, subject: str, participants: Sequence[JID]) -> GroupRecord:
        return await self.groups.create(self._m.require_connection(), subject, participants)

    async def add_participants(self, group: JID, participants: Sequence[JID]) -> GroupRecord:
        connection = self._m.require_connection()
        return await self.groups.change(connection, group, ParticipantAction.ADD, participants)

    async def remove_participants(self, group: JID, participants: Sequence[JID]) -> GroupRecord:
        connection = self._m.require_connection()
        return await self.groups.change(connection, group, ParticipantAction.REMOVE, participants)

    async def promote_participants(self, group: JID, participants: Sequence[JID]) -> GroupRecord:
        connection = self._m.require_connection()
        return await self.groups.change(connection, group, ParticipantAction.PROMOTE, participants)

    async def demote_participants(self, group: JID, participants: Sequence[JID]) -> GroupRecord:
        connection = self._m.require_connection()
        return await self.groups.change(connection, group, ParticipantAction.DEMOTE, participants)

    async def update_group(
        self,
        group: JID,
        *,
        subject: str | None = None,
        description: str | None = None,
        announce: bool | None = None,
        locked: bool | None = None,
    ) -> GroupRecord:
        """Changes what is given (each a separate request to the server, in this order)."""
        connection = self._m.require_connection()
        if subject is not None:
            await self.groups.set_subject(connection, group, subject)
        if description is not None:
            await self.groups.set_description(connection, group, description)
        if announce is not None or locked is not None:
            await self.groups.set_settings(connection, group, announce=announce, locked=locked)
        return await self.groups.metadata(connection, group)

    async def group_invite_code(self, group: JID, *, reset: bool = False) -> str:
        return await self.groups.invite_code(self._m.require_connection(), group, reset=reset)

    async def join_group(self, code: str) -> tuple[JID, bool]:
        return await self.groups.join(self._m.require_connection(), code)

    async def sync_groups(self) -> int:
        return await self.groups.sync_all(self._m.require_connection())

    async def leave_group(self, group: JID) -> None:
        await self.groups.leave(self._m.require_connection(), group)

    async def group_metadata(self, group: JID, *, refresh: bool = False) -> GroupRecord:
        return await self.groups.metadata(self._m.require_connection(), group, refresh=refresh)
