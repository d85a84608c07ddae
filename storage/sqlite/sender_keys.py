"""Group sender-key records."""

from __future__ import annotations

from storage.engine import SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.sqlite._columns import missing_session, to_ms
from storage.sqlite.signal_sessions import check_address, check_record

SELECT_RECORD = """
SELECT record FROM sender_keys WHERE session_id = ? AND group_id = ? AND sender_address = ?
"""
UPSERT_RECORD = """
INSERT INTO sender_keys (session_id, group_id, sender_address, record, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (session_id, group_id, sender_address)
DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at
"""
DELETE_RECORD = """
DELETE FROM sender_keys WHERE session_id = ? AND group_id = ? AND sender_address = ?
"""


class SqliteSenderKeyRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def load(self, session_id: str, group_id: str, sender_address: str) -> bytes | None:
        row = await self._db.fetch_one(SELECT_RECORD, (session_id, group_id, sender_address))
        return None if row is None else bytes(row[0])

    async def store(
        self, session_id: str, group_id: str, sender_address: str, record: bytes
    ) -> None:
        if not isinstance(group_id, str) or not group_id:
            raise ValueError("group id must be a non-empty string")
        check_address(sender_address)
        check_record(record)
        try:
            await self._db.execute(
                UPSERT_RECORD,
                (session_id, group_id, sender_address, record, to_ms(self._db.now())),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def delete(self, session_id: str, group_id: str, sender_address: str) -> bool:
        return await self._db.execute(DELETE_RECORD, (session_id, group_id, sender_address)) > 0
