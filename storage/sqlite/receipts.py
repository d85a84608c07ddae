"""Per-recipient-device receipts of our messages (delivered, read, played)."""

from __future__ import annotations

from datetime import datetime

from storage.engine import SqlEngine
from storage.message_values import ReceiptRecord, ReceiptStatus
from storage.sqlite._columns import decoding, opt_from_ms, to_ms

_RANK_SQL = "CASE {col} WHEN 'delivered' THEN 1 WHEN 'read' THEN 2 WHEN 'played' THEN 3 END"
# Each receipt fills its own time column once; the status only moves forward (a late delivery
# receipt after the read receipt keeps ``read``). The row is made only for a message of ours
# (the SELECT finds it and its chat); RETURNING gives the chat when something changed.
UPSERT = f"""
INSERT INTO message_receipts (
    session_id, chat_jid, message_id, recipient_jid, status, delivered_at, read_at, played_at,
    updated_at
)
SELECT session_id, chat_jid, message_id, ?, ?, ?, ?, ?, ?
FROM messages WHERE session_id = ? AND message_id = ? AND from_me = 1
ORDER BY id LIMIT 1
ON CONFLICT (session_id, chat_jid, message_id, recipient_jid) DO UPDATE SET
    status = CASE WHEN {_RANK_SQL.format(col="excluded.status")}
                       > {_RANK_SQL.format(col="message_receipts.status")}
                  THEN excluded.status ELSE message_receipts.status END,
    delivered_at = coalesce(message_receipts.delivered_at, excluded.delivered_at),
    read_at = coalesce(message_receipts.read_at, excluded.read_at),
    played_at = coalesce(message_receipts.played_at, excluded.played_at),
    updated_at = excluded.updated_at
WHERE {_RANK_SQL.format(col="excluded.status")} > {_RANK_SQL.format(col="message_receipts.status")}
   OR (excluded.delivered_at IS NOT NULL AND message_receipts.delivered_at IS NULL)
   OR (excluded.read_at IS NOT NULL AND message_receipts.read_at IS NULL)
   OR (excluded.played_at IS NOT NULL AND message_receipts.played_at IS NULL)
RETURNING chat_jid
"""
SELECT_FOR_MESSAGE = """
SELECT chat_jid, message_id, recipient_jid, status, delivered_at, read_at, played_at
FROM message_receipts WHERE session_id = ? AND chat_jid = ? AND message_id = ?
ORDER BY recipient_jid
"""


class SqliteReceiptRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def record(
        self,
        session_id: str,
        message_id: str,
        recipient: str,
        status: ReceiptStatus,
        at: datetime,
    ) -> str | None:
        """Records that ``recipient`` (a device JID) reached ``status`` at ``at`` for our message
        ``message_id``; returns the message's chat when that was news, None when it was known
        already or the message is not one of ours (nothing written then)."""
        when = to_ms(at)
        times = {
            ReceiptStatus.DELIVERED: (when, None, None),
            ReceiptStatus.READ: (None, when, None),
            ReceiptStatus.PLAYED: (None, None, when),
        }[status]
        row = await self._db.fetch_one(
            UPSERT,
            (
                recipient,
                str(status),
                *times,
                to_ms(self._db.now()),
                session_id,
                message_id,
            ),
        )
        return None if row is None else str(row[0])

    async def for_message(self, session_id: str, chat: str, message_id: str) -> list[ReceiptRecord]:
        rows = await self._db.fetch_all(SELECT_FOR_MESSAGE, (session_id, chat, message_id))
        with decoding(session_id, "message_receipts"):
            return [
                ReceiptRecord(
                    chat=str(row[0]),
                    message_id=str(row[1]),
                    recipient=str(row[2]),
                    status=ReceiptStatus(str(row[3])),
                    delivered_at=opt_from_ms(row[4]),
                    read_at=opt_from_ms(row[5]),
                    played_at=opt_from_ms(row[6]),
                )
                for row in rows
            ]
