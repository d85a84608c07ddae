"""Privacy tokens and the NCT salt (migration 0009). Same rules as :mod:`storage.interfaces`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PrivacyToken:
    jid: str
    """The contact: its LID when known, else its phone-number JID."""
    token: bytes | None
    """The token the contact issued to us (None: none, or it expired)."""
    token_at: int
    """When the contact issued it (unix seconds)."""
    sender_at: int
    """When we last issued ours to the contact (unix seconds, 0 never)."""


class PrivacyTokenRepo(Protocol):
    async def get(self, session_id: str, jid: str) -> PrivacyToken | None: ...

    async def put_token(self, session_id: str, jid: str, token: bytes, token_at: int) -> bool:
        """Keeps the newer of the stored and the given token; True if the given one won."""
        ...

    async def set_sender_at(self, session_id: str, jid: str, sender_at: int) -> None: ...

    async def all(self, session_id: str) -> list[PrivacyToken]: ...

    async def get_salt(self, session_id: str) -> bytes | None: ...

    async def put_salt(self, session_id: str, salt: bytes | None) -> None:
        """Stores the salt; None (or empty) removes it."""
        ...
