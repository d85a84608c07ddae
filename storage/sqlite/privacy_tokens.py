"""Privacy tokens and the NCT salt in SQLite (migration 0009)."""

from __future__ import annotations

from storage.engine import Row, SqlEngine
from storage.privacy_interfaces import PrivacyToken
from storage.sqlite._columns import decoding

SELECT = (
    "SELECT jid, token, token_at, sender_at FROM privacy_tokens WHERE session_id = ? AND jid = ?"
)
SELECT_ALL = (
    "SELECT jid, token, token_at, sender_at FROM privacy_tokens WHERE session_id = ? ORDER BY jid"
)
# A token older than the stored one is a stale copy (history after a notification).
PUT_TOKEN = """
INSERT INTO privacy_tokens (session_id, jid, token, token_at) VALUES (?, ?, ?, ?)
ON CONFLICT (session_id, jid) DO UPDATE SET token = excluded.token, token_at = excluded.token_at
WHERE excluded.token_at >= privacy_tokens.token_at OR privacy_tokens.token IS NULL
"""
SET_SENDER_AT = """
INSERT INTO privacy_tokens (session_id, jid, sender_at) VALUES (?, ?, ?)
ON CONFLICT (session_id, jid) DO UPDATE SET sender_at = CASE
    WHEN excluded.sender_at > privacy_tokens.sender_at THEN excluded.sender_at
    ELSE privacy_tokens.sender_at END
"""


def _token(session_id: str, row: Row) -> PrivacyToken:
    with decoding(session_id, "privacy_tokens"):
        return PrivacyToken(
            jid=str(row[0]),
            token=None if row[1] is None else bytes(row[1]),
            token_at=int(row[2]),
            sender_at=int(row[3]),
        )


class SqlitePrivacyTokenRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def get(self, session_id: str, jid: str) -> PrivacyToken | None:
        rows = await self._db.fetch_all(SELECT, (session_id, jid))
        return _token(session_id, rows[0]) if rows else None

    async def put_token(self, session_id: str, jid: str, token: bytes, token_at: int) -> bool:
        return await self._db.execute(PUT_TOKEN, (session_id, jid, token, token_at)) > 0

    async def set_sender_at(self, session_id: str, jid: str, sender_at: int) -> None:
        await self._db.execute(SET_SENDER_AT, (session_id, jid, sender_at))

    async def all(self, session_id: str) -> list[PrivacyToken]:
        rows = await self._db.fetch_all(SELECT_ALL, (session_id,))
        return [_token(session_id, row) for row in rows]

    async def get_salt(self, session_id: str) -> bytes | None:
        rows = await self._db.fetch_all(
            "SELECT nct_salt FROM privacy_salts WHERE session_id = ?", (session_id,)
        )
        return bytes(rows[0][0]) if rows else None

    async def put_salt(self, session_id: str, salt: bytes | None) -> None:
        if not salt:
            await self._db.execute("DELETE FROM privacy_salts WHERE session_id = ?", (session_id,))
            return
        await self._db.execute(
            "INSERT INTO privacy_salts (session_id, nct_salt) VALUES (?, ?) "
            "ON CONFLICT (session_id) DO UPDATE SET nct_salt = excluded.nct_salt",
            (session_id, salt),
        )
