"""The privacy-token rows and the NCT salt of one session, read on every 1:1 send, kept in memory.

A :class:`~storage.privacy_interfaces.PrivacyTokenRepo` over the stored one: reads go through a
:class:`~daemon.client.committed_cache.CommittedCache` (committed state only), writes go to
storage and empty what they change. Every writer of the session's tokens and salt in the client
(privacy notifications, history sync, app-state sync, our own issuing) uses this one.
"""

from __future__ import annotations

from daemon.client.committed_cache import CommittedCache, OnEnd
from storage.privacy_interfaces import PrivacyToken, PrivacyTokenRepo


class CachedPrivacyTokens:
    def __init__(self, repo: PrivacyTokenRepo, on_end: OnEnd) -> None:
        self._repo = repo
        self.tokens: CommittedCache[tuple[str, str], PrivacyToken | None] = CommittedCache(on_end)
        self.salts: CommittedCache[str, bytes | None] = CommittedCache(on_end)

    async def get(self, session_id: str, jid: str) -> PrivacyToken | None:
        return await self.tokens.load((session_id, jid), lambda: self._repo.get(session_id, jid))

    def kept(self, session_id: str, jid: str) -> tuple[bool, PrivacyToken | None]:
        """The contact's row if it is kept in memory (``(False, None)`` otherwise)."""
        return self.tokens.peek((session_id, jid))

    async def put_token(self, session_id: str, jid: str, token: bytes, token_at: int) -> bool:
        written = self.tokens.writing((session_id, jid))
        try:
            return await self._repo.put_token(session_id, jid, token, token_at)
        finally:
            self.tokens.wrote(written)

    async def set_sender_at(self, session_id: str, jid: str, sender_at: int) -> None:
        written = self.tokens.writing((session_id, jid))
        try:
            await self._repo.set_sender_at(session_id, jid, sender_at)
        finally:
            self.tokens.wrote(written)

    async def all(self, session_id: str) -> list[PrivacyToken]:
        return await self._repo.all(session_id)

    async def get_salt(self, session_id: str) -> bytes | None:
        return await self.salts.load(session_id, lambda: self._repo.get_salt(session_id))

    async def put_salt(self, session_id: str, salt: bytes | None) -> None:
        written = self.salts.writing(session_id)
        try:
            await self._repo.put_salt(session_id, salt)
        finally:
            self.salts.wrote(written)

    def forget_all(self) -> None:
        """Everything is read from storage again."""
        self.tokens.clear()
        self.salts.clear()
