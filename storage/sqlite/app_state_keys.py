"""App-state sync keys shared by the primary phone."""

from __future__ import annotations

from storage.engine import Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.sqlite._columns import decoding, missing_session
from storage.values import AppStateSyncKey

TABLE = "app_state_sync_keys"
COLUMNS = "key_id, key_data, fingerprint, timestamp"
# The phone may share a key again; only a newer copy replaces the stored one.
UPSERT_KEY = """
INSERT INTO app_state_sync_keys (session_id, key_id, key_data, fingerprint, timestamp)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (session_id, key_id) DO UPDATE
SET key_data = excluded.key_data, fingerprint = excluded.fingerprint,
    timestamp = excluded.timestamp
WHERE excluded.timestamp > app_state_sync_keys.timestamp
"""
SELECT_KEY = f"SELECT {COLUMNS} FROM app_state_sync_keys WHERE session_id = ? AND key_id = ?"
SELECT_LATEST = f"""
SELECT {COLUMNS} FROM app_state_sync_keys WHERE session_id = ?
ORDER BY timestamp DESC, key_id DESC LIMIT 1
"""


class SqliteAppStateKeyRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def store(self, session_id: str, key: AppStateSyncKey) -> bool:
        if not isinstance(key, AppStateSyncKey):
            raise ValueError("key must be an AppStateSyncKey")
        try:
            changed = await self._db.execute(
                UPSERT_KEY, (session_id, key.key_id, key.key_data, key.fingerprint, key.timestamp)
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise
        return changed > 0

    async def load(self, session_id: str, key_id: bytes) -> AppStateSyncKey | None:
        row = await self._db.fetch_one(SELECT_KEY, (session_id, key_id))
        return None if row is None else _decode(session_id, row)

    async def latest(self, session_id: str) -> AppStateSyncKey | None:
        row = await self._db.fetch_one(SELECT_LATEST, (session_id,))
        return None if row is None else _decode(session_id, row)


def _decode(session_id: str, row: Row) -> AppStateSyncKey:
    with decoding(session_id, TABLE):
        return AppStateSyncKey(key_id=row[0], key_data=row[1], fingerprint=row[2], timestamp=row[3])
