"""The append-only event log, its per-session sequence numbers and named consumer cursors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.engine import Dialect, Row, SqlEngine
from storage.errors import StorageError
from storage.event_values import NewEvent, StoredEvent, compact_json
from storage.sqlite._columns import decoding, from_ms, to_ms

EVENT_COLUMNS = "position, id, session_id, seq, type, data, created_at"
ADVANCE_SEQ = """
INSERT INTO event_sequences (session_id, last_seq) VALUES (?, ?)
ON CONFLICT (session_id) DO UPDATE SET last_seq = event_sequences.last_seq + excluded.last_seq
RETURNING last_seq
"""
INSERT_EVENT_ROWS = (
    "INSERT INTO event_log (id, session_id, seq, type, data, created_at) VALUES {rows} "
    "RETURNING position, seq"
)
ROW_VALUES = "(?, ?, ?, ?, ?, ?)"
INSERT_CHUNK = 200
"""Rows per INSERT statement (6 parameters each: well within both engines' limits)."""
# Positions come from an identity, handed out at INSERT but visible at COMMIT: two daemons
# appending at once could commit 8 before 7, and a reader at ``position > 6`` that sees 8
# would move past 7 for good. Appends on PostgreSQL therefore take this lock (held until
# their transaction ends), so positions become visible in order. One process already
# serialises its own transactions; the lock orders the daemons of a fleet.
# (7212050901 is the migration runner's key.)
LOCK_APPENDS_PG = "SELECT pg_advisory_xact_lock(7212050902)"
SELECT_SESSION_AFTER = f"""
SELECT {EVENT_COLUMNS} FROM event_log WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?
"""
# The types travel as one JSON array.
SELECT_SESSION_AFTER_TYPED = {
    Dialect.SQLITE: f"""
SELECT {EVENT_COLUMNS} FROM event_log
WHERE session_id = ? AND seq > ? AND type IN (SELECT value FROM json_each(?))
ORDER BY seq LIMIT ?
""",
    Dialect.POSTGRESQL: f"""
SELECT {EVENT_COLUMNS} FROM event_log
WHERE session_id = ? AND seq > ?
  AND type IN (SELECT json_array_elements_text(CAST(? AS json)))
ORDER BY seq LIMIT ?
""",
}
SELECT_LATEST_RECOVERIES = f"""
SELECT {EVENT_COLUMNS} FROM event_log
WHERE session_id = ? AND type = 'session.recovery' ORDER BY seq DESC LIMIT ?
"""
SELECT_ALL_AFTER = (
    f"SELECT {EVENT_COLUMNS} FROM event_log WHERE position > ? ORDER BY position LIMIT ?"
)
SELECT_BY_ID = f"SELECT {EVENT_COLUMNS} FROM event_log WHERE id = ?"
SELECT_LAST_SEQ = "SELECT last_seq FROM event_sequences WHERE session_id = ?"
SELECT_LAST_POSITION = "SELECT coalesce(max(position), 0) FROM event_log"
SELECT_CURSOR = "SELECT position FROM daemon_cursors WHERE name = ?"
SELECT_DISPATCH_HORIZON = """
SELECT CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE enabled = 1)
            THEN (SELECT position FROM daemon_cursors WHERE name = ?)
            ELSE (SELECT max(position) FROM event_log) END
"""
UPSERT_CURSOR = """
INSERT INTO daemon_cursors (name, position) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET position = excluded.position
"""
# Retention never removes an event a webhook still has to deliver, nor one the dispatcher has
# not looked at yet.
PRUNE = """
DELETE FROM event_log
WHERE created_at < ?
  AND position <= ?
  AND position NOT IN (
      SELECT event_position FROM webhook_deliveries WHERE status = 'pending'
  )
"""


class SqliteEventLogRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def append(
        self, session_id: str, event_type: str, data: dict[str, Any], event_id: str
    ) -> StoredEvent:
        """Append one event with the session's next sequence number. Joins the caller's
        transaction when there is one (so an event commits with what it reports)."""
        (stored,) = await self.append_many(session_id, [NewEvent(event_type, data, event_id)])
        return stored

    async def append_many(self, session_id: str, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append ``events`` with the session's next sequence numbers: the counter moves once,
        one INSERT writes the rows, and they are not read back (each stored event carries the
        appender's ``data`` object)."""
        if not events:
            return []
        now = to_ms(self._db.now())
        texts = [compact_json(e.data) for e in events]
        if self._db.in_transaction:
            # Inside the caller's unit no savepoint of its own: should the insert fail, the
            # unit fails with it, and a sequence number skipped by a unit that goes on anyway
            # is only a gap (followers read "after seq", never "seq + 1").
            first, positions = await self._insert(session_id, events, texts, now)
        else:
            async with self._db.transaction():
                first, positions = await self._insert(session_id, events, texts, now)
        created_at = from_ms(now)
        return [
            StoredEvent(
                position=positions[first + offset],
                id=event.id,
                session_id=session_id,
                seq=first + offset,
                type=event.type,
                data=event.data,
                created_at=created_at,
                data_json=texts[offset],
            )
            for offset, event in enumerate(events)
        ]

    async def _insert(
        self, session_id: str, events: Sequence[NewEvent], texts: list[str], now: int
    ) -> tuple[int, dict[int, int]]:
        """The first event's seq, and each row's position by its seq."""
        if self._db.dialect is Dialect.POSTGRESQL:
            await self._db.fetch_all(LOCK_APPENDS_PG)
        seq_row = await self._db.fetch_one(ADVANCE_SEQ, (session_id, len(events)))
        if seq_row is None:
            raise StorageError(f"no sequence number for session {session_id!r}")
        first = int(seq_row[0]) - len(events) + 1
        positions: dict[int, int] = {}
        for start in range(0, len(events), INSERT_CHUNK):
            chunk = events[start : start + INSERT_CHUNK]
            params: list[Any] = []
            for offset, event in enumerate(chunk, start):
                params += (event.id, session_id, first + offset, event.type, texts[offset], now)
            rows = await self._db.fetch_all(
                INSERT_EVENT_ROWS.format(rows=", ".join([ROW_VALUES] * len(chunk))), params
            )
            # RETURNING promises no order: the seq says which row is which.
            positions.update((int(row[1]), int(row[0])) for row in rows)
        if len(positions) != len(events):
            raise StorageError("events were not recorded")
        return first, positions

    async def read_session(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        types: frozenset[str] | None = None,
    ) -> list[StoredEvent]:
        """The session's events after ``after_seq``, oldest first (optionally of ``types``)."""
        if types:
            rows = await self._db.fetch_all(
                SELECT_SESSION_AFTER_TYPED[self._db.dialect],
                (session_id, after_seq, json.dumps(sorted(types)), limit),
            )
        else:
            rows = await self._db.fetch_all(SELECT_SESSION_AFTER, (session_id, after_seq, limit))
        return [decode_event_row(row) for row in rows]

    async def latest_recoveries(self, session_id: str, limit: int) -> list[StoredEvent]:
        """The session's newest ``session.recovery`` events, newest first."""
        rows = await self._db.fetch_all(SELECT_LATEST_RECOVERIES, (session_id, limit))
        return [decode_event_row(row) for row in rows]

    async def read_all(self, *, after_position: int = 0, limit: int = 500) -> list[StoredEvent]:
        rows = await self._db.fetch_all(SELECT_ALL_AFTER, (after_position, limit))
        return [decode_event_row(row) for row in rows]

    async def get(self, event_id: str) -> StoredEvent | None:
        row = await self._db.fetch_one(SELECT_BY_ID, (event_id,))
        return None if row is None else decode_event_row(row)

    async def last_seq(self, session_id: str) -> int:
        row = await self._db.fetch_one(SELECT_LAST_SEQ, (session_id,))
        return 0 if row is None else int(row[0])

    async def last_position(self) -> int:
        row = await self._db.fetch_one(SELECT_LAST_POSITION)
        return 0 if row is None else int(row[0])

    async def cursor(self, name: str) -> int | None:
        row = await self._db.fetch_one(SELECT_CURSOR, (name,))
        return None if row is None else int(row[0])

    async def dispatch_horizon(self, name: str) -> int:
        """How far the webhook dispatcher with cursor ``name`` is done: its cursor, or the
        end of the log while no webhook is enabled (the dispatcher then reads nothing and
        leaves its cursor behind; a webhook enabled later starts at the end)."""
        row = await self._db.fetch_one(SELECT_DISPATCH_HORIZON, (name,))
        return 0 if row is None or row[0] is None else int(row[0])

    async def set_cursor(self, name: str, position: int) -> None:
        await self._db.execute(UPSERT_CURSOR, (name, position))

    async def prune(self, older_than: datetime, *, up_to_position: int) -> int:
        """Delete events older than ``older_than`` at or before ``up_to_position`` that no
        pending webhook delivery needs; returns how many."""
        return await self._db.execute(PRUNE, (to_ms(older_than), up_to_position))


def decode_event_row(row: Row) -> StoredEvent:
    session_id = str(row[2])
    with decoding(session_id, "event_log"):
        text = str(row[5])
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("event data is not a JSON object")
        return StoredEvent(
            position=int(row[0]),
            id=str(row[1]),
            session_id=session_id,
            seq=int(row[3]),
            type=str(row[4]),
            data=data,
            created_at=from_ms(row[6]),
            data_json=text,
        )
