"""Which devices already hold our current sender key for a group (they got the SKDM)."""

from __future__ import annotations

from collections.abc import Iterable

from storage.engine import SqlEngine
from storage.sqlite._columns import to_ms

SELECT = "SELECT device FROM sender_key_memory WHERE session_id = ? AND group_jid = ?"
INSERT = """
INSERT INTO sender_key_memory (session_id, group_jid, device, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""
CLEAR = "DELETE FROM sender_key_memory WHERE session_id = ? AND group_jid = ?"


class SqliteSenderKeyMemoryRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def devices(self, session_id: str, group: str) -> set[str]:
        rows = await self._db.fetch_all(SELECT, (session_id, group))
        return {str(row[0]) for row in rows}

    async def add(self, session_id: str, group: str, devices: Iterable[str]) -> None:
        now = to_ms(self._db.now())
        await self._db.execute_many(INSERT, [(session_id, group, d, now) for d in devices])

    async def clear(self, session_id: str, group: str) -> int:
        return await self._db.execute(CLEAR, (session_id, group))
