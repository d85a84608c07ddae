"""The outbox: sends as rows (with the caller's idempotency key), their attempts and outcome,
and per-session sending pauses."""

from __future__ import annotations

import json
from datetime import datetime

from storage.engine import Row, SqlEngine
from storage.errors import AlreadyExists, Constraint, ConstraintViolation, NotFound
from storage.outbox_values import (
    STATUS_RANK,
    NewOutboxRow,
    OutboxRow,
    OutboxStatus,
    SendingPause,
)
from storage.sqlite._columns import decoding, from_ms, opt_from_ms, to_ms

COLUMNS = (
    "id, session_id, idempotency_key, request_hash, chat_jid, kind, payload, status, attempts, "
    "next_attempt_at, last_error, created_at, updated_at, sent_at, server_timestamp, "
    "uncertain_sends"
)
INSERT = f"""
INSERT INTO outbox (id, session_id, idempotency_key, request_hash, chat_jid, kind, payload,
                    status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
RETURNING {COLUMNS}
"""
SELECT_ONE = f"SELECT {COLUMNS} FROM outbox WHERE session_id = ? AND id = ?"
SELECT_BY_ID = f"SELECT {COLUMNS} FROM outbox WHERE id = ?"
SELECT_BY_KEY = f"SELECT {COLUMNS} FROM outbox WHERE session_id = ? AND idempotency_key = ?"
# Among each chat's oldest open row (a chat's messages go in order), the oldest that is due;
# else the one due first. A chat held by a restriction or backing off does not stop the others.
SELECT_NEXT_OPEN = f"""
SELECT {COLUMNS} FROM outbox AS o
WHERE session_id = ? AND status IN ('pending', 'sending')
AND NOT EXISTS (
    SELECT 1 FROM outbox AS e WHERE e.session_id = o.session_id AND e.chat_jid = o.chat_jid
    AND e.status IN ('pending', 'sending') AND e.rowid < o.rowid
)
ORDER BY next_attempt_at > ?, CASE WHEN next_attempt_at > ? THEN next_attempt_at END, rowid
LIMIT 1
"""
SELECT_OPEN_SESSIONS = """
SELECT DISTINCT session_id FROM outbox WHERE status IN ('pending', 'sending')
"""
SELECT_PAGE = f"""
SELECT {COLUMNS} FROM outbox
WHERE session_id = ? AND (? IS NULL OR status = ?) AND rowid < ?
ORDER BY rowid DESC LIMIT ?
"""
SELECT_ROWID = "SELECT rowid FROM outbox WHERE session_id = ? AND id = ?"
COUNT_BY_STATUS = "SELECT status, count(*) FROM outbox WHERE session_id = ? GROUP BY status"
MARK_SENDING = """
UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?
WHERE id = ? AND status IN ('pending', 'sending')
"""
# A receipt can be committed before the sender's "sent": the status then stays ahead.
MARK_SENT = """
UPDATE outbox
SET status = CASE WHEN status IN ('pending', 'sending') THEN 'sent' ELSE status END,
    sent_at = ?, server_timestamp = ?, updated_at = ?, last_error = NULL
WHERE id = ? AND status <> 'failed'
"""
RESCHEDULE = """
UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, updated_at = ?
WHERE id = ? AND status IN ('pending', 'sending')
"""
MARK_FAILED = """
UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ?
WHERE id = ? AND status IN ('pending', 'sending')
"""
ADVANCE_STATUS = """
UPDATE outbox SET status = ?, updated_at = ? WHERE id = ? AND status = ?
"""
REQUEUE_INTERRUPTED = """
UPDATE outbox SET status = 'pending', uncertain_sends = uncertain_sends + 1, updated_at = ?
WHERE status = 'sending'
"""
SELECT_PAUSE = "SELECT session_id, until, reason FROM outbox_pauses WHERE session_id = ?"
UPSERT_PAUSE = """
INSERT INTO outbox_pauses (session_id, until, reason, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET until = excluded.until, reason = excluded.reason
"""
DELETE_PAUSE = "DELETE FROM outbox_pauses WHERE session_id = ?"

_MAX_ROWID = 2**63 - 1


class SqliteOutboxRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def insert(self, row: NewOutboxRow) -> OutboxRow:
        """Store a new send, due now. Raises AlreadyExists when the session already has the
        idempotency key (or the id), NotFound when the session does not exist."""
        now = to_ms(self._db.now())
        payload = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False)
        try:
            stored = await self._db.fetch_one(
                INSERT,
                (
                    row.id,
                    row.session_id,
                    row.idempotency_key,
                    row.request_hash,
                    row.chat_jid,
                    row.kind,
                    payload,
                    now,
                    now,
                    now,
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.UNIQUE:
                raise AlreadyExists(f"outbox row {row.id!r} or its key exists") from exc
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise NotFound(f"session {row.session_id!r} does not exist") from exc
            raise
        if stored is None:
            raise NotFound(f"session {row.session_id!r} does not exist")
        return _decode(stored)

    async def get(self, session_id: str, message_id: str) -> OutboxRow | None:
        row = await self._db.fetch_one(SELECT_ONE, (session_id, message_id))
        return None if row is None else _decode(row)

    async def get_by_id(self, message_id: str) -> OutboxRow | None:
        row = await self._db.fetch_one(SELECT_BY_ID, (message_id,))
        return None if row is None else _decode(row)

    async def find_by_key(self, session_id: str, idempotency_key: str) -> OutboxRow | None:
        row = await self._db.fetch_one(SELECT_BY_KEY, (session_id, idempotency_key))
        return None if row is None else _decode(row)

    async def next_open(self, session_id: str, now: datetime | None = None) -> OutboxRow | None:
        """The row to send next: the oldest due one among each chat's oldest open row, else
        the one due first (``now`` defaults to the database clock)."""
        at = to_ms(now if now is not None else self._db.now())
        row = await self._db.fetch_one(SELECT_NEXT_OPEN, (session_id, at, at))
        return None if row is None else _decode(row)

    async def sessions_with_open_rows(self) -> list[str]:
        return [str(row[0]) for row in await self._db.fetch_all(SELECT_OPEN_SESSIONS)]

    async def page(
        self,
        session_id: str,
        *,
        status: OutboxStatus | None = None,
        before_id: str | None = None,
        limit: int = 20,
    ) -> list[OutboxRow]:
        """Newest first; ``before_id`` continues after that row."""
        before = _MAX_ROWID
        if before_id is not None:
            found = await self._db.fetch_one(SELECT_ROWID, (session_id, before_id))
            if found is None:
                return []
            before = int(found[0])
        value = None if status is None else status.value
        rows = await self._db.fetch_all(SELECT_PAGE, (session_id, value, value, before, limit))
        return [_decode(row) for row in rows]

    async def counts(self, session_id: str) -> dict[OutboxStatus, int]:
        rows = await self._db.fetch_all(COUNT_BY_STATUS, (session_id,))
        return {OutboxStatus(str(status)): int(count) for status, count in rows}

    async def mark_sending(self, message_id: str) -> bool:
        """Record that an attempt starts now (committed before the send goes out)."""
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_SENDING, (now, message_id)) == 1

    async def mark_sent(self, message_id: str, server_timestamp: int | None) -> bool:
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_SENT, (now, server_timestamp, now, message_id)) == 1

    async def reschedule(self, message_id: str, next_attempt_at: datetime, error: str) -> bool:
        now = to_ms(self._db.now())
        changed = await self._db.execute(
            RESCHEDULE, (to_ms(next_attempt_at), error, now, message_id)
        )
        return changed == 1

    async def mark_failed(self, message_id: str, reason: str) -> bool:
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_FAILED, (reason, now, message_id)) == 1

    async def advance_status(self, message_id: str, status: OutboxStatus) -> OutboxStatus | None:
        """Move a sent message forward (delivered, read, played) and never back; returns the
        status it had when it moved, None when it did not move."""
        if status not in STATUS_RANK:
            raise ValueError(f"{status.value} is not a receipt status")
        now = to_ms(self._db.now())
        async with self._db.transaction():
            row = await self._db.fetch_one("SELECT status FROM outbox WHERE id = ?", (message_id,))
            if row is None:
                return None
            current = OutboxStatus(str(row[0]))
            # A receipt proves the message went out, even if the sender's "sent" is not yet
            # committed (pending/sending rank below sent); a failed row stays failed.
            if current is OutboxStatus.FAILED:
                return None
            if STATUS_RANK.get(current, 0) >= STATUS_RANK[status]:
                return None
            await self._db.execute(ADVANCE_STATUS, (status.value, now, message_id, current.value))
            return current

    async def requeue_interrupted(self) -> int:
        """Rows a previous process left in ``sending``: whether the server got them is unknown,
        so they are sent again under the same id (counted in ``uncertain_sends``)."""
        return await self._db.execute(REQUEUE_INTERRUPTED, (to_ms(self._db.now()),))

    async def pause(self, session_id: str, until: datetime, reason: str) -> None:
        now = to_ms(self._db.now())
        await self._db.execute(UPSERT_PAUSE, (session_id, to_ms(until), reason, now))

    async def pause_of(self, session_id: str) -> SendingPause | None:
        row = await self._db.fetch_one(SELECT_PAUSE, (session_id,))
        if row is None:
            return None
        return SendingPause(str(row[0]), from_ms(row[1]), str(row[2]))

    async def resume(self, session_id: str) -> bool:
        return await self._db.execute(DELETE_PAUSE, (session_id,)) == 1


def _decode(row: Row) -> OutboxRow:
    session_id = str(row[1])
    with decoding(session_id, "outbox"):
        payload = json.loads(row[6])
        if not isinstance(payload, dict):
            raise ValueError("outbox payload is not a JSON object")
        return OutboxRow(
            id=str(row[0]),
            session_id=session_id,
            idempotency_key=row[2],
            request_hash=bytes(row[3]),
            chat_jid=str(row[4]),
            kind=str(row[5]),
            payload=payload,
            status=OutboxStatus(row[7]),
            attempts=int(row[8]),
            next_attempt_at=from_ms(row[9]),
            last_error=row[10],
            created_at=from_ms(row[11]),
            updated_at=from_ms(row[12]),
            sent_at=opt_from_ms(row[13]),
            server_timestamp=row[14],
            uncertain_sends=int(row[15]),
        )
