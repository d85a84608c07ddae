"""The log's records of what happens in a session: client, messaging, sync and call events
translated to an event type and the JSON data the API documents for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from daemon.client import call_events, message_events, sync_events
from daemon.client import events as client_events
from daemon.client.media_message import media_info
from daemon.client.restrictions import Restriction
from daemon.event_format import EventType, iso_from_unix, iso_utc
from storage.message_values import ChatRecord, ContentType, GroupRecord, MessageRecord
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


__all__ = [
    "MEDIA_CONTENT",
    "MESSAGING_EVENTS",
    "SYNC_EVENTS",
    "ConnectionEvent",
    "EventRecord",
    "call_record",
    "chat_json",
    "from_client_event",
    "from_messaging_event",
    "from_sync_event",
    "group_json",
    "media_json",
    "message_json",
    "restriction_alert",
    "restriction_json",
]
