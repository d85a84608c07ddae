"""What we sent, kept for a bounded window to answer retry receipts, and how often each
recipient device asked for a message again."""

from __future__ import annotations

from datetime import datetime

from storage.engine import SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.message_values import OutgoingPlaintext
from storage.sqlite._columns import decoding, from_ms, missing_session, to_ms

# The message's time is its row's among our messages (the server's, once acked: the ack writes
# it there), so the ack writes nothing here; the time the plaintext was kept stands in only for
# a message whose row is gone (deleted for us alone).
SELECT = """
SELECT o.message_id, o.chat_jid, o.message_type, o.edit, o.payload,
    coalesce(
        (SELECT max(m.sent_at) FROM messages m
         WHERE m.session_id = o.session_id AND m.message_id = o.message_id AND m.from_me = 1),
        o.sent_at
    ),
    o.created_at
FROM outgoing_plaintexts o WHERE o.session_id = ? AND o.message_id = ?
"""
UPSERT = """
INSERT INTO outgoing_plaintexts (
    session_id, message_id, chat_jid, message_type, edit, payload, sent_at, created_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, message_id) DO UPDATE SET
    chat_jid = excluded.chat_jid, message_type = excluded.message_type, edit = excluded.edit,
    payload = excluded.payload
"""
PRUNE = "DELETE FROM outgoing_plaintexts WHERE session_id = ? AND created_at < ?"
PRUNE_RETRIES = "DELETE FROM outgoing_retries WHERE session_id = ? AND updated_at < ?"
BUMP_RETRY = """
INSERT INTO outgoing_retries (session_id, message_id, device, count, updated_at)
VALUES (?, ?, ?, 1, ?)
ON CONFLICT (session_id, message_id, device) DO UPDATE SET
    count = outgoing_retries.count + 1, updated_at = excluded.updated_at
RETURNING count
"""


class SqliteOutgoingRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def keep(self, session_id: str, plaintext: OutgoingPlaintext) -> None:
        """Stores (or, for a repeated send of the same id, replaces) a sent plaintext."""
        try:
            await self._db.execute(
                UPSERT,
                (
                    session_id,
                    plaintext.message_id,
                    plaintext.chat,
                    plaintext.message_type,
                    plaintext.edit,
                    plaintext.payload,
                    to_ms(plaintext.sent_at),
                    to_ms(plaintext.created_at),
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def get(self, session_id: str, message_id: str) -> OutgoingPlaintext | None:
        """The plaintext kept for ``message_id``; its ``sent_at`` is the message's time (the
        server's once acked)."""
        row = await self._db.fetch_one(SELECT, (session_id, message_id))
        if row is None:
            return None
        with decoding(session_id, "outgoing_plaintexts"):
            return OutgoingPlaintext(
                message_id=str(row[0]),
                chat=str(row[1]),
                message_type=str(row[2]),
                edit=None if row[3] is None else str(row[3]),
                payload=bytes(row[4]),
                sent_at=from_ms(int(row[5])),
                created_at=from_ms(int(row[6])),
            )

    async def prune(self, session_id: str, older_than: datetime) -> int:
        """Forgets plaintexts (and retry counts) from before ``older_than``."""
        cutoff = to_ms(older_than)
        async with self._db.transaction():
            removed = await self._db.execute(PRUNE, (session_id, cutoff))
            await self._db.execute(PRUNE_RETRIES, (session_id, cutoff))
        return removed

    async def count_retry(self, session_id: str, message_id: str, device: str) -> int:
        """Counts one more retry request of ``device`` for ``message_id``; returns the total."""
        row = await self._db.fetch_one(
            BUMP_RETRY, (session_id, message_id, device, to_ms(self._db.now()))
        )
        assert row is not None
        return int(row[0])
