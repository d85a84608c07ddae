"""Values of the campaign store: campaigns, their recipients, and what a change returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any


class CampaignStatus(enum.StrEnum):
    """``draft → scheduled → processing → completed | failed | cancelled``, with ``paused``
    in between (from scheduled or processing, back by resume)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (CampaignStatus.COMPLETED, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


class RecipientStatus(enum.StrEnum):
    """``pending → queued → sent → delivered → read``, or ``failed`` with a reason; the
    recipients still pending when a campaign is cancelled become ``cancelled``."""

    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A recipient only moves forward: a late "delivered" never undoes "read".
RECIPIENT_RANK = {
    RecipientStatus.PENDING: 0,
    RecipientStatus.QUEUED: 1,
    RecipientStatus.SENT: 2,
    RecipientStatus.DELIVERED: 3,
    RecipientStatus.READ: 4,
}


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """Send only between ``start`` and ``end`` local time in ``time_zone`` (an IANA name);
    ``start > end`` spans midnight (22:00–06:00)."""

    start: time
    end: time
    time_zone: str

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a daily window's start and end must differ")


@dataclass(frozen=True, slots=True)
class Pacing:
    rate_per_minute: int
    jitter_s: float = 0.0
    """Each dispatch waits a further random 0..jitter_s seconds."""
    window: DailyWindow | None = None

    def __post_init__(self) -> None:
        if self.rate_per_minute < 1:
            raise ValueError("rate_per_minute must be at least 1")
        if self.jitter_s < 0:
            raise ValueError("jitter_s must not be negative")


@dataclass(frozen=True, slots=True)
class NewCampaign:
    id: str
    session_id: str
    name: str
    content: dict[str, Any]
    defaults: dict[str, str]
    pacing: Pacing
    scheduled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    session_id: str
    name: str
    content: dict[str, Any]
    defaults: dict[str, str]
    pacing: Pacing
    status: CampaignStatus
    status_reason: str | None
    scheduled_at: datetime | None
    next_send_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewRecipient:
    jid: str
    variables: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    campaign_id: str
    jid: str
    variables: dict[str, str] | None
    status: RecipientStatus
    message_id: str | None
    error: str | None
    queued_at: datetime | None
    settled_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One recipient handed to the outbox: its message id."""

    recipient_id: int
    message_id: str


__all__ = [
    "RECIPIENT_RANK",
    "Campaign",
    "CampaignStatus",
    "DailyWindow",
    "Dispatch",
    "NewCampaign",
    "NewRecipient",
    "Pacing",
    "Recipient",
    "RecipientStatus",
]
