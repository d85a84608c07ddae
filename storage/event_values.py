"""The event log's values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the event log."""

    position: int
    """Order among all events of all sessions (never reused)."""
    id: str
    """Stable id, unique across all events: what consumers deduplicate on."""
    session_id: str
    seq: int
    """Order among this session's events: 1, 2, 3... (never reused for the session id)."""
    type: str
    data: dict[str, Any]
    """The event's JSON object."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append (its position, sequence number and time are the log's)."""

    type: str
    data: dict[str, Any]
    id: str
