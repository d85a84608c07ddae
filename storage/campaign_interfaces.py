"""What the campaign service and its dispatcher see of storage (same rules as
:mod:`storage.interfaces`). The store shares the database's transaction boundary, so a
recipient handed to the outbox, its outbox row and its event commit together."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from storage.campaign_values import (
    Campaign,
    CampaignStatus,
    Dispatch,
    NewCampaign,
    NewRecipient,
    Recipient,
    RecipientStatus,
)
from storage.interfaces import Transactional


class CampaignStore(Transactional, Protocol):
    async def create(self, campaign: NewCampaign) -> Campaign:
        """Store a draft. Raises NotFound when the session does not exist, AlreadyExists when
        the id is taken."""
        ...

    async def get(self, campaign_id: str) -> Campaign | None: ...

    async def list_for_session(
        self, session_id: str, *, before_id: str | None = None, limit: int = 20
    ) -> list[Campaign]:
        """Newest first; ``before_id`` continues after that campaign."""
        ...

    async def active(self) -> list[Campaign]:
        """Every campaign that is scheduled or processing."""
        ...

    async def set_status(
        self,
        campaign_id: str,
        status: CampaignStatus,
        *,
        expected: Collection[CampaignStatus],
        reason: str | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign | None:
        """Move the campaign to ``status`` if it is in one of ``expected`` (None otherwise).
        Entering ``processing`` the first time sets ``started_at``; a final status sets
        ``finished_at``; ``scheduled_at``, when given, replaces the stored one."""
        ...

    async def set_next_send_at(self, campaign_id: str, at: datetime) -> None: ...

    async def add_recipients(self, campaign_id: str, recipients: Sequence[NewRecipient]) -> int:
        """Insert ``pending`` recipients, skipping JIDs the campaign already has; returns how
        many were inserted."""
        ...

    async def recipient_total(self, campaign_id: str) -> int: ...

    async def counts(self, campaign_id: str) -> dict[RecipientStatus, int]: ...

    async def recipients_page(
        self,
        campaign_id: str,
        *,
        status: RecipientStatus | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[Recipient]:
        """In dispatch order, after the recipient ``after_id``."""
        ...

    async def next_pending(self, campaign_id: str, limit: int) -> list[Recipient]: ...

    async def mark_queued(
        self, campaign_id: str, dispatches: Sequence[Dispatch]
    ) -> list[Recipient]:
        """``pending → queued`` with the outbox message id; returns the recipients moved."""
        ...

    async def by_message_ids(self, message_ids: Collection[str]) -> list[Recipient]: ...

    async def idle_horizon(self) -> int | None:
        """None while an event may still move some campaign (one is scheduled or processing,
        or a recipient is queued, sent or delivered); otherwise the event log's last position,
        read in the same snapshot: no event up to it can move any recipient or campaign."""
        ...

    async def advance(
        self, recipient_id: int, status: RecipientStatus, *, error: str | None = None
    ) -> Recipient | None:
        """Move a recipient forward (sent, delivered, read) or fail it (from pending or
        queued only); None when it did not move."""
        ...

    async def cancel_pending(self, campaign_id: str) -> int:
        """Every ``pending`` recipient becomes ``cancelled``; returns how many."""
        ...

    async def pacing_evidence(self, campaign_id: str, since: datetime) -> tuple[int, list[float]]:
        """The pacer's evidence after a restart: how many recipients are ``queued`` (their
        message may still go out), and when recipients settled since ``since`` (unix
        seconds, ascending)."""
        ...


__all__ = ["CampaignStore"]
