"""Per-session API keys (only a hash of each secret is kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: str
    session_id: str
    secret_hash: bytes = field(repr=False)
    label: str
    created_at: datetime
    chats: tuple[str, ...] | None = None
    """The only chats the key may see; None: every chat of its session."""
    can_send: bool = True
    created_by: str = "admin"
    updated_at: datetime | None = None
