"""One-time prekeys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.engine import Row, SqlEngine
from storage.errors import AlreadyExists, Constraint, ConstraintViolation
from storage.sqlite._batches import insert_rows
from storage.sqlite._columns import decoding, from_ms, missing_session, to_ms
from storage.values import PreKey, PreKeyRow

TABLE = "prekeys"
ROW_COLUMNS = "key_id, private_key, public_key, uploaded, created_at"
INSERT_PREKEYS = """
INSERT INTO prekeys (session_id, key_id, private_key, public_key, uploaded, created_at)
VALUES {rows}
"""
INSERT_ROW = "(?, ?, ?, ?, 0, ?)"
SELECT_PREKEY = f"SELECT {ROW_COLUMNS} FROM prekeys WHERE session_id = ? AND key_id = ?"
CONSUME_PREKEY = f"DELETE FROM prekeys WHERE session_id = ? AND key_id = ? RETURNING {ROW_COLUMNS}"
DELETE_PREKEY = "DELETE FROM prekeys WHERE session_id = ? AND key_id = ?"
MARK_UPLOADED = "UPDATE prekeys SET uploaded = 1 WHERE session_id = ? AND key_id IN ({ids})"
COUNT_ALL = "SELECT count(*) FROM prekeys WHERE session_id = ?"
COUNT_BY_UPLOADED = "SELECT count(*) FROM prekeys WHERE session_id = ? AND uploaded = ?"
MAX_ID = "SELECT coalesce(max(key_id), 0) FROM prekeys WHERE session_id = ?"
SELECT_NOT_UPLOADED = f"""
SELECT {ROW_COLUMNS} FROM prekeys WHERE session_id = ? AND uploaded = 0
ORDER BY key_id LIMIT ?
"""
# Keys per UPDATE (see storage.sqlite._batches: one statement per key would be a round trip
# each to a PostgreSQL server).
CHUNK = 200


class SqlitePreKeyRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def add_batch(self, session_id: str, prekeys: Sequence[PreKey]) -> None:
        batch = list(prekeys)
        if not all(isinstance(prekey, PreKey) for prekey in batch):
            raise ValueError("prekeys must be PreKey values")
        ids = [prekey.key_id for prekey in batch]
        if len(set(ids)) != len(ids):
            raise ValueError("prekey ids in a batch must be distinct")
        if not batch:
            return
        now = to_ms(self._db.now())
        try:
            await insert_rows(
                self._db,
                INSERT_PREKEYS,
                INSERT_ROW,
                [(session_id, p.key_id, p.private, p.public, now) for p in batch],
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            if exc.constraint is Constraint.UNIQUE:
                raise AlreadyExists(
                    f"session {session_id!r}: a prekey id in {min(ids)}..{max(ids)} is "
                    "already stored; nothing of the batch was written"
                ) from exc
            raise

    async def get(self, session_id: str, key_id: int) -> PreKeyRow | None:
        row = await self._db.fetch_one(SELECT_PREKEY, (session_id, key_id))
        return None if row is None else _decode(session_id, row)

    async def consume(self, session_id: str, key_id: int) -> PreKeyRow | None:
        row = await self._db.fetch_one(CONSUME_PREKEY, (session_id, key_id))
        return None if row is None else _decode(session_id, row)

    async def remove(self, session_id: str, key_id: int) -> bool:
        return await self._db.execute(DELETE_PREKEY, (session_id, key_id)) > 0

    async def mark_uploaded(self, session_id: str, key_ids: Iterable[int]) -> int:
        ids = list(key_ids)
        if not ids:
            return 0
        changed = 0
        async with self._db.transaction():
            for start in range(0, len(ids), CHUNK):
                part = ids[start : start + CHUNK]
                changed += await self._db.execute(
                    MARK_UPLOADED.format(ids=", ".join("?" * len(part))), [session_id, *part]
                )
        return changed

    async def count(self, session_id: str, *, uploaded: bool | None = None) -> int:
        if uploaded is None:
            row = await self._db.fetch_one(COUNT_ALL, (session_id,))
        else:
            row = await self._db.fetch_one(COUNT_BY_UPLOADED, (session_id, int(uploaded)))
        return int(row[0]) if row else 0

    async def max_id(self, session_id: str) -> int:
        row = await self._db.fetch_one(MAX_ID, (session_id,))
        return int(row[0]) if row else 0

    async def list_not_uploaded(self, session_id: str, limit: int) -> list[PreKeyRow]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        rows = await self._db.fetch_all(SELECT_NOT_UPLOADED, (session_id, limit))
        return [_decode(session_id, row) for row in rows]


def _decode(session_id: str, row: Row) -> PreKeyRow:
    with decoding(session_id, TABLE):
        return PreKeyRow(
            key_id=row[0],
            private=row[1],
            public=row[2],
            uploaded=bool(row[3]),
            created_at=from_ms(row[4]),
        )
