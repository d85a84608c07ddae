"""What an event looks like wherever it leaves the daemon: its type, its id, its times and the
JSON envelope around its data (the stream, the webhooks and the API send the same text)."""

from __future__ import annotations

import enum
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

from storage.event_values import StoredEvent, compact_json

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


__all__ = [
    "EventType",
    "envelope",
    "envelope_json",
    "iso_from_unix",
    "iso_utc",
    "new_event_id",
]
