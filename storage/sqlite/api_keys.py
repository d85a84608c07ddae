"""Per-session API keys: only a hash of each secret is stored. A key may be restricted to some
chats (and to reading them); the webhooks made with it carry the same chats."""

from __future__ import annotations

import json

from storage.api_key_values import ApiKeyRow
from storage.engine import Row, SqlEngine
from storage.errors import AlreadyExists, Constraint, ConstraintViolation, NotFound
from storage.sqlite._columns import decoding, from_ms, opt_from_ms, to_ms

COLUMNS = "id, session_id, secret_hash, label, created_at, chats, can_send, created_by, updated_at"
INSERT = f"""
INSERT INTO api_keys (id, session_id, secret_hash, label, created_at, chats, can_send,
                      created_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING {COLUMNS}
"""
UPDATE_SCOPE = f"""
UPDATE api_keys SET label = coalesce(?, label), chats = CASE WHEN ? = 1 THEN ? ELSE chats END,
    can_send = coalesce(?, can_send), updated_at = ?
WHERE session_id = ? AND id = ?
RETURNING {COLUMNS}
"""
UPDATE_WEBHOOK_CHATS = "UPDATE webhooks SET chats = ? WHERE api_key_id = ?"
SELECT_ONE = f"SELECT {COLUMNS} FROM api_keys WHERE id = ?"
SELECT_FOR_SESSION = f"SELECT {COLUMNS} FROM api_keys WHERE session_id = ? ORDER BY created_at, id"
DELETE_ONE = "DELETE FROM api_keys WHERE session_id = ? AND id = ?"


class SqliteApiKeyRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def create(
        self,
        key_id: str,
        session_id: str,
        secret_hash: bytes,
        label: str = "",
        *,
        chats: tuple[str, ...] | None = None,
        can_send: bool = True,
        created_by: str = "admin",
    ) -> ApiKeyRow:
        if len(secret_hash) != 32:
            raise ValueError("secret_hash must be a 32-byte SHA-256 digest")
        now = to_ms(self._db.now())
        values = (
            key_id,
            session_id,
            secret_hash,
            label,
            now,
            encode_chats(chats),
            int(can_send),
            created_by,
        )
        try:
            row = await self._db.fetch_one(INSERT, values)
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

    async def update(
        self,
        session_id: str,
        key_id: str,
        *,
        label: str | None = None,
        set_chats: bool = False,
        chats: tuple[str, ...] | None = None,
        can_send: bool | None = None,
    ) -> ApiKeyRow:
        """Changes the label, the chats (when ``set_chats``; None lifts the restriction) or
        the right to send; the key's webhooks follow its chats in the same transaction."""
        encoded = encode_chats(chats)
        now = to_ms(self._db.now())
        async with self._db.transaction():
            row = await self._db.fetch_one(
                UPDATE_SCOPE,
                (
                    label,
                    int(set_chats),
                    encoded,
                    None if can_send is None else int(can_send),
                    now,
                    session_id,
                    key_id,
                ),
            )
            if row is None:
                raise NotFound(f"no API key {key_id!r} in session {session_id!r}")
            if set_chats:
                await self._db.execute(UPDATE_WEBHOOK_CHATS, (encoded, key_id))
        return _decode(row)

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
            chats=decode_chats(row[5]),
            can_send=bool(row[6]),
            created_by=str(row[7]),
            updated_at=opt_from_ms(row[8]),
        )


def encode_chats(chats: tuple[str, ...] | None) -> str | None:
    return None if chats is None else json.dumps(sorted(set(chats)))


def decode_chats(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    chats = json.loads(str(raw))
    if not isinstance(chats, list) or not all(isinstance(c, str) for c in chats):
        raise ValueError("chats is not a JSON array of strings")
    return tuple(chats)
