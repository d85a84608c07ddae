"""Per-session API keys: only a hash of each secret is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.db import Database, Row
from storage.errors import AlreadyExists, Constraint, ConstraintViolation, NotFound
from storage.sqlite._columns import decoding, from_ms, to_ms


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: str
    session_id: str
    secret_hash: bytes = field(repr=False)
    label: str
    created_at: datetime


COLUMNS = "id, session_id, secret_hash, label, created_at"
INSERT = f"""
INSERT INTO api_keys (id, session_id, secret_hash, label, created_at) VALUES (?, ?, ?, ?, ?)
RETURNING {COLUMNS}
"""
SELECT_ONE = f"SELECT {COLUMNS} FROM api_keys WHERE id = ?"
SELECT_FOR_SESSION = f"SELECT {COLUMNS} FROM api_keys WHERE session_id = ? ORDER BY created_at, id"
DELETE_ONE = "DELETE FROM api_keys WHERE session_id = ? AND id = ?"


class SqliteApiKeyRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, key_id: str, session_id: str, secret_hash: bytes, label: str = ""
    ) -> ApiKeyRow:
        if len(secret_hash) != 32:
            raise ValueError("secret_hash must be a 32-byte SHA-256 digest")
        now = to_ms(self._db.now())
        try:
            row = await self._db.fetch_one(INSERT, (key_id, session_id, secret_hash, label, now))
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.UNIQUE:
                raise AlreadyExists(f"API key {key_id!r} exists") from exc
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise NotFound(f"session {session_id!r} does not exist") from exc
            raise
        if row is None:
            raise NotFound(f"session {session_id!r} does not exist")
        return _decode(row)

    async def get(self, key_id: str) -> ApiKeyRow | None:
        row = await self._db.fetch_one(SELECT_ONE, (key_id,))
        return None if row is None else _decode(row)

    async def list_for_session(self, session_id: str) -> list[ApiKeyRow]:
        return [_decode(row) for row in await self._db.fetch_all(SELECT_FOR_SESSION, (session_id,))]

    async def delete(self, session_id: str, key_id: str) -> bool:
        return await self._db.execute(DELETE_ONE, (session_id, key_id)) == 1


def _decode(row: Row) -> ApiKeyRow:
    session_id = str(row[1])
    with decoding(session_id, "api_keys"):
        return ApiKeyRow(
            id=str(row[0]),
            session_id=session_id,
            secret_hash=bytes(row[2]),
            label=str(row[3]),
            created_at=from_ms(row[4]),
        )
