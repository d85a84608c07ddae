"""The contact directory: every person a session knows, with the names it has for them (the
address book from app state, the push name they chose), for listing; the messaging side keeps
learning them (``ContactRepo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ContactEntry:
    position: int
    """Stable order for paging."""
    pn: str | None
    lid: str | None
    push_name: str | None
    full_name: str | None
    """The name in our phone's address book."""
    first_name: str | None


class ContactDirectory(Protocol):
    async def page(
        self, session_id: str, *, after: int = 0, limit: int = 100
    ) -> list[ContactEntry]: ...


__all__ = ["ContactDirectory", "ContactEntry"]
