"""The event log's values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def compact_json(value: Any) -> str:
    """``value`` as the event log stores JSON: no spaces, non-ASCII kept as is."""
    return _COMPACT.encode(value)


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
    data_json: str | None = field(default=None, compare=False, repr=False)
    """``data`` as the log stores it (compact JSON), when known: what leaves the daemon is
    built from this text instead of rendering ``data`` again for every stream and webhook."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append (its position, sequence number and time are the log's)."""

    type: str
    data: dict[str, Any]
    id: str
