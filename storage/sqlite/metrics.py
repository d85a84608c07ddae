"""The counts ``/metrics`` reports, read in one pass at scrape time."""

from __future__ import annotations

from storage.engine import SqlEngine
from storage.metrics_interfaces import StoredTotals
from storage.sqlite._columns import opt_from_ms
from storage.sqlite.outbox import SHOWN_STATUS, WITH_MESSAGE

# By the status the API shows (the message row's once the message has gone out).
OUTBOX_BY_STATUS = f"""
SELECT session_id, status, count(*) FROM (
    SELECT o.session_id AS session_id, {SHOWN_STATUS} AS status FROM {WITH_MESSAGE}
) AS shown GROUP BY session_id, status
"""
DELIVERIES_BY_STATUS = "SELECT status, count(*) FROM webhook_deliveries GROUP BY status"
OLDEST_PENDING_DELIVERY = "SELECT min(created_at) FROM webhook_deliveries WHERE status = 'pending'"
EVENT_SEQUENCES = "SELECT session_id, last_seq FROM event_sequences"


class SqliteMetricsRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def totals(self) -> StoredTotals:
        outbox = {
            (str(row[0]), str(row[1])): int(row[2])
            for row in await self._db.fetch_all(OUTBOX_BY_STATUS)
        }
        deliveries = {
            str(row[0]): int(row[1]) for row in await self._db.fetch_all(DELIVERIES_BY_STATUS)
        }
        oldest = await self._db.fetch_one(OLDEST_PENDING_DELIVERY)
        sequences = {str(row[0]): int(row[1]) for row in await self._db.fetch_all(EVENT_SEQUENCES)}
        return StoredTotals(
            outbox=outbox,
            webhook_deliveries=deliveries,
            oldest_pending_delivery=None if oldest is None else opt_from_ms(oldest[0]),
            event_seq=sequences,
        )


__all__ = ["SqliteMetricsRepo"]
