"""Sessions and their append-only status history."""

from __future__ import annotations

from datetime import datetime

from storage.engine import Row, SqlEngine
from storage.errors import AlreadyExists, Constraint, ConstraintViolation, NotFound, StorageError
from storage.sqlite._columns import (
    NO_LIMIT,
    check_session_id,
    decoding,
    from_ms,
    missing_session,
    opt_from_ms,
    opt_to_ms,
    to_ms,
)
from storage.values import SessionRow, SessionStatus, SessionTransition

CREATED_REASON = "created"

SESSION_COLUMNS = (
    "id, name, created_at, updated_at, auto_connect, active, status, status_reason, "
    "status_changed_at, last_error, last_connected_at, last_message_at, last_status_check"
)
INSERT_SESSION = """
INSERT INTO sessions (id, name, created_at, updated_at, auto_connect, active,
                      status, status_reason, status_changed_at)
VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
"""
SELECT_SESSION = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?"
SELECT_SESSIONS = f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at, id"
SELECT_STATUS = "SELECT status FROM sessions WHERE id = ?"
UPDATE_STATUS = """
UPDATE sessions
SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ?,
    last_error = coalesce(?, last_error),
    last_connected_at = CASE WHEN ? = 1 THEN ? ELSE last_connected_at END
WHERE id = ?
"""
UPDATE_SETTINGS = """
UPDATE sessions
SET name = coalesce(?, name), auto_connect = coalesce(?, auto_connect),
    active = coalesce(?, active), updated_at = ?
WHERE id = ?
"""
UPDATE_ACTIVITY = """
UPDATE sessions
SET last_message_at = coalesce(?, last_message_at),
    last_status_check = coalesce(?, last_status_check)
WHERE id = ?
"""
DELETE_SESSION = "DELETE FROM sessions WHERE id = ?"

# The seq is computed inside the INSERT, under the transaction's write lock, so two
# transitions can never get the same number.
INSERT_TRANSITION = """
INSERT INTO session_transitions (session_id, seq, from_status, to_status, reason, at)
SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ? FROM session_transitions WHERE session_id = ?
RETURNING seq
"""
SELECT_TRANSITIONS = """
SELECT session_id, seq, from_status, to_status, reason, at FROM session_transitions
WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?
"""


def _opt_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


class SqliteSessionRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def create(
        self, session_id: str, *, name: str = "", auto_connect: bool = True
    ) -> SessionRow:
        check_session_id(session_id)
        now = to_ms(self._db.now())
        async with self._db.transaction():
            try:
                await self._db.execute(
                    INSERT_SESSION,
                    (
                        session_id,
                        name,
                        now,
                        now,
                        int(auto_connect),
                        SessionStatus.NEW.value,
                        CREATED_REASON,
                        now,
                    ),
                )
            except ConstraintViolation as exc:
                if exc.constraint is Constraint.UNIQUE:
                    raise AlreadyExists(f"session {session_id!r} already exists") from exc
                raise
            await self._append_transition(session_id, None, SessionStatus.NEW, CREATED_REASON, now)
            return await self._require(session_id)

    async def get(self, session_id: str) -> SessionRow | None:
        row = await self._db.fetch_one(SELECT_SESSION, (session_id,))
        return None if row is None else _decode_session(row)

    async def list_all(self) -> list[SessionRow]:
        return [_decode_session(row) for row in await self._db.fetch_all(SELECT_SESSIONS)]

    async def update_status(
        self,
        session_id: str,
        status: SessionStatus,
        reason: str,
        *,
        error: str | None = None,
    ) -> SessionTransition:
        status = SessionStatus(status)
        at = self._db.now()
        now = to_ms(at)
        async with self._db.transaction():
            row = await self._db.fetch_one(SELECT_STATUS, (session_id,))
            if row is None:
                raise missing_session(session_id)
            with decoding(session_id, "sessions"):
                previous = SessionStatus(row[0])
            connected = status is SessionStatus.CONNECTED
            await self._db.execute(
                UPDATE_STATUS,
                (status.value, reason, now, now, error, int(connected), now, session_id),
            )
            seq = await self._append_transition(session_id, previous, status, reason, now)
        return SessionTransition(
            session_id=session_id,
            seq=seq,
            from_status=previous,
            to_status=status,
            reason=reason,
            at=from_ms(now),
        )

    async def update_settings(
        self,
        session_id: str,
        *,
        name: str | None = None,
        auto_connect: bool | None = None,
        active: bool | None = None,
    ) -> SessionRow:
        now = to_ms(self._db.now())
        async with self._db.transaction():
            changed = await self._db.execute(
                UPDATE_SETTINGS,
                (name, _opt_bool(auto_connect), _opt_bool(active), now, session_id),
            )
            if changed == 0:
                raise missing_session(session_id)
            return await self._require(session_id)

    async def record_activity(
        self,
        session_id: str,
        *,
        message_at: datetime | None = None,
        status_check_at: datetime | None = None,
    ) -> None:
        changed = await self._db.execute(
            UPDATE_ACTIVITY, (opt_to_ms(message_at), opt_to_ms(status_check_at), session_id)
        )
        if changed == 0:
            raise missing_session(session_id)

    async def transitions(
        self, session_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[SessionTransition]:
        rows = await self._db.fetch_all(
            SELECT_TRANSITIONS, (session_id, after_seq, NO_LIMIT if limit is None else limit)
        )
        return [_decode_transition(row) for row in rows]

    async def delete(self, session_id: str) -> None:
        if await self._db.execute(DELETE_SESSION, (session_id,)) == 0:
            raise missing_session(session_id)

    async def _require(self, session_id: str) -> SessionRow:
        session = await self.get(session_id)
        if session is None:
            raise NotFound(f"session {session_id!r} does not exist")
        return session

    async def _append_transition(
        self,
        session_id: str,
        from_status: SessionStatus | None,
        to_status: SessionStatus,
        reason: str,
        at_ms: int,
    ) -> int:
        row = await self._db.fetch_one(
            INSERT_TRANSITION,
            (
                session_id,
                None if from_status is None else from_status.value,
                to_status.value,
                reason,
                at_ms,
                session_id,
            ),
        )
        if row is None:  # INSERT ... SELECT over an aggregate always yields one row
            raise StorageError(f"session {session_id!r}: transition was not recorded")
        return int(row[0])


def _decode_session(row: Row) -> SessionRow:
    session_id = str(row[0])
    with decoding(session_id, "sessions"):
        return SessionRow(
            id=session_id,
            name=row[1],
            created_at=from_ms(row[2]),
            updated_at=from_ms(row[3]),
            auto_connect=bool(row[4]),
            active=bool(row[5]),
            status=SessionStatus(row[6]),
            status_reason=row[7],
            status_changed_at=from_ms(row[8]),
            last_error=row[9],
            last_connected_at=opt_from_ms(row[10]),
            last_message_at=opt_from_ms(row[11]),
            last_status_check=opt_from_ms(row[12]),
        )


def _decode_transition(row: Row) -> SessionTransition:
    session_id = str(row[0])
    with decoding(session_id, "session_transitions"):
        return SessionTransition(
            session_id=session_id,
            seq=row[1],
            from_status=None if row[2] is None else SessionStatus(row[2]),
            to_status=SessionStatus(row[3]),
            reason=row[4],
            at=from_ms(row[5]),
        )
