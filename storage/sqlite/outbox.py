"""The outbox: sends as rows (with the caller's idempotency key), their attempts and the
request's outcome, read with the message row that holds the message's lifecycle; and
per-session sending pauses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from storage.engine import Row, SqlEngine
from storage.errors import AlreadyExists, Constraint, ConstraintViolation, NotFound
from storage.event_values import compact_json
from storage.outbox_values import (
    NewOutboxRow,
    OutboxRequest,
    OutboxRow,
    OutboxStatus,
    SendingPause,
)
from storage.sqlite._columns import decoding, from_ms, opt_from_ms, to_ms

# A sent message's lifecycle (sent, delivered, read, played, and when the server took it) is
# its message row's, written in the client's transaction with the ack or the receipt; the
# outbox row holds only the request (pending, sending, done, failed). An entry is read with
# its message row: once that row has gone out its status is the entry's, whatever the request
# says (a receipt can commit before the outbox records ``done``, and a crash can leave the
# request ``sending`` after the server took it). min(id): one row should a message ever be
# stored twice.
WITH_MESSAGE = """
outbox AS o LEFT JOIN messages AS m ON m.id = (
    SELECT min(x.id) FROM messages AS x
    WHERE x.session_id = o.session_id AND x.message_id = o.id AND x.from_me = 1
)
"""
_GONE_OUT = "m.status IN ('sent', 'delivered', 'read', 'played')"
SHOWN_STATUS = (
    f"CASE WHEN {_GONE_OUT} THEN m.status WHEN o.status = 'done' THEN 'sent' ELSE o.status END"
)
_SHOWN_SENT_AT = (
    f"CASE WHEN {_GONE_OUT} THEN m.sent_at WHEN o.status = 'done' THEN o.updated_at END"
)
_SHOWN_UPDATED_AT = "CASE WHEN m.updated_at > o.updated_at THEN m.updated_at ELSE o.updated_at END"
COLUMNS = (
    "o.id, o.session_id, o.idempotency_key, o.request_hash, o.chat_jid, o.kind, o.payload, "
    f"o.status, {SHOWN_STATUS}, o.attempts, o.next_attempt_at, o.last_error, o.created_at, "
    f"{_SHOWN_UPDATED_AT}, {_SHOWN_SENT_AT}, o.uncertain_sends"
)
# A new request has no message gone out yet: it shows as its request state.
INSERT = """
INSERT INTO outbox (id, session_id, idempotency_key, request_hash, chat_jid, kind, payload,
                    status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
RETURNING id, session_id, idempotency_key, request_hash, chat_jid, kind, payload, status,
          status, attempts, next_attempt_at, last_error, created_at, updated_at, NULL,
          uncertain_sends
"""
SELECT_ONE = f"SELECT {COLUMNS} FROM {WITH_MESSAGE} WHERE o.session_id = ? AND o.id = ?"
SELECT_BY_ID = f"SELECT {COLUMNS} FROM {WITH_MESSAGE} WHERE o.id = ?"
SELECT_BY_KEY = (
    f"SELECT {COLUMNS} FROM {WITH_MESSAGE} WHERE o.session_id = ? AND o.idempotency_key = ?"
)
# Among each chat's oldest open row (a chat's messages go in order), the oldest that is due;
# else the one due first. A chat held by a restriction or backing off does not stop the others.
SELECT_NEXT_OPEN = f"""
SELECT {COLUMNS} FROM {WITH_MESSAGE}
WHERE o.session_id = ? AND o.status IN ('pending', 'sending')
AND NOT EXISTS (
    SELECT 1 FROM outbox AS e WHERE e.session_id = o.session_id AND e.chat_jid = o.chat_jid
    AND e.status IN ('pending', 'sending') AND e.rowid < o.rowid
)
ORDER BY o.next_attempt_at > ?, CASE WHEN o.next_attempt_at > ? THEN o.next_attempt_at END,
         o.rowid
LIMIT 1
"""


def next_open_past_sql(in_flight: int) -> str:
    """The choice of SELECT_NEXT_OPEN with ``in_flight`` rows being sent (their ids bound
    twice after the session): a row whose older open rows in its chat are all in flight may go
    too (the outbox keeps the chat's order on the wire, see daemon.outbox). A list of
    placeholders both engines read; '' stands for no id (an empty list is not SQL)."""
    ids = ", ".join(["''", *["?"] * in_flight])
    return f"""
SELECT {COLUMNS} FROM {WITH_MESSAGE}
WHERE o.session_id = ? AND o.status IN ('pending', 'sending') AND o.id NOT IN ({ids})
AND NOT EXISTS (
    SELECT 1 FROM outbox AS e WHERE e.session_id = o.session_id AND e.chat_jid = o.chat_jid
    AND e.status IN ('pending', 'sending') AND e.rowid < o.rowid AND e.id NOT IN ({ids})
)
ORDER BY o.next_attempt_at > ?, CASE WHEN o.next_attempt_at > ? THEN o.next_attempt_at END,
         o.rowid
LIMIT ?
"""


# A session's open rows in order of acceptance (the outbox worker holds them in memory).
SELECT_OPEN = f"""
SELECT {COLUMNS} FROM {WITH_MESSAGE}
WHERE o.session_id = ? AND o.status IN ('pending', 'sending')
ORDER BY o.rowid
LIMIT ?
"""
SELECT_OPEN_SESSIONS = """
SELECT DISTINCT session_id FROM outbox WHERE status IN ('pending', 'sending')
"""
SELECT_PAGE = f"""
SELECT {COLUMNS} FROM {WITH_MESSAGE}
WHERE o.session_id = ? AND (CAST(? AS TEXT) IS NULL OR {SHOWN_STATUS} = ?) AND o.rowid < ?
ORDER BY o.rowid DESC LIMIT ?
"""
SELECT_ROWID = "SELECT rowid FROM outbox WHERE session_id = ? AND id = ?"
COUNT_BY_STATUS = f"""
SELECT status, count(*) FROM (
    SELECT {SHOWN_STATUS} AS status FROM {WITH_MESSAGE} WHERE o.session_id = ?
) AS shown GROUP BY status
"""
MARK_SENDING = """
UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?
WHERE id = ? AND status IN ('pending', 'sending')
"""
MARK_DONE = """
UPDATE outbox SET status = 'done', updated_at = ?, last_error = NULL
WHERE id = ? AND status IN ('pending', 'sending')
"""
RESCHEDULE = """
UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, updated_at = ?
WHERE id = ? AND status IN ('pending', 'sending')
"""
MARK_FAILED = """
UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ?
WHERE id = ? AND status IN ('pending', 'sending')
"""
# An attempt whose message row went out (the client commits that with the server's ack) is
# not uncertain: it goes back to the worker, which records it done without sending it again.
# The session filter is optional: NULL requeues every session's rows.
REQUEUE_GONE_OUT = """
UPDATE outbox SET status = 'pending', updated_at = ?
WHERE status = 'sending' AND (CAST(? AS TEXT) IS NULL OR outbox.session_id = ?) AND EXISTS (
    SELECT 1 FROM messages AS m
    WHERE m.session_id = outbox.session_id AND m.message_id = outbox.id AND m.from_me = 1
      AND m.status IN ('sent', 'delivered', 'read', 'played')
)
"""
REQUEUE_INTERRUPTED = """
UPDATE outbox SET status = 'pending', uncertain_sends = uncertain_sends + 1, updated_at = ?
WHERE status = 'sending' AND (CAST(? AS TEXT) IS NULL OR session_id = ?)
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
        payload = compact_json(row.payload)
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

    async def next_open_past(
        self, session_id: str, in_flight: Sequence[str], limit: int, now: datetime | None = None
    ) -> list[OutboxRow]:
        """Up to ``limit`` rows that may go next while the rows ``in_flight`` are being sent,
        best first (the order of :meth:`next_open`): none of those, and none behind a chat's
        open row that is not in flight."""
        at = to_ms(now if now is not None else self._db.now())
        flying = list(in_flight)
        rows = await self._db.fetch_all(
            next_open_past_sql(len(flying)), (session_id, *flying, *flying, at, at, limit)
        )
        return [_decode(row) for row in rows]

    async def open_rows(self, session_id: str, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` of the session's open rows, in order of acceptance."""
        rows = await self._db.fetch_all(SELECT_OPEN, (session_id, limit))
        return [_decode(row) for row in rows]

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

    async def mark_done(self, message_id: str) -> bool:
        """The server took the message: the request is done (its message row, written with
        the ack, says ``sent`` and when)."""
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_DONE, (now, message_id)) == 1

    async def reschedule(self, message_id: str, next_attempt_at: datetime, error: str) -> bool:
        now = to_ms(self._db.now())
        changed = await self._db.execute(
            RESCHEDULE, (to_ms(next_attempt_at), error, now, message_id)
        )
        return changed == 1

    async def mark_failed(self, message_id: str, reason: str) -> bool:
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_FAILED, (reason, now, message_id)) == 1

    async def requeue_interrupted(self, session_id: str | None = None) -> int:
        """Rows a previous process (or, with ``session_id``, the session's previous owner in
        a fleet) left in ``sending`` go back to pending. Those whose message row went out are
        not sent again (the worker records them done); for the others whether the server got
        them is unknown, so they are sent again under the same id (counted in
        ``uncertain_sends``, and in the number returned)."""
        now = to_ms(self._db.now())
        args = (now, session_id, session_id)
        async with self._db.transaction():
            await self._db.execute(REQUEUE_GONE_OUT, args)
            return await self._db.execute(REQUEUE_INTERRUPTED, args)

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
            request=OutboxRequest(row[7]),
            status=OutboxStatus(row[8]),
            attempts=int(row[9]),
            next_attempt_at=from_ms(row[10]),
            last_error=row[11],
            created_at=from_ms(row[12]),
            updated_at=from_ms(row[13]),
            sent_at=opt_from_ms(row[14]),
            uncertain_sends=int(row[15]),
        )
