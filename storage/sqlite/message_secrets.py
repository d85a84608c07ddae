"""Message secrets (polls, events, secret reactions), kept by (chat, sender, message id)."""

from __future__ import annotations

from collections.abc import Sequence

from storage.engine import SqlEngine
from storage.sqlite._columns import to_ms
from storage.sync_values import MessageSecret

PUT_SECRET = """
INSERT INTO message_secrets (session_id, chat_jid, sender_jid, message_id, secret, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, chat_jid, sender_jid, message_id) DO NOTHING
"""
GET_SECRET = """
SELECT secret FROM message_secrets
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
"""


class SqliteMessageSecretRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def put_many(self, session_id: str, secrets: Sequence[MessageSecret]) -> int:
        """Stores secrets not known yet (the first one of a message stays); returns how many."""
        if not secrets:
            return 0
        now = to_ms(self._db.now())
        rows = [
            (session_id, s.chat, s.sender, s.message_id, s.secret, now)
            for s in secrets
            if s.secret and s.message_id
        ]
        return await self._db.execute_many(PUT_SECRET, rows)

    async def get(self, session_id: str, chat: str, sender: str, message_id: str) -> bytes | None:
        row = await self._db.fetch_one(GET_SECRET, (session_id, chat, sender, message_id))
        return None if row is None else bytes(row[0])
