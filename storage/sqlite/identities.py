"""Peer identity keys per Signal address."""

from __future__ import annotations

from storage.engine import SqlEngine
from storage.errors import Constraint, ConstraintViolation, NotFound
from storage.sqlite._columns import decoding, from_ms, missing_session, to_ms
from storage.sqlite.signal_sessions import check_address
from storage.values import IdentityChange, PeerIdentity, check_identity_key

TABLE = "signal_identities"
SELECT_IDENTITY = """
SELECT address, identity_key, first_seen, updated_at, trusted FROM signal_identities
WHERE session_id = ? AND address = ?
"""
INSERT_IDENTITY = """
INSERT INTO signal_identities (session_id, address, identity_key, first_seen, updated_at, trusted)
VALUES (?, ?, ?, ?, ?, ?)
"""
REPLACE_KEY = """
UPDATE signal_identities SET identity_key = ?, updated_at = ?, trusted = ?
WHERE session_id = ? AND address = ?
"""
UPDATE_TRUSTED = """
UPDATE signal_identities SET trusted = ?, updated_at = ? WHERE session_id = ? AND address = ?
"""
DELETE_IDENTITY = "DELETE FROM signal_identities WHERE session_id = ? AND address = ?"


class SqliteIdentityRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def load(self, session_id: str, address: str) -> PeerIdentity | None:
        row = await self._db.fetch_one(SELECT_IDENTITY, (session_id, address))
        if row is None:
            return None
        with decoding(session_id, TABLE):
            return PeerIdentity(
                address=row[0],
                identity_key=row[1],
                first_seen=from_ms(row[2]),
                updated_at=from_ms(row[3]),
                trusted=bool(row[4]),
            )

    async def save(
        self, session_id: str, address: str, identity_key: bytes, *, trusted: bool = True
    ) -> IdentityChange:
        check_address(address)
        check_identity_key(identity_key)
        now = to_ms(self._db.now())
        async with self._db.transaction():
            current = await self.load(session_id, address)
            if current is not None and current.matches(identity_key):
                return IdentityChange.UNCHANGED
            if current is not None:
                await self._db.execute(
                    REPLACE_KEY, (identity_key, now, int(trusted), session_id, address)
                )
                return IdentityChange.CHANGED
            try:
                await self._db.execute(
                    INSERT_IDENTITY, (session_id, address, identity_key, now, now, int(trusted))
                )
            except ConstraintViolation as exc:
                if exc.constraint is Constraint.FOREIGN_KEY:
                    raise missing_session(session_id) from exc
                raise
            return IdentityChange.NEW

    async def set_trusted(self, session_id: str, address: str, trusted: bool) -> None:
        changed = await self._db.execute(
            UPDATE_TRUSTED, (int(trusted), to_ms(self._db.now()), session_id, address)
        )
        if changed == 0:
            raise NotFound(f"session {session_id!r}: no identity stored for {address!r}")

    async def delete(self, session_id: str, address: str) -> bool:
        return await self._db.execute(DELETE_IDENTITY, (session_id, address)) > 0
