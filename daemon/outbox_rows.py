"""What an outbox row holds: the request stored with it, its staged file, its API shape."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from daemon.event_format import iso_utc
from daemon.send_content import (
    Location,
    MediaAttachment,
    MediaSendKind,
    contacts_from_payload,
)
from daemon.send_request import MEDIA_KINDS, MessageKind, SendRequest
from storage.outbox_values import OutboxRow


def discard_staged(row: OutboxRow) -> None:
    """Removes a media send's staged file once the row is final (done, or failed for good):
    only then, so that a crash before the ``done`` commit can still send it again. A campaign's
    shared file stays: the campaign removes it once it ends."""
    media = request_of(row).media if row.kind in MEDIA_KINDS else None
    if media is not None and not media.shared:
        with contextlib.suppress(OSError):
            Path(media.file.path).unlink()


def request_of(row: OutboxRow) -> SendRequest:
    """The request stored with an outbox row."""
    payload = row.payload
    kind = MessageKind(row.kind)
    return SendRequest(
        to=row.chat_jid,
        kind=kind,
        text=payload.get("text"),
        quoted_id=payload.get("quotedId"),
        target_id=payload.get("messageId"),
        emoji=payload.get("emoji"),
        media=(
            MediaAttachment.from_payload(MediaSendKind(kind.value), payload)
            if kind.is_media
            else None
        ),
        location=Location.from_payload(payload) if kind is MessageKind.LOCATION else None,
        contacts=(
            contacts_from_payload(payload.get("contacts")) if kind is MessageKind.CONTACT else ()
        ),
    )


def describe(row: OutboxRow) -> dict[str, Any]:
    """The API's JSON shape of an outbox row."""
    return {
        "id": row.id,
        "sessionId": row.session_id,
        "to": row.chat_jid,
        "type": row.kind,
        "status": row.status.value,
        "attempts": row.attempts,
        "uncertainSends": row.uncertain_sends,
        "error": row.last_error,
        "createdAt": iso_utc(row.created_at),
        "updatedAt": iso_utc(row.updated_at),
        "sentAt": iso_utc(row.sent_at),
        "nextAttemptAt": iso_utc(row.next_attempt_at) if row.request.is_open else None,
        "request": _public_request(row),
    }


def _public_request(row: OutboxRow) -> dict[str, Any]:
    """The stored request without the staged file's local path."""
    if row.kind not in MEDIA_KINDS:
        return row.payload
    media = request_of(row).media
    if media is None:
        return row.payload
    return {
        key: value for key, value in {**row.payload, **media.public()}.items() if key != "thumbnail"
    }


__all__ = ["describe", "discard_staged", "request_of"]
