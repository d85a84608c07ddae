"""The outbox's values: a send as a row, its request state, the status shown for it and a
session's sending pause."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class OutboxRequest(enum.StrEnum):
    """Where the request stands, the only state the outbox row stores: ``pending → sending →
    done`` (the server took the message), or ``failed`` with a reason. What happens to the
    message after that (delivered, read, played) is its message row's."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        """Still to be sent (or being sent)."""
        return self in (OutboxRequest.PENDING, OutboxRequest.SENDING)


class OutboxStatus(enum.StrEnum):
    """What the API shows of a send: ``pending → sending → sent → delivered → read/played``,
    or ``failed`` with a reason. Read from the request and the message row together: once the
    message row has gone out (``sent`` or beyond), its status is the send's."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"

    @property
    def has_gone_out(self) -> bool:
        """The server took the message (its message row says so)."""
        return self in (
            OutboxStatus.SENT,
            OutboxStatus.DELIVERED,
            OutboxStatus.READ,
            OutboxStatus.PLAYED,
        )


@dataclass(frozen=True, slots=True)
class NewOutboxRow:
    id: str
    session_id: str
    idempotency_key: str | None
    request_hash: bytes
    chat_jid: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    session_id: str
    idempotency_key: str | None
    request_hash: bytes
    chat_jid: str
    kind: str
    payload: dict[str, Any]
    request: OutboxRequest
    status: OutboxStatus
    """The request's state until the message row has gone out, then the message row's."""
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    """The later of the request's and the message row's last change."""
    sent_at: datetime | None
    """When the server took the message (the message row's time), once it did."""
    uncertain_sends: int


@dataclass(frozen=True, slots=True)
class SendingPause:
    session_id: str
    until: datetime
    reason: str
