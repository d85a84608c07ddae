"""Webhook subscriptions, their deliveries, a dispatch step's outcome and a due delivery's job."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from storage.event_values import StoredEvent

WEBHOOK_DISPATCH_CURSOR = "webhook_dispatch"
"""The webhook dispatcher's cursor in the event log (``daemon_cursors``)."""


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    session_id: str | None
    """None for a global webhook (every session's events)."""
    url: str
    secret: str
    events: frozenset[str]
    """Event types delivered; empty means all."""
    enabled: bool
    created_at: datetime
    updated_at: datetime
    api_key_id: str | None = None
    """The chat-restricted key it was made with (its chats follow the key's)."""
    chats: frozenset[str] | None = None
    """Only events of these chats (events about no chat go through); None: every chat."""
    parked_reason: str | None = None
    """Why the daemon disabled this webhook (None: it did not)."""
    parked_at: datetime | None = None

    def wants(self, session_id: str, event_type: str, chat: str | None = None) -> bool:
        if not self.enabled:
            return False
        if self.session_id is not None and self.session_id != session_id:
            return False
        if self.chats is not None and chat is not None and chat not in self.chats:
            return False
        return not self.events or event_type in self.events


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: str
    event_position: int
    event_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class ParkedWebhook:
    webhook_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class DispatchStep:
    looked: int
    """Events looked at (0: caught up)."""
    parked: tuple[ParkedWebhook, ...]
    """Webhooks parked in this step."""


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A due delivery with what it takes to make the request."""

    delivery_id: int
    attempts: int
    webhook: Webhook
    event: StoredEvent
