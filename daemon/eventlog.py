"""The event log: every event of every session, with a stable id and a per-session sequence.

Theory of operation
-------------------
Events are rows first (ARCHITECTURE principle 5). :meth:`EventLog.append` writes one row and
joins the caller's transaction when there is one, so an event commits together with what it
reports (a received message and its ``message.received`` event, an outbox row and its status
event) or not at all. Consumers see exactly the committed events, in order, again after a
restart: the webhook dispatcher, the campaign tracker and the CLI read the table after a cursor
(a session's ``seq`` or the global ``position``); the SSE/WebSocket stream reads it to catch
up, then takes the events this daemon commits from memory once their commit is durable (never
those of a unit rolled back), and reads again only for what memory cannot vouch for: another
daemon's commits, a gap, a follower fallen too far behind (:mod:`daemon.event_feed`).

An append wakes the waiting readers once the transaction holding it has committed (and is on
disk), so a reader reads once per commit — a batch of every event the commit holds — and never
forces a commit that is still gathering units. A periodic re-read covers any wake-up that is
missed. Nothing reads the log when nobody follows it: the stream reads only while one is open,
the webhook dispatcher only while an enabled webhook exists (``daemon.webhooks``), and the
campaign tracker only while an event may move a campaign.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from google.protobuf.message import DecodeError

from daemon.client import call_events, message_events, sync_events
from daemon.client import events as client_events
from daemon.client.media_message import media_info
from daemon.client.restrictions import Restriction
from daemon.event_feed import FeedHub
from storage.event_values import NewEvent, StoredEvent, compact_json
from storage.message_values import ChatRecord, ContentType, GroupRecord, MessageRecord
from storage.stores import Stores
from storage.webhook_values import WEBHOOK_DISPATCH_CURSOR
from waproto import wa_e2e_pb2

MEDIA_CONTENT = frozenset(
    {
        ContentType.IMAGE,
        ContentType.VIDEO,
        ContentType.AUDIO,
        ContentType.DOCUMENT,
        ContentType.STICKER,
    }
)

log = structlog.get_logger("daemon.eventlog")

FOLLOW_POLL_S = 1.0
"""A follower re-reads the log after this long without a wake-up (within two of these)."""
DISPATCH_CURSOR = WEBHOOK_DISPATCH_CURSOR

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
"""Two digits for each 10-bit value."""
_PAIR_SHIFTS = range(120, -1, -10)


class EventType(enum.StrEnum):
    """Every event type the log carries (the ``type`` field; webhook filters name these)."""

    MESSAGE_RECEIVED = "message.received"
    MESSAGE_UPDATED = "message.updated"
    """A message's status changed (sent, delivered, read, played, failed) or it was edited."""
    RECEIPT = "receipt"
    CHAT_UPDATED = "chat.updated"
    CONNECTION_STATE = "connection.state"
    CONNECTION_OPEN = "connection.open"
    CONNECTION_CLOSED = "connection.closed"
    QR_CODE = "qr.code"
    PAIR_CODE = "pair.code"
    PAIRED = "session.paired"
    GROUP_UPDATED = "group.updated"
    PRESENCE_UPDATED = "presence.updated"
    CHATSTATE_UPDATED = "chatstate.updated"
    HISTORY_PROGRESS = "history.progress"
    BACKFILL_PROGRESS = "backfill.progress"
    """A backfill after a long disconnection: started, one per chat, finished or stopped."""
    UNDECRYPTABLE = "message.undecryptable"
    RECOVERY = "session.recovery"
    ALERT = "alert"
    SESSION_CREATED = "session.created"
    SESSION_DELETED = "session.deleted"
    CALL_OFFERED = "call.offered"
    CALL_ENDED = "call.ended"
    CAMPAIGN_UPDATED = "campaign.updated"
    CAMPAIGN_RECIPIENT_UPDATED = "campaign.recipient.updated"


def new_event_id(now: float | None = None, random_bytes: bytes | None = None) -> str:
    """``evt_`` and 26 Crockford base32 characters: 48 bits of milliseconds, 80 random bits
    (ULID layout), so ids sort roughly by time and never collide in practice."""
    millis = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    entropy = os.urandom(10) if random_bytes is None else random_bytes
    value = (millis << 80) | int.from_bytes(entropy, "big")
    pairs = _PAIRS
    return "evt_" + "".join([pairs[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


_ISO_CACHE: dict[datetime | float, str] = {}
"""Recent times already rendered: the events of a send name the same few instants (the
server's time, the commit's time) several times each."""
_ISO_CACHE_SIZE = 256


def iso_utc(at: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds and ``Z`` (the API's one time format)."""
    if at is None:
        return None
    text = _ISO_CACHE.get(at)
    if text is None:
        text = _render_iso(at)
        _remember_iso(at, text)
    return text


def iso_from_unix(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    # Keyed by the float itself: 1.0 and 1 hash alike and are the same instant.
    text = _ISO_CACHE.get(seconds)
    if text is None:
        text = _render_iso(datetime.fromtimestamp(seconds, UTC))
        _remember_iso(seconds, text)
    return text


def _render_iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _remember_iso(at: datetime | float, text: str) -> None:
    if len(_ISO_CACHE) >= _ISO_CACHE_SIZE:
        _ISO_CACHE.clear()
    _ISO_CACHE[at] = text


def envelope(event: StoredEvent) -> dict[str, Any]:
    """The JSON shape of an event everywhere it leaves the daemon (stream, webhook, API)."""
    return {
        "id": event.id,
        "sessionId": event.session_id,
        "seq": event.seq,
        "type": event.type,
        "createdAt": iso_utc(event.created_at),
        "data": event.data,
    }


_json_string = json.encoder.encode_basestring


def envelope_json(event: StoredEvent) -> str:
    """:func:`envelope` as compact JSON text, with ``data`` the text the log stored: an
    event's data is rendered once, when it is appended, not again for each stream and
    webhook that sends it."""
    data = event.data_json
    if data is None:
        data = compact_json(event.data)
    return (
        f'{{"id":{_json_string(event.id)},"sessionId":{_json_string(event.session_id)},'
        f'"seq":{event.seq},"type":{_json_string(event.type)},'
        f'"createdAt":{_json_string(iso_utc(event.created_at) or "")},"data":{data}}}'
    )


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event to append: its type and JSON data."""

    type: EventType
    data: dict[str, Any]


ConnectionEvent = (
    client_events.StateChanged
    | client_events.QrCode
    | client_events.PairCode
    | client_events.Paired
    | client_events.Connected
    | client_events.Disconnected
    | client_events.Alert
)
MESSAGING_EVENTS = (
    message_events.MessageReceived,
    message_events.MessageUpdated,
    message_events.ReceiptReceived,
    message_events.Undecryptable,
    message_events.ChatUpdated,
    message_events.GroupUpdated,
    message_events.PresenceChanged,
    message_events.ChatStateChanged,
    call_events.CallOffered,
    call_events.CallEnded,
    message_events.RestrictionChanged,
)


SYNC_EVENTS = (
    sync_events.HistorySyncProgress,
    sync_events.HistorySyncFailed,
    sync_events.AppStateSynced,
    sync_events.AppStateRefused,
    sync_events.ChatSettingsChanged,
    sync_events.MediaDownloaded,
    sync_events.MediaFailed,
)


def from_sync_event(event: sync_events.SyncEvent) -> EventRecord | None:
    """The log record of a history / app-state / media event, None for those that stay on the
    session's bus only (routine app-state syncs, chat settings, downloads)."""
    if isinstance(event, sync_events.HistorySyncProgress):
        return EventRecord(
            EventType.HISTORY_PROGRESS,
            {
                "status": "skipped" if event.skipped else "done",
                "messageId": event.message_id,
                "syncType": event.sync_type,
                "chunkOrder": event.chunk_order,
                "progress": event.progress,
                "chunkMessages": event.chunk_messages,
                "stored": event.stored,
                "chunksDone": event.chunks_done,
                "messagesTotal": event.messages_total,
                "dryRun": event.dry_run,
            },
        )
    if isinstance(event, sync_events.HistorySyncFailed):
        return EventRecord(
            EventType.HISTORY_PROGRESS,
            {
                "status": "failed",
                "messageId": event.message_id,
                "syncType": event.sync_type,
                "reason": event.reason,
            },
        )
    if isinstance(event, sync_events.AppStateRefused):
        message = f"app state {event.collection} v{event.version} refused: {event.reason}" + (
            "; resyncing" if event.resyncing else ""
        )
        return EventRecord(EventType.ALERT, {"kind": "app_state", "message": message})
    if isinstance(event, sync_events.MediaFailed):
        return EventRecord(
            EventType.ALERT,
            {
                "kind": "media",
                "message": f"media of {event.message_id} in {event.chat}: "
                f"{event.status.value}: {event.reason}",
            },
        )
    return None


def from_client_event(event: ConnectionEvent) -> EventRecord:
    """The log record of a connection event published by a session's client."""
    if isinstance(event, client_events.StateChanged):
        return EventRecord(
            EventType.CONNECTION_STATE,
            {
                "from": event.from_state.value,
                "to": event.to_state.value,
                "trigger": event.trigger.value,
                "reason": event.reason,
                "at": iso_from_unix(event.at),
            },
        )
    if isinstance(event, client_events.QrCode):
        return EventRecord(
            EventType.QR_CODE,
            {"qr": event.code, "index": event.index, "expiresAt": iso_from_unix(event.expires_at)},
        )
    if isinstance(event, client_events.PairCode):
        return EventRecord(
            EventType.PAIR_CODE,
            {
                "code": event.code,
                "phone": event.phone,
                "expiresAt": iso_from_unix(event.expires_at),
            },
        )
    if isinstance(event, client_events.Paired):
        return EventRecord(
            EventType.PAIRED, {"jid": event.jid, "lid": event.lid, "platform": event.platform}
        )
    if isinstance(event, client_events.Connected):
        return EventRecord(
            EventType.CONNECTION_OPEN,
            {"jid": event.jid, "lid": event.lid, "serverTime": iso_from_unix(event.server_time)},
        )
    if isinstance(event, client_events.Disconnected):
        decision = event.decision
        return EventRecord(
            EventType.CONNECTION_CLOSED,
            {
                "code": decision.code,
                "action": decision.action.value,
                "reason": decision.reason,
                "retryInSeconds": event.retry_in,
            },
        )
    return EventRecord(EventType.ALERT, {"kind": event.kind.value, "message": event.message})


def message_json(message: MessageRecord) -> dict[str, Any]:
    """A stored message as the API and events show it."""
    return {
        "id": message.message_id,
        "chat": message.chat,
        "sender": message.sender,
        "senderDevice": message.sender_device,
        "fromMe": message.from_me,
        "timestamp": iso_utc(message.sent_at),
        "type": message.content_type.value,
        "status": message.status.value,
        "text": message.text,
        "quotedId": message.quoted_id,
        "targetId": message.target_id,
        "pushName": message.push_name,
        "editedAt": iso_utc(message.edited_at),
        "revokedAt": iso_utc(message.revoked_at),
        "media": media_json(message),
    }


def media_json(message: MessageRecord) -> dict[str, Any] | None:
    """The file a media message describes (null for other messages)."""
    if message.payload is None or message.content_type not in MEDIA_CONTENT:
        return None
    try:
        info = media_info(wa_e2e_pb2.Message.FromString(message.payload))
    except DecodeError:
        return None
    if info is None:
        return None
    return {
        "kind": info.kind.value,
        "mimetype": info.mimetype or None,
        "size": info.size or None,
        "fileName": info.file_name or None,
        "durationSeconds": info.seconds or None,
        "width": info.width or None,
        "height": info.height or None,
    }


def chat_json(chat: ChatRecord, lid: str | None = None) -> dict[str, Any]:
    """``lid``: the person's LID beside a phone-number chat, when known (a LID chat is its
    own)."""
    return {
        "jid": chat.jid,
        "lid": chat.jid if chat.jid.endswith("@lid") else lid,
        "kind": chat.kind.value,
        "name": chat.name,
        "lastMessage": None
        if chat.last_message_id is None
        else {
            "id": chat.last_message_id,
            "sender": chat.last_sender,
            "fromMe": chat.last_from_me,
            "preview": chat.last_preview,
            "timestamp": iso_utc(chat.last_message_at),
        },
        "unreadCount": chat.unread_count,
        "updatedAt": iso_utc(chat.updated_at),
    }


def restriction_json(restriction: Restriction) -> dict[str, Any]:
    return {
        "kind": restriction.kind.value,
        "blocksNewChats": restriction.blocking,
        "until": iso_from_unix(restriction.until) if restriction.until is not None else None,
        "detail": restriction.detail,
        "usedQuota": restriction.used_quota,
        "totalQuota": restriction.total_quota,
    }


def restriction_alert(restriction: Restriction) -> dict[str, Any]:
    """The ``alert`` an announced restriction raises (kind ``account_restricted``)."""
    state = "blocks new chats" if restriction.blocking else "does not block new chats"
    until = iso_from_unix(restriction.until) if restriction.until is not None else None
    return {
        "kind": "account_restricted",
        "message": f"{restriction.kind.value} ({restriction.detail}) {state}"
        + (f" until {until}" if restriction.blocking and until else "")
        + "; chats where the contact gave us a privacy token keep flowing",
        "restriction": restriction_json(restriction),
    }


def group_json(group: GroupRecord) -> dict[str, Any]:
    return {
        "jid": group.jid,
        "subject": group.subject,
        "description": group.description,
        "owner": group.owner,
        "createdAt": iso_utc(group.created_at),
        "addressingMode": group.addressing_mode,
        "announce": group.announce,
        "locked": group.locked,
        "isMember": group.is_member,
        "isAdmin": group.own_admin,
        "readOnly": group.read_only,
        "lastSyncedAt": iso_utc(group.last_synced_at),
        "participants": [
            {
                "jid": p.jid,
                "phoneNumber": p.jid if p.jid.endswith("@s.whatsapp.net") else None,
                "lid": p.lid,
                "role": p.role.value,
                "isAdmin": p.role.value != "member",
            }
            for p in group.participants
        ],
    }


def from_messaging_event(event: message_events.MessagingEvent) -> EventRecord:
    """The log record of a messaging event (written through the sink, in its transaction)."""
    if isinstance(event, message_events.MessageReceived):
        return EventRecord(
            EventType.MESSAGE_RECEIVED,
            {"message": message_json(event.message), "recovered": event.recovered},
        )
    if isinstance(event, message_events.MessageUpdated):
        return EventRecord(
            EventType.MESSAGE_UPDATED,
            {
                "id": event.message_id,
                "chat": event.chat,
                "sender": event.sender,
                "kind": event.kind.value,
                "status": None if event.status is None else event.status.value,
                "text": event.text,
                "at": iso_from_unix(event.at) if event.at else None,
            },
        )
    if isinstance(event, message_events.ReceiptReceived):
        return EventRecord(
            EventType.RECEIPT,
            {
                "chat": event.chat,
                "ids": list(event.message_ids),
                "recipient": event.recipient,
                "status": event.status.value,
                "at": iso_from_unix(event.at),
            },
        )
    if isinstance(event, message_events.Undecryptable):
        return EventRecord(
            EventType.UNDECRYPTABLE,
            {
                "id": event.message_id,
                "chat": event.chat,
                "sender": event.sender,
                "senderDevice": event.sender_device,
                "state": event.state.value,
                "retries": event.retries,
                "reason": event.reason,
            },
        )
    if isinstance(event, message_events.ChatUpdated):
        return EventRecord(EventType.CHAT_UPDATED, {"chat": chat_json(event.chat)})
    if isinstance(event, message_events.PresenceChanged):
        return EventRecord(
            EventType.PRESENCE_UPDATED,
            {
                "chat": event.who,
                "available": event.available,
                "lastSeen": None if event.last_seen is None else iso_from_unix(event.last_seen),
            },
        )
    if isinstance(event, message_events.ChatStateChanged):
        return EventRecord(
            EventType.CHATSTATE_UPDATED,
            {"chat": event.chat, "sender": event.sender, "state": event.state},
        )
    if isinstance(event, call_events.CallOffered | call_events.CallEnded):
        return call_record(event)
    if isinstance(event, message_events.RestrictionChanged):
        return EventRecord(EventType.ALERT, restriction_alert(event.restriction))
    return EventRecord(
        EventType.GROUP_UPDATED,
        {
            "group": group_json(event.group),
            "change": event.change,
            "actor": event.actor,
            "participants": list(event.participants),
        },
    )


def call_record(event: call_events.CallEvent) -> EventRecord:
    data: dict[str, Any] = {
        "callId": event.call_id,
        "caller": event.caller,
        "at": iso_from_unix(event.at),
    }
    if isinstance(event, call_events.CallOffered):
        data |= {"video": event.video, "group": event.group, "autoRejected": event.auto_rejected}
        return EventRecord(EventType.CALL_OFFERED, data)
    return EventRecord(EventType.CALL_ENDED, data | {"reason": event.reason})


class _Notifier:
    """Wakes the followers waiting for new rows: every one, or only those that wait for the
    type appended (a campaign tracker must not wake, and force a commit with its read, for
    each message of a backlog that it has no use for)."""

    def __init__(self) -> None:
        self._waiters: dict[asyncio.Future[None], frozenset[str] | None] = {}

    def waiter(self, types: frozenset[str] | None = None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[future] = types
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: asyncio.Future[None]) -> None:
        self._waiters.pop(future, None)

    def notify(self, event_type: str) -> None:
        for future, types in list(self._waiters.items()):
            if (types is None or event_type in types) and not future.done():
                future.set_result(None)

    def wake_all(self) -> None:
        for future in list(self._waiters):
            if not future.done():
                future.set_result(None)


class EventLog:
    """Append events and follow them. One per database."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores
        self.repo = stores.events
        self._notifier = _Notifier()
        self._feeds = FeedHub(FOLLOW_POLL_S)
        self.stream_reads = 0
        """Reads of the log by :meth:`follow` (for tests and metrics)."""

    async def append(
        self, session_id: str, event_type: EventType | str, data: dict[str, Any]
    ) -> StoredEvent:
        """Append an event; inside ``stores.transaction()`` it commits with the transaction.
        ``data`` is the event's from now on: the caller hands over a dict it no longer
        changes (local followers get this very object)."""
        kind = str(event_type)
        stored = await self.repo.append(session_id, kind, data, new_event_id())
        self._stores.after_commit(functools.partial(self._notifier.notify, kind))
        self._stores.on_commit(functools.partial(self._feeds.publish, session_id, (stored,)))
        return stored

    async def append_record(self, session_id: str, record: EventRecord) -> StoredEvent:
        return await self.append(session_id, record.type, record.data)

    async def append_records(self, session_id: str, records: Sequence[EventRecord]) -> None:
        """Appends ``records`` in order, like :meth:`append_record` each, without reading the
        rows back (the receive path appends a unit's events this way)."""
        if not records:
            return
        stored = await self.repo.append_many(
            session_id, [NewEvent(str(r.type), r.data, new_event_id()) for r in records]
        )
        for kind in {str(r.type) for r in records}:
            self._stores.after_commit(functools.partial(self._notifier.notify, kind))
        self._stores.on_commit(functools.partial(self._feeds.publish, session_id, stored))

    def waiter(self, types: frozenset[str] | None = None) -> asyncio.Future[None]:
        """A future that completes at the next append (of one of ``types``, when given) once
        it is committed; register it before reading."""
        return self._notifier.waiter(types)

    def committed_elsewhere(self) -> None:
        """Another daemon of the fleet committed events: every follower reads again."""
        self._feeds.mark_stale()
        self._notifier.wake_all()

    async def read(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        types: frozenset[str] | None = None,
    ) -> list[StoredEvent]:
        return await self.repo.read_session(
            session_id, after_seq=after_seq, limit=limit, types=types
        )

    async def follow(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        types: frozenset[str] | None = None,
        batch: int = 100,
    ) -> AsyncIterator[StoredEvent]:
        """The session's events after ``after_seq``, then every new one as it commits; ends
        only when the consumer stops iterating. Reads the log to catch up, then takes this
        daemon's commits from memory (see the module docstring)."""
        cursor = after_seq
        # Subscribed before the first read: whatever commits from now on reaches the feed,
        # whatever committed before is in the read.
        feed = self._feeds.subscribe(session_id)
        try:
            read = True
            while True:
                end = 0
                if read:
                    feed.take()  # committed before this read: the read has it
                    self.stream_reads += 1
                    if types is not None:
                        # Only the wanted rows are read (a client resuming a filtered stream
                        # must not decode every other event); once the read is complete the
                        # cursor passes the log's end as it was before it, since whatever
                        # commits later reaches the feed.
                        end = await self.repo.last_seq(session_id)
                    events = await self.read(session_id, after_seq=cursor, limit=batch, types=types)
                    read = len(events) >= batch
                    if read:
                        end = 0
                else:
                    taken = feed.take()
                    if taken is None:
                        read = True
                        continue
                    events = []
                    for event in taken:
                        if event.seq <= cursor:
                            continue  # also in the read that caught up
                        if event.seq != cursor + 1 + len(events):
                            read = True  # a gap only the log can fill
                            break
                        events.append(event)
                for event in events:
                    cursor = event.seq
                    if types is None or event.type in types:
                        yield event
                cursor = max(cursor, end)
                if read:
                    continue
                # Bounded by the hub's poll: an idle feed goes stale, and the log is read
                # for what no wake-up announced (a notification missed).
                await feed.wait()
        finally:
            self._feeds.unsubscribe(session_id, feed)

    async def prune(self, retention: timedelta) -> int:
        """Delete old events that nothing needs any more."""
        cursor = await self.repo.dispatch_horizon(DISPATCH_CURSOR)
        removed = await self.repo.prune(self._stores.now() - retention, up_to_position=cursor)
        if removed:
            log.info("eventlog.pruned", events=removed)
        return removed


class EventLogSink:
    """The daemon's :class:`~daemon.client.sinks.EventSink`: messaging events become event-log
    rows inside the client's persist-before-ack transaction. Beside each row it keeps what the
    daemon derives from the event in the same transaction: a received message moves the
    session's ``last_message_at``. (Receipts need nothing here: a sent message's status lives
    in its message row only, which the outbox reads.)"""

    def __init__(
        self,
        log: EventLog,
        stores: Stores,
        *,
        on_inbound: Callable[[str, float], None] = lambda _session, _at: None,
    ) -> None:
        self._log = log
        self._sessions = stores.sessions
        self._on_inbound = on_inbound

    async def record(
        self, session_id: str, events: Sequence[message_events.MessagingEvent]
    ) -> None:
        records: list[EventRecord] = []
        for event in events:
            if (
                isinstance(event, message_events.MessageReceived)
                and event.message.content_type is ContentType.PROTOCOL
            ):
                # A protocol message between our own devices (history notification, key
                # share) is handled by the client, not a message anyone received.
                continue
            records.append(from_messaging_event(event))
            if isinstance(event, message_events.MessageReceived) and not event.message.from_me:
                at = event.message.sent_at
                await self._sessions.record_activity(session_id, message_at=at)
                self._on_inbound(session_id, at.timestamp())
        await self._log.append_records(session_id, records)

    async def record_state(self, change: client_events.StateChanged) -> bool:
        await self._log.append_record(change.session_id, from_client_event(change))
        return True


__all__ = [
    "DISPATCH_CURSOR",
    "MESSAGING_EVENTS",
    "SYNC_EVENTS",
    "ConnectionEvent",
    "EventLog",
    "EventLogSink",
    "EventRecord",
    "EventType",
    "chat_json",
    "envelope",
    "envelope_json",
    "from_client_event",
    "from_messaging_event",
    "from_sync_event",
    "group_json",
    "iso_from_unix",
    "iso_utc",
    "message_json",
    "new_event_id",
]
