"""Webhook subscriptions and their deliveries (pending, delivered, dead), and the dispatch step
that turns new event-log rows into deliveries."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

from storage.engine import Dialect, Row, SqlEngine
from storage.errors import (
    AlreadyExists,
    Constraint,
    ConstraintViolation,
    NotFound,
    StorageError,
)
from storage.event_values import StoredEvent
from storage.sqlite._columns import decoding, from_ms, in_json_array, opt_from_ms, to_ms
from storage.sqlite._dialect import greatest
from storage.sqlite.eventlog import EVENT_COLUMNS, decode_event_row
from storage.webhook_values import (
    WEBHOOK_DISPATCH_CURSOR,
    Delivery,
    DeliveryJob,
    DeliveryStatus,
    DispatchStep,
    ParkedWebhook,
    Webhook,
)

WEBHOOK_COLUMNS = (
    "id, session_id, url, secret, events, enabled, created_at, updated_at, api_key_id, chats, "
    "parked_reason, parked_at"
)
WEBHOOK_WIDTH = 12
"""How many columns WEBHOOK_COLUMNS names."""
INSERT_WEBHOOK = f"""
INSERT INTO webhooks (id, session_id, url, secret, events, enabled, created_at, updated_at,
                      api_key_id, chats)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT chats FROM api_keys WHERE id = ?))
RETURNING {WEBHOOK_COLUMNS}
"""
UPSERT_WEBHOOK = f"""
INSERT INTO webhooks (id, session_id, url, secret, events, enabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
    events = excluded.events, enabled = excluded.enabled, updated_at = excluded.updated_at
RETURNING {WEBHOOK_COLUMNS}
"""
SELECT_WEBHOOK = f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?"
SELECT_WEBHOOKS = f"SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id"
SELECT_SESSION_WEBHOOKS = (
    f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE session_id = ? ORDER BY created_at, id"
)
SELECT_GLOBAL_WEBHOOKS = (
    f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE session_id IS NULL ORDER BY created_at, id"
)
UPDATE_WEBHOOK = f"""
UPDATE webhooks SET url = coalesce(?, url), secret = coalesce(?, secret),
    events = coalesce(?, events), enabled = coalesce(?, enabled), updated_at = ?,
    parked_reason = CASE WHEN ? = 1 THEN NULL ELSE parked_reason END,
    parked_at = CASE WHEN ? = 1 THEN NULL ELSE parked_at END
WHERE id = ?
RETURNING {WEBHOOK_COLUMNS}
"""
DELETE_WEBHOOK = "DELETE FROM webhooks WHERE id = ?"
PARK_WEBHOOK = """
UPDATE webhooks SET enabled = 0, parked_reason = ?, parked_at = ?, updated_at = ?
WHERE id = ? AND enabled = 1
"""
MAX_PARKED_REASON = 500

DELIVERY_COLUMNS = (
    "d.id, d.webhook_id, d.event_position, e.id, d.status, d.attempts, d.next_attempt_at, "
    "d.last_status_code, d.last_error, d.created_at, d.delivered_at"
)
INSERT_DELIVERY = """
INSERT INTO webhook_deliveries
    (webhook_id, event_position, status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, 'pending', ?, ?, ?)
ON CONFLICT (webhook_id, event_position) DO NOTHING
"""
_EVENT_COLUMNS_E = ", ".join(f"e.{column.strip()}" for column in EVENT_COLUMNS.split(","))
_WEBHOOK_COLUMNS_W = ", ".join(f"w.{column.strip()}" for column in WEBHOOK_COLUMNS.split(","))
# A claim moves the due deliveries' next attempt to the claim's end, so that no other daemon
# of a fleet (nor a read of this one that raced the outcome) starts them meanwhile; the
# attempt's outcome replaces it, and a crash lets it expire. On PostgreSQL the rows are
# picked once, locked (SKIP LOCKED: another daemon's claim takes other rows instead of
# waiting), in a materialized CTE: a sub-select in the WHERE clause could be evaluated again
# when a concurrent claim makes PostgreSQL re-check a row, and claim more than LIMIT.
_CLAIM_DUE = """
WITH picked AS {materialized}(
    SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1
    ORDER BY d.next_attempt_at, d.id
    LIMIT ?{lock}
)
UPDATE webhook_deliveries SET next_attempt_at = ?
WHERE id IN (SELECT id FROM picked) AND status = 'pending' AND next_attempt_at <= ?
RETURNING id
"""
CLAIM_DUE = {
    Dialect.SQLITE: _CLAIM_DUE.format(materialized="", lock=""),
    Dialect.POSTGRESQL: _CLAIM_DUE.format(
        materialized="MATERIALIZED ", lock=" FOR UPDATE OF d SKIP LOCKED"
    ),
}
_SELECT_CLAIMED = """
SELECT d.id, d.attempts, {webhook}, {event}
FROM webhook_deliveries d
JOIN webhooks w ON w.id = d.webhook_id
JOIN event_log e ON e.position = d.event_position
WHERE d.id {in_ids}
ORDER BY d.id
"""
SELECT_NEXT_DUE_AT = """
SELECT min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
WHERE d.status = 'pending' AND w.enabled = 1
"""
MARK_DELIVERED = """
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, last_status_code = ?, last_error = NULL,
    updated_at = ?, delivered_at = ?
WHERE id = ? AND status = 'pending'
"""
RESCHEDULE_DELIVERY = """
UPDATE webhook_deliveries
SET attempts = attempts + 1, next_attempt_at = ?, last_status_code = ?, last_error = ?,
    updated_at = ?
WHERE id = ? AND status = 'pending'
"""
MARK_DEAD = """
UPDATE webhook_deliveries
SET status = 'dead', attempts = attempts + 1, last_status_code = ?, last_error = ?,
    updated_at = ?
WHERE id = ? AND status = 'pending'
"""
SELECT_DELIVERIES = f"""
SELECT {DELIVERY_COLUMNS}
FROM webhook_deliveries d JOIN event_log e ON e.position = d.event_position
WHERE d.webhook_id = ? AND (CAST(? AS TEXT) IS NULL OR d.status = ?) AND d.id > ?
ORDER BY d.id LIMIT ?
"""
REPLAY_ALL = """
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
WHERE webhook_id = ? AND status = 'dead'
"""
REPLAY_ONE = """
UPDATE webhook_deliveries
SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
WHERE webhook_id = ? AND status = 'dead' AND id = ?
"""
COUNT_DELIVERIES = """
SELECT status, count(*) FROM webhook_deliveries WHERE webhook_id = ? GROUP BY status
"""
COUNT_PENDING = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"


_CATCH_UP_IDLE_CURSOR = """
INSERT INTO daemon_cursors (name, position)
SELECT CAST(? AS TEXT), (SELECT coalesce(max(position), 0) FROM event_log)
WHERE NOT EXISTS (SELECT 1 FROM webhooks WHERE enabled = 1)
ON CONFLICT (name) DO UPDATE SET position = {greatest}(daemon_cursors.position, excluded.position)
"""
CATCH_UP_IDLE_CURSOR = {d: _CATCH_UP_IDLE_CURSOR.format(greatest=greatest(d)) for d in Dialect}
# Only forward: the dispatchers of two daemons may finish their steps in either order.
_ADVANCE_CURSOR = """
INSERT INTO daemon_cursors (name, position) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET position = {greatest}(daemon_cursors.position, excluded.position)
"""
ADVANCE_CURSOR = {d: _ADVANCE_CURSOR.format(greatest=greatest(d)) for d in Dialect}
ANY_ENABLED = "SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled = 1)"
ANY_EVENT_AFTER_CURSOR = """
SELECT EXISTS (SELECT 1 FROM event_log WHERE position >
               coalesce((SELECT position FROM daemon_cursors WHERE name = ?), 0))
"""


class SqliteWebhookRepo:
    """``dispatch_cursor``: the dispatcher's cursor, which idles while no webhook is enabled
    (see :meth:`has_listeners`)."""

    def __init__(self, db: SqlEngine, *, dispatch_cursor: str = WEBHOOK_DISPATCH_CURSOR) -> None:
        self._db = db
        self._cursor = dispatch_cursor
        self._listening: bool | None = None
        self._select_claimed = _SELECT_CLAIMED.format(
            webhook=_WEBHOOK_COLUMNS_W,
            event=_EVENT_COLUMNS_E,
            in_ids=in_json_array(db.dialect, integers=True),
        )

    async def has_listeners(self) -> bool:
        """Whether an enabled webhook exists: read once, then known from this repository's
        own writes (the only writer of the table). While there is none the dispatcher reads
        nothing; the first webhook enabled moves its cursor to the end of the log first, so
        it starts from the events after it, as when the dispatcher had kept up meanwhile.

        On PostgreSQL the table has other writers (every daemon of a fleet, and this daemon's
        API through other stores than the dispatcher's fenced ones): it is read every time."""
        if self._listening is None or self._db.dialect is Dialect.POSTGRESQL:
            row = await self._db.fetch_one(ANY_ENABLED)
            self._listening = bool(row and row[0])
        return self._listening

    @contextlib.asynccontextmanager
    async def _changing(self) -> AsyncIterator[None]:
        """A write that may enable a webhook: after an idle stretch, the cursor catches up."""
        try:
            async with self._db.transaction():
                await self._db.execute(CATCH_UP_IDLE_CURSOR[self._db.dialect], (self._cursor,))
                yield
        finally:
            self._listening = None

    # ------------------------------------------------------------------ subscriptions

    async def create(
        self,
        webhook_id: str,
        *,
        session_id: str | None,
        url: str,
        secret: str,
        events: frozenset[str],
        enabled: bool = True,
        api_key_id: str | None = None,
    ) -> Webhook:
        """``api_key_id``: made with that session key; it gets the key's chats."""
        now = to_ms(self._db.now())
        try:
            async with self._changing():
                row = await self._db.fetch_one(
                    INSERT_WEBHOOK,
                    (
                        webhook_id,
                        session_id,
                        url,
                        secret,
                        _events(events),
                        int(enabled),
                        now,
                        now,
                        api_key_id,
                        api_key_id,
                    ),
                )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.UNIQUE:
                raise AlreadyExists(f"webhook {webhook_id!r} exists") from exc
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise NotFound(f"session {session_id!r} does not exist") from exc
            raise
        if row is None:
            raise NotFound(f"webhook {webhook_id!r} was not stored")
        return _decode_webhook(row)

    async def upsert_global(
        self, webhook_id: str, *, url: str, secret: str, events: frozenset[str]
    ) -> Webhook:
        """Create or update a global webhook under a fixed id (the one from the config)."""
        now = to_ms(self._db.now())
        async with self._changing():
            row = await self._db.fetch_one(
                UPSERT_WEBHOOK, (webhook_id, None, url, secret, _events(events), 1, now, now)
            )
        if row is None:
            raise NotFound(f"webhook {webhook_id!r} was not stored")
        return _decode_webhook(row)

    async def get(self, webhook_id: str) -> Webhook | None:
        row = await self._db.fetch_one(SELECT_WEBHOOK, (webhook_id,))
        return None if row is None else _decode_webhook(row)

    async def list_all(self) -> list[Webhook]:
        return [_decode_webhook(row) for row in await self._db.fetch_all(SELECT_WEBHOOKS)]

    async def list_global(self) -> list[Webhook]:
        return [_decode_webhook(row) for row in await self._db.fetch_all(SELECT_GLOBAL_WEBHOOKS)]

    async def list_for_session(self, session_id: str) -> list[Webhook]:
        rows = await self._db.fetch_all(SELECT_SESSION_WEBHOOKS, (session_id,))
        return [_decode_webhook(row) for row in rows]

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        secret: str | None = None,
        events: frozenset[str] | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        now = to_ms(self._db.now())
        async with self._changing():
            row = await self._db.fetch_one(
                UPDATE_WEBHOOK,
                (
                    url,
                    secret,
                    None if events is None else _events(events),
                    None if enabled is None else int(enabled),
                    now,
                    None if enabled is None else int(enabled),
                    None if enabled is None else int(enabled),
                    webhook_id,
                ),
            )
        if row is None:
            raise NotFound(f"webhook {webhook_id!r} does not exist")
        return _decode_webhook(row)

    async def delete(self, webhook_id: str) -> bool:
        self._listening = None
        return await self._db.execute(DELETE_WEBHOOK, (webhook_id,)) == 1

    async def park(self, webhook_id: str, reason: str) -> bool:
        """Disables the webhook with ``reason`` (False: it was not enabled, or is gone)."""
        now = to_ms(self._db.now())
        self._listening = None
        changed = await self._db.execute(
            PARK_WEBHOOK, (reason[:MAX_PARKED_REASON], now, now, webhook_id)
        )
        return changed == 1

    # ------------------------------------------------------------------ dispatch

    async def dispatch(
        self,
        cursor_name: str,
        select: Callable[[StoredEvent, Sequence[Webhook]], Sequence[Webhook]],
        *,
        unusable: Callable[[Webhook], str | None] = lambda _webhook: None,
        batch: int = 500,
    ) -> DispatchStep:
        """One dispatch step, atomically: read the events after the cursor, create a pending
        delivery for each webhook ``select`` picks, move the cursor. A crash before the commit
        repeats the step; the unique (webhook, event) pair keeps that from creating a delivery
        twice.

        A webhook whose row cannot be read, or that ``unusable`` gives a reason against, is
        parked in the same transaction and gets nothing: one bad row stops only itself."""
        now = to_ms(self._db.now())
        # Nothing new: one read, no transaction (and no commit).
        news = await self._db.fetch_one(ANY_EVENT_AFTER_CURSOR, (cursor_name,))
        if news is None or not news[0]:
            return DispatchStep(0, ())
        async with self._db.transaction():
            cursor_row = await self._db.fetch_one(
                "SELECT position FROM daemon_cursors WHERE name = ?", (cursor_name,)
            )
            after = 0 if cursor_row is None else int(cursor_row[0])
            rows = await self._db.fetch_all(
                f"SELECT {EVENT_COLUMNS} FROM event_log WHERE position > ? "
                "ORDER BY position LIMIT ?",
                (after, batch),
            )
            if not rows:
                return DispatchStep(0, ())
            events = [decode_event_row(row) for row in rows]
            webhooks: list[Webhook] = []
            parked: list[ParkedWebhook] = []
            for row in await self._db.fetch_all(
                f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE enabled = 1"
            ):
                reason = None
                try:
                    webhook = _decode_webhook(row)
                    reason = unusable(webhook)
                except Exception as exc:
                    reason = f"stored webhook unusable: {type(exc).__name__}: {exc}"
                if reason is None:
                    webhooks.append(webhook)
                    continue
                await self._db.execute(
                    PARK_WEBHOOK, (reason[:MAX_PARKED_REASON], now, now, str(row[0]))
                )
                parked.append(ParkedWebhook(str(row[0]), reason))
                self._listening = None
            pairs = [
                (webhook.id, event.position, now, now, now)
                for event in events
                for webhook in select(event, webhooks)
            ]
            if pairs:
                await self._db.execute_many(INSERT_DELIVERY, pairs)
            await self._db.execute(
                ADVANCE_CURSOR[self._db.dialect], (cursor_name, events[-1].position)
            )
            return DispatchStep(len(events), tuple(parked))

    async def claim_due(
        self, now: datetime, until: datetime, *, limit: int = 50
    ) -> list[DeliveryJob]:
        """Due deliveries of enabled webhooks, oldest first, each claimed until ``until`` (its
        next attempt moved there; the attempt's outcome replaces that). A webhook whose row
        cannot be read is parked (see :meth:`dispatch`) instead of stopping every other
        delivery."""
        at = to_ms(now)
        async with self._db.transaction():
            claimed = await self._db.fetch_all(
                CLAIM_DUE[self._db.dialect], (at, limit, to_ms(until), at)
            )
            if not claimed:
                return []
            ids = json.dumps(sorted(int(row[0]) for row in claimed))
            rows = await self._db.fetch_all(self._select_claimed, (ids,))
        jobs: list[DeliveryJob] = []
        end = 2 + WEBHOOK_WIDTH
        for row in rows:
            try:
                webhook = _decode_webhook(row[2:end])
            except StorageError as exc:
                await self.park(str(row[2]), f"stored webhook unusable: {exc}")
                continue
            event = decode_event_row(row[end:])
            jobs.append(DeliveryJob(int(row[0]), int(row[1]), webhook, event))
        return jobs

    async def next_due_at(self) -> datetime | None:
        row = await self._db.fetch_one(SELECT_NEXT_DUE_AT)
        return None if row is None or row[0] is None else from_ms(row[0])

    async def mark_delivered(self, delivery_id: int, status_code: int) -> bool:
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_DELIVERED, (status_code, now, now, delivery_id)) == 1

    async def reschedule(
        self,
        delivery_id: int,
        next_attempt_at: datetime,
        status_code: int | None,
        error: str,
    ) -> bool:
        now = to_ms(self._db.now())
        changed = await self._db.execute(
            RESCHEDULE_DELIVERY,
            (to_ms(next_attempt_at), status_code, error, now, delivery_id),
        )
        return changed == 1

    async def mark_dead(self, delivery_id: int, status_code: int | None, error: str) -> bool:
        now = to_ms(self._db.now())
        return await self._db.execute(MARK_DEAD, (status_code, error, now, delivery_id)) == 1

    async def deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[Delivery]:
        value = None if status is None else status.value
        rows = await self._db.fetch_all(
            SELECT_DELIVERIES, (webhook_id, value, value, after_id, limit)
        )
        return [_decode_delivery(row) for row in rows]

    async def replay(self, webhook_id: str, delivery_ids: Sequence[int] | None = None) -> int:
        """Dead deliveries back to pending, due now, attempts reset; returns how many."""
        now = to_ms(self._db.now())
        if delivery_ids is None:
            return await self._db.execute(REPLAY_ALL, (now, now, webhook_id))
        async with self._db.transaction():
            replayed = 0
            for delivery_id in delivery_ids:
                replayed += await self._db.execute(REPLAY_ONE, (now, now, webhook_id, delivery_id))
            return replayed

    async def delivery_counts(self, webhook_id: str) -> dict[DeliveryStatus, int]:
        rows = await self._db.fetch_all(COUNT_DELIVERIES, (webhook_id,))
        return {DeliveryStatus(str(status)): int(count) for status, count in rows}

    async def pending_count(self) -> int:
        row = await self._db.fetch_one(COUNT_PENDING)
        return 0 if row is None else int(row[0])


def _events(events: frozenset[str]) -> str:
    return json.dumps(sorted(events))


def _decode_webhook(row: Row) -> Webhook:
    webhook_id = str(row[0])
    with decoding(str(row[1] or "*"), "webhooks"):
        events = json.loads(row[4])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("webhook events is not a JSON array of strings")
        return Webhook(
            id=webhook_id,
            session_id=None if row[1] is None else str(row[1]),
            url=str(row[2]),
            secret=str(row[3]),
            events=frozenset(events),
            enabled=bool(row[5]),
            created_at=from_ms(row[6]),
            updated_at=from_ms(row[7]),
            api_key_id=None if row[8] is None else str(row[8]),
            chats=None if row[9] is None else frozenset(json.loads(row[9])),
            parked_reason=None if row[10] is None else str(row[10]),
            parked_at=opt_from_ms(row[11]),
        )


def _decode_delivery(row: Row) -> Delivery:
    with decoding(str(row[1]), "webhook_deliveries"):
        return Delivery(
            id=int(row[0]),
            webhook_id=str(row[1]),
            event_position=int(row[2]),
            event_id=str(row[3]),
            status=DeliveryStatus(row[4]),
            attempts=int(row[5]),
            next_attempt_at=from_ms(row[6]),
            last_status_code=row[7],
            last_error=row[8],
            created_at=from_ms(row[9]),
            delivered_at=opt_from_ms(row[10]),
        )
