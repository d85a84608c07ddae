"""Campaigns and their recipients on SQLite (:class:`~storage.campaign_interfaces.CampaignStore`).

Recipients are inserted by one statement per batch (``ON CONFLICT DO NOTHING`` de-duplicates
against the campaign's existing recipients): see ``bench/campaigns.py`` for the rate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, time
from typing import Any

from storage.campaign_values import (
    RECIPIENT_RANK,
    Campaign,
    CampaignStatus,
    DailyWindow,
    Dispatch,
    NewCampaign,
    NewRecipient,
    Pacing,
    Recipient,
    RecipientStatus,
)
from storage.engine import Dialect, Row, SqlEngine
from storage.errors import AlreadyExists, Constraint, ConstraintViolation, NotFound
from storage.event_values import compact_json
from storage.sqlite._columns import (
    decoding,
    from_ms,
    in_json_array,
    opt_from_ms,
    opt_to_ms,
    to_ms,
)

CAMPAIGN_COLUMNS = (
    "id, session_id, name, content, defaults, status, status_reason, rate_per_minute, "
    "jitter_ms, window_start, window_end, time_zone, scheduled_at, next_send_at, created_at, "
    "updated_at, started_at, finished_at"
)
RECIPIENT_COLUMNS = (
    "id, campaign_id, jid, variables, status, message_id, error, queued_at, settled_at, "
    "sent_at, delivered_at, read_at, updated_at"
)
INSERT_CAMPAIGN = f"""
INSERT INTO campaigns (id, session_id, name, content, defaults, status, rate_per_minute,
                       jitter_ms, window_start, window_end, time_zone, scheduled_at,
                       created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING {CAMPAIGN_COLUMNS}
"""
SELECT_CAMPAIGN = f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?"
SELECT_SESSION_PAGE = f"""
SELECT {CAMPAIGN_COLUMNS} FROM campaigns
WHERE session_id = ? AND rowid < ? ORDER BY rowid DESC LIMIT ?
"""
SELECT_CAMPAIGN_ROWID = "SELECT rowid FROM campaigns WHERE session_id = ? AND id = ?"
SELECT_ACTIVE = f"""
SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE status IN ('scheduled', 'processing')
ORDER BY rowid
"""
SET_STATUS = """
UPDATE campaigns
SET status = ?, status_reason = ?, updated_at = ?,
    scheduled_at = coalesce(?, scheduled_at),
    started_at = CASE WHEN ? = 'processing' THEN coalesce(started_at, ?) ELSE started_at END,
    finished_at = CASE WHEN ? IN ('completed', 'failed', 'cancelled') THEN ? ELSE finished_at END
WHERE id = ? AND status {in_expected}
RETURNING {columns}
"""
SET_NEXT_SEND = "UPDATE campaigns SET next_send_at = ? WHERE id = ?"
# The whole batch travels as one JSON array of [jid, variables-or-null] and is unpacked by
# the engine: one statement instead of one bound row per recipient (about twice as fast).
INSERT_RECIPIENTS = {
    Dialect.SQLITE: """
INSERT INTO campaign_recipients (campaign_id, jid, variables, status, updated_at)
SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'pending', ?
FROM json_each(?) WHERE true
ON CONFLICT (campaign_id, jid) DO NOTHING
""",
    Dialect.POSTGRESQL: """
INSERT INTO campaign_recipients (campaign_id, jid, variables, status, updated_at)
SELECT CAST(? AS TEXT), item ->> 0, item ->> 1, 'pending', CAST(? AS BIGINT)
FROM json_array_elements(CAST(? AS json)) AS item
ON CONFLICT (campaign_id, jid) DO NOTHING
""",
}
COUNT_RECIPIENTS = "SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?"
COUNT_BY_STATUS = """
SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = ? GROUP BY status
"""
SELECT_PAGE = f"""
SELECT {RECIPIENT_COLUMNS} FROM campaign_recipients
WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?
"""
SELECT_PAGE_BY_STATUS = f"""
SELECT {RECIPIENT_COLUMNS} FROM campaign_recipients
WHERE campaign_id = ? AND status = ? AND id > ? ORDER BY id LIMIT ?
"""
MARK_QUEUED = f"""
UPDATE campaign_recipients SET status = 'queued', message_id = ?, queued_at = ?, updated_at = ?
WHERE id = ? AND campaign_id = ? AND status = 'pending'
RETURNING {RECIPIENT_COLUMNS}
"""
SELECT_BY_MESSAGE = """
SELECT {columns} FROM campaign_recipients WHERE message_id {in_ids}
"""
# Per campaign through the (campaign_id, status) index: no scan of every recipient ever sent.
SELECT_IDLE_HORIZON = """
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM campaigns WHERE status IN ('scheduled', 'processing'))
      OR EXISTS (SELECT 1 FROM campaigns c WHERE EXISTS (
             SELECT 1 FROM campaign_recipients r
             WHERE r.campaign_id = c.id AND r.status IN ('queued', 'sent', 'delivered')))
    THEN NULL
    ELSE (SELECT coalesce(max(position), 0) FROM event_log)
END
"""
# Each status sets its own time and the earlier ones it implies (a "read" proves delivery).
ADVANCE = {
    RecipientStatus.SENT: "sent_at = coalesce(sent_at, ?2)",
    RecipientStatus.DELIVERED: (
        "sent_at = coalesce(sent_at, ?2), delivered_at = coalesce(delivered_at, ?2)"
    ),
    RecipientStatus.READ: (
        "sent_at = coalesce(sent_at, ?2), delivered_at = coalesce(delivered_at, ?2), "
        "read_at = coalesce(read_at, ?2)"
    ),
}
ADVANCE_SQL = """
UPDATE campaign_recipients
SET status = ?1, {times}, settled_at = coalesce(settled_at, ?2), updated_at = ?2
WHERE id = ?3 AND status {in_lower}
RETURNING {columns}
"""
FAIL = f"""
UPDATE campaign_recipients
SET status = 'failed', error = ?, settled_at = coalesce(settled_at, ?), updated_at = ?
WHERE id = ? AND status IN ('pending', 'queued')
RETURNING {RECIPIENT_COLUMNS}
"""
CANCEL_PENDING = """
UPDATE campaign_recipients SET status = 'cancelled', updated_at = ?
WHERE campaign_id = ? AND status = 'pending'
"""
COUNT_QUEUED = """
SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? AND status = 'queued'
"""
SELECT_SETTLED_SINCE = """
SELECT settled_at FROM campaign_recipients
WHERE campaign_id = ? AND settled_at > ? ORDER BY settled_at
"""

_MAX_ROWID = 2**63 - 1
INSERT_CHUNK = 10_000


class SqliteCampaignStore:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db
        self._set_status = SET_STATUS.format(
            in_expected=in_json_array(db.dialect), columns=CAMPAIGN_COLUMNS
        )
        self._insert_recipients = INSERT_RECIPIENTS[db.dialect]
        self._by_message = SELECT_BY_MESSAGE.format(
            columns=RECIPIENT_COLUMNS, in_ids=in_json_array(db.dialect)
        )
        self._advance = {
            status: ADVANCE_SQL.format(
                times=times, columns=RECIPIENT_COLUMNS, in_lower=in_json_array(db.dialect, "?4")
            )
            for status, times in ADVANCE.items()
        }

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self._db.transaction()

    # ---------------------------------------------------------------- campaigns

    async def create(self, campaign: NewCampaign) -> Campaign:
        now = to_ms(self._db.now())
        window = campaign.pacing.window
        try:
            row = await self._db.fetch_one(
                INSERT_CAMPAIGN,
                (
                    campaign.id,
                    campaign.session_id,
                    campaign.name,
                    compact_json(campaign.content),
                    compact_json(campaign.defaults),
                    campaign.pacing.rate_per_minute,
                    round(campaign.pacing.jitter_s * 1000),
                    None if window is None else _minutes(window.start),
                    None if window is None else _minutes(window.end),
                    None if window is None else window.time_zone,
                    opt_to_ms(campaign.scheduled_at),
                    now,
                    now,
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise NotFound(f"session {campaign.session_id!r} does not exist") from exc
            if exc.constraint is Constraint.UNIQUE:
                raise AlreadyExists(f"campaign {campaign.id!r} exists") from exc
            raise
        if row is None:
            raise NotFound(f"session {campaign.session_id!r} does not exist")
        return _campaign(row)

    async def get(self, campaign_id: str) -> Campaign | None:
        row = await self._db.fetch_one(SELECT_CAMPAIGN, (campaign_id,))
        return None if row is None else _campaign(row)

    async def list_for_session(
        self, session_id: str, *, before_id: str | None = None, limit: int = 20
    ) -> list[Campaign]:
        before = _MAX_ROWID
        if before_id is not None:
            found = await self._db.fetch_one(SELECT_CAMPAIGN_ROWID, (session_id, before_id))
            if found is None:
                return []
            before = int(found[0])
        rows = await self._db.fetch_all(SELECT_SESSION_PAGE, (session_id, before, limit))
        return [_campaign(row) for row in rows]

    async def active(self) -> list[Campaign]:
        return [_campaign(row) for row in await self._db.fetch_all(SELECT_ACTIVE)]

    async def set_status(
        self,
        campaign_id: str,
        status: CampaignStatus,
        *,
        expected: Collection[CampaignStatus],
        reason: str | None = None,
        scheduled_at: datetime | None = None,
    ) -> Campaign | None:
        now = to_ms(self._db.now())
        row = await self._db.fetch_one(
            self._set_status,
            (
                status.value,
                reason,
                now,
                opt_to_ms(scheduled_at),
                status.value,
                now,
                status.value,
                now,
                campaign_id,
                json.dumps([s.value for s in expected]),
            ),
        )
        return None if row is None else _campaign(row)

    async def set_next_send_at(self, campaign_id: str, at: datetime) -> None:
        await self._db.execute(SET_NEXT_SEND, (to_ms(at), campaign_id))

    # ---------------------------------------------------------------- recipients

    async def add_recipients(self, campaign_id: str, recipients: Sequence[NewRecipient]) -> int:
        now = to_ms(self._db.now())
        added = 0
        try:
            async with self._db.transaction():
                for start in range(0, len(recipients), INSERT_CHUNK):
                    chunk = recipients[start : start + INSERT_CHUNK]
                    batch = compact_json([[r.jid, r.variables] for r in chunk])
                    added += await self._db.execute(
                        self._insert_recipients, (campaign_id, now, batch)
                    )
                    # Statements run on the loop's thread: let the connections breathe.
                    await asyncio.sleep(0)
            return added
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise NotFound(f"campaign {campaign_id!r} does not exist") from exc
            raise

    async def recipient_total(self, campaign_id: str) -> int:
        row = await self._db.fetch_one(COUNT_RECIPIENTS, (campaign_id,))
        return 0 if row is None else int(row[0])

    async def counts(self, campaign_id: str) -> dict[RecipientStatus, int]:
        rows = await self._db.fetch_all(COUNT_BY_STATUS, (campaign_id,))
        return {RecipientStatus(str(status)): int(count) for status, count in rows}

    async def recipients_page(
        self,
        campaign_id: str,
        *,
        status: RecipientStatus | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[Recipient]:
        if status is None:
            rows = await self._db.fetch_all(SELECT_PAGE, (campaign_id, after_id, limit))
        else:
            rows = await self._db.fetch_all(
                SELECT_PAGE_BY_STATUS, (campaign_id, status.value, after_id, limit)
            )
        return [_recipient(row) for row in rows]

    async def next_pending(self, campaign_id: str, limit: int) -> list[Recipient]:
        return await self.recipients_page(campaign_id, status=RecipientStatus.PENDING, limit=limit)

    async def mark_queued(
        self, campaign_id: str, dispatches: Sequence[Dispatch]
    ) -> list[Recipient]:
        now = to_ms(self._db.now())
        moved = []
        async with self._db.transaction():
            for dispatch in dispatches:
                row = await self._db.fetch_one(
                    MARK_QUEUED, (dispatch.message_id, now, now, dispatch.recipient_id, campaign_id)
                )
                if row is not None:
                    moved.append(_recipient(row))
        return moved

    async def by_message_ids(self, message_ids: Collection[str]) -> list[Recipient]:
        if not message_ids:
            return []
        rows = await self._db.fetch_all(self._by_message, (json.dumps(list(message_ids)),))
        return [_recipient(row) for row in rows]

    async def idle_horizon(self) -> int | None:
        row = await self._db.fetch_one(SELECT_IDLE_HORIZON)
        return None if row is None or row[0] is None else int(row[0])

    async def advance(
        self, recipient_id: int, status: RecipientStatus, *, error: str | None = None
    ) -> Recipient | None:
        now = to_ms(self._db.now())
        if status is RecipientStatus.FAILED:
            row = await self._db.fetch_one(FAIL, (error, now, now, recipient_id))
            return None if row is None else _recipient(row)
        sql = self._advance.get(status)
        if sql is None:
            raise ValueError(f"a recipient cannot advance to {status.value}")
        lower = [s.value for s, rank in RECIPIENT_RANK.items() if rank < RECIPIENT_RANK[status]]
        row = await self._db.fetch_one(sql, (status.value, now, recipient_id, json.dumps(lower)))
        return None if row is None else _recipient(row)

    async def cancel_pending(self, campaign_id: str) -> int:
        return await self._db.execute(CANCEL_PENDING, (to_ms(self._db.now()), campaign_id))

    async def pacing_evidence(self, campaign_id: str, since: datetime) -> tuple[int, list[float]]:
        async with self._db.transaction():
            queued = await self._db.fetch_one(COUNT_QUEUED, (campaign_id,))
            rows = await self._db.fetch_all(SELECT_SETTLED_SINCE, (campaign_id, to_ms(since)))
        return (0 if queued is None else int(queued[0])), [int(r[0]) / 1000 for r in rows]


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _object(text: str, what: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value


def _campaign(row: Row) -> Campaign:
    with decoding(str(row[1]), "campaigns"):
        window = None
        if row[9] is not None:
            window = DailyWindow(_time(int(row[9])), _time(int(row[10])), str(row[11]))
        return Campaign(
            id=str(row[0]),
            session_id=str(row[1]),
            name=str(row[2]),
            content=_object(row[3], "campaign content"),
            defaults={str(k): str(v) for k, v in _object(row[4], "campaign defaults").items()},
            status=CampaignStatus(row[5]),
            status_reason=row[6],
            pacing=Pacing(int(row[7]), int(row[8]) / 1000, window),
            scheduled_at=opt_from_ms(row[12]),
            next_send_at=opt_from_ms(row[13]),
            created_at=from_ms(row[14]),
            updated_at=from_ms(row[15]),
            started_at=opt_from_ms(row[16]),
            finished_at=opt_from_ms(row[17]),
        )


def _recipient(row: Row) -> Recipient:
    with decoding(str(row[1]), "campaign_recipients"):
        variables = None
        if row[3] is not None:
            variables = {str(k): str(v) for k, v in _object(row[3], "variables").items()}
        return Recipient(
            id=int(row[0]),
            campaign_id=str(row[1]),
            jid=str(row[2]),
            variables=variables,
            status=RecipientStatus(row[4]),
            message_id=row[5],
            error=row[6],
            queued_at=opt_from_ms(row[7]),
            settled_at=opt_from_ms(row[8]),
            sent_at=opt_from_ms(row[9]),
            delivered_at=opt_from_ms(row[10]),
            read_at=opt_from_ms(row[11]),
            updated_at=from_ms(row[12]),
        )


__all__ = ["SqliteCampaignStore"]
