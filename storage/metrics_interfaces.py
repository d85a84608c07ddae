"""What the metrics endpoint reads of storage at scrape time (one Protocol, same rules as
:mod:`storage.interfaces`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredTotals:
    """Counts the database holds right now, across sessions."""

    outbox: dict[tuple[str, str], int]
    """(session id, outbox status) → rows."""
    webhook_deliveries: dict[str, int]
    """delivery status (pending, delivered, dead) → rows."""
    oldest_pending_delivery: datetime | None
    event_seq: dict[str, int]
    """session id → the last sequence number of its event log."""


class MetricsRepo(Protocol):
    async def totals(self) -> StoredTotals: ...


__all__ = ["MetricsRepo", "StoredTotals"]
