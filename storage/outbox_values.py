"""The outbox's values: a send as a row, its status and a session's sending pause."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class OutboxStatus(enum.StrEnum):
    """``pending → sending → sent → delivered → read/played``, or ``failed`` with a reason."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        """Still to be sent (or being sent)."""
        return self in (OutboxStatus.PENDING, OutboxStatus.SENDING)


# Receipts only move a sent message forward: a late "delivered" never undoes "read".
STATUS_RANK = {
    OutboxStatus.SENT: 1,
    OutboxStatus.DELIVERED: 2,
    OutboxStatus.READ: 3,
    OutboxStatus.PLAYED: 4,
}


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
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    server_timestamp: int | None
    uncertain_sends: int


@dataclass(frozen=True, slots=True)
class SendingPause:
    session_id: str
    until: datetime
    reason: str
