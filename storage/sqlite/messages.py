"""Messages: one row per (chat, sender, message id); redeliveries are recognised by that key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from storage.engine import Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.message_values import ContentType, MessageRecord, MessageStatus
from storage.sqlite._columns import decoding, from_ms, missing_session, opt_from_ms, to_ms

COLUMNS = """
id, chat_jid, message_id, sender_jid, sender_device, from_me, sent_at, content_type, text,
quoted_id, target_id, status, payload, push_name, edited_at, revoked_at, retry_count
"""
SELECT_BY_KEY = f"""
SELECT {COLUMNS} FROM messages
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
"""
SELECT_OWN = f"""
SELECT {COLUMNS} FROM messages WHERE session_id = ? AND message_id = ? AND from_me = 1
ORDER BY id LIMIT 1
"""
SELECT_IN_CHAT = f"""
SELECT {COLUMNS} FROM messages WHERE session_id = ? AND chat_jid = ? AND message_id = ?
ORDER BY id LIMIT 1
"""
# Threads leave out protocol messages between our own devices (history sync notifications,
# app-state key shares...): they are stored (persist before ack) but are nobody's message.
SELECT_PAGE = f"""
SELECT {COLUMNS} FROM messages
WHERE session_id = ? AND chat_jid = ? AND (sent_at, id) < (?, ?) AND content_type <> 'protocol'
ORDER BY sent_at DESC, id DESC LIMIT ?
"""
SELECT_PAGE_AFTER = f"""
SELECT {COLUMNS} FROM messages
WHERE session_id = ? AND chat_jid = ? AND (sent_at, id) > (?, ?) AND content_type <> 'protocol'
ORDER BY sent_at ASC, id ASC LIMIT ?
"""
SELECT_TARGETING = f"""
SELECT {COLUMNS} FROM messages WHERE session_id = ? AND chat_jid = ? AND target_id = ?
ORDER BY id
"""
INSERT = """
INSERT INTO messages (
    session_id, chat_jid, message_id, sender_jid, sender_device, from_me, sent_at,
    content_type, text, quoted_id, target_id, status, payload, push_name, edited_at,
    revoked_at, retry_count, created_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, chat_jid, sender_jid, message_id) DO NOTHING
RETURNING id
"""
# Our message as the messenger sends it: it fills the row the outbox wrote when it accepted
# the send (no payload yet), so the message was visible as ``pending`` from the start.
INSERT_OWN = """
INSERT INTO messages (
    session_id, chat_jid, message_id, sender_jid, sender_device, from_me, sent_at,
    content_type, text, quoted_id, target_id, status, payload, push_name, edited_at,
    revoked_at, retry_count, created_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, chat_jid, sender_jid, message_id) DO UPDATE SET
    content_type = excluded.content_type, text = excluded.text, quoted_id = excluded.quoted_id,
    target_id = excluded.target_id, payload = excluded.payload, updated_at = excluded.updated_at
WHERE messages.from_me = 1 AND messages.payload IS NULL
RETURNING id
"""
# The common case of the above, in place: the outbox's row already shows this content (type
# and text), so only what it lacked is written and the chat's preview stands.
FILL_QUEUED_OWN = """
UPDATE messages SET quoted_id = ?, target_id = ?, payload = ?, updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
  AND from_me = 1 AND payload IS NULL AND content_type = ? AND text IS NOT DISTINCT FROM ?
RETURNING id
"""
# The outbox's row went into another chat than the one the messenger chose (a LID the
# messenger knows the phone number of): one row per message.
DROP_QUEUED_ELSEWHERE = """
DELETE FROM messages
WHERE session_id = ? AND message_id = ? AND from_me = 1 AND payload IS NULL AND chat_jid <> ?
"""
# A placeholder (waiting / undecryptable) becomes the real message once a retry decrypts.
FILL_PLACEHOLDER = """
UPDATE messages SET sender_device = ?, sent_at = ?, content_type = ?, text = ?, quoted_id = ?,
    target_id = ?, status = ?, payload = ?, push_name = coalesce(?, push_name), updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
  AND status IN ('waiting', 'undecryptable')
RETURNING id
"""
SET_RETRY = """
UPDATE messages SET retry_count = ?, status = ?, updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
"""
# Our own messages only move forward: pending < sent < delivered < read < played.
_RANK_SQL = """
CASE status WHEN 'pending' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3
            WHEN 'read' THEN 4 WHEN 'played' THEN 5 ELSE 0 END
"""
ADVANCE_OWN = f"""
UPDATE messages SET status = ?, updated_at = ?
WHERE session_id = ? AND message_id = ? AND from_me = 1 AND {_RANK_SQL} < ?
RETURNING chat_jid
"""
# Our message acked by the server: the server's time, and ``sent`` unless a receipt already
# moved it as far (one statement for advance_own + set_own_sent_at).
MARK_OWN_SENT = f"""
UPDATE messages SET sent_at = ?, status = 'sent', updated_at = ?
WHERE session_id = ? AND message_id = ? AND from_me = 1 AND {_RANK_SQL} < ?
RETURNING chat_jid
"""
FAIL_OWN = """
UPDATE messages SET status = 'failed', updated_at = ?
WHERE session_id = ? AND message_id = ? AND from_me = 1 AND status = 'pending'
RETURNING chat_jid
"""
SET_SENT_AT = """
UPDATE messages SET sent_at = ?, updated_at = ?
WHERE session_id = ? AND message_id = ? AND from_me = 1
"""
MARK_READ = """
UPDATE messages SET status = 'read', updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND message_id = ? AND from_me = 0 AND status = 'received'
"""
APPLY_EDIT = """
UPDATE messages SET text = ?, edited_at = ?, updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
  AND revoked_at IS NULL
"""
APPLY_REVOKE = """
UPDATE messages SET text = NULL, revoked_at = ?, updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND sender_jid = ? AND message_id = ?
"""
COUNT_CHAT = "SELECT count(*) FROM messages WHERE session_id = ? AND chat_jid = ?"
COUNT_ALL = "SELECT count(*) FROM messages WHERE session_id = ?"
_FAR_FUTURE_MS = 2**62


def message_record(session_id: str, row: Row) -> MessageRecord:
    with decoding(session_id, "messages"):
        return MessageRecord(
            row_id=int(row[0]),
            chat=str(row[1]),
            message_id=str(row[2]),
            sender=str(row[3]),
            sender_device=None if row[4] is None else str(row[4]),
            from_me=bool(row[5]),
            sent_at=from_ms(int(row[6])),
            content_type=ContentType(str(row[7])),
            text=None if row[8] is None else str(row[8]),
            quoted_id=None if row[9] is None else str(row[9]),
            target_id=None if row[10] is None else str(row[10]),
            status=MessageStatus(str(row[11])),
            payload=None if row[12] is None else bytes(row[12]),
            push_name=None if row[13] is None else str(row[13]),
            edited_at=opt_from_ms(row[14]),
            revoked_at=opt_from_ms(row[15]),
            retry_count=int(row[16]),
        )


class SqliteMessageRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    def _now(self) -> int:
        return to_ms(self._db.now())

    async def get(
        self, session_id: str, chat: str, sender: str, message_id: str
    ) -> MessageRecord | None:
        row = await self._db.fetch_one(SELECT_BY_KEY, (session_id, chat, sender, message_id))
        return None if row is None else message_record(session_id, row)

    async def find_own(self, session_id: str, message_id: str) -> MessageRecord | None:
        row = await self._db.fetch_one(SELECT_OWN, (session_id, message_id))
        return None if row is None else message_record(session_id, row)

    async def find_in_chat(
        self, session_id: str, chat: str, message_id: str
    ) -> MessageRecord | None:
        row = await self._db.fetch_one(SELECT_IN_CHAT, (session_id, chat, message_id))
        return None if row is None else message_record(session_id, row)

    async def insert(self, session_id: str, message: MessageRecord) -> MessageRecord | None:
        """Stores ``message``; None when a message with its key already exists (nothing is
        written then)."""
        return await self._insert(INSERT, session_id, message)

    async def insert_own(self, session_id: str, message: MessageRecord) -> MessageRecord | None:
        """Stores our ``message`` as it goes out, filling the row the outbox wrote when it
        accepted the send; None when the message was already stored (a repeated attempt)."""
        await self._db.execute(
            DROP_QUEUED_ELSEWHERE, (session_id, message.message_id, message.chat)
        )
        return await self._insert(INSERT_OWN, session_id, message)

    async def fill_queued_own(
        self, session_id: str, message: MessageRecord
    ) -> MessageRecord | None:
        """Completes the row the outbox wrote when it accepted ``message`` if that row shows
        the same content (type and text); None otherwise (use :meth:`insert_own`)."""
        row = await self._db.fetch_one(
            FILL_QUEUED_OWN,
            (
                message.quoted_id,
                message.target_id,
                message.payload,
                self._now(),
                session_id,
                message.chat,
                message.sender,
                message.message_id,
                str(message.content_type),
                message.text,
            ),
        )
        return None if row is None else replace(message, row_id=int(row[0]))

    async def _insert(
        self, statement: str, session_id: str, message: MessageRecord
    ) -> MessageRecord | None:
        now = self._now()
        try:
            row = await self._db.fetch_one(
                statement,
                (
                    session_id,
                    message.chat,
                    message.message_id,
                    message.sender,
                    message.sender_device,
                    int(message.from_me),
                    to_ms(message.sent_at),
                    str(message.content_type),
                    message.text,
                    message.quoted_id,
                    message.target_id,
                    str(message.status),
                    message.payload,
                    message.push_name,
                    None if message.edited_at is None else to_ms(message.edited_at),
                    None if message.revoked_at is None else to_ms(message.revoked_at),
                    message.retry_count,
                    now,
                    now,
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise
        if row is None:
            return None
        return replace(message, row_id=int(row[0]))

    async def fill_placeholder(
        self, session_id: str, message: MessageRecord
    ) -> MessageRecord | None:
        """Replaces a ``waiting``/``undecryptable`` row with the decrypted ``message``; None
        when there is no such placeholder."""
        row = await self._db.fetch_one(
            FILL_PLACEHOLDER,
            (
                message.sender_device,
                to_ms(message.sent_at),
                str(message.content_type),
                message.text,
                message.quoted_id,
                message.target_id,
                str(message.status),
                message.payload,
                message.push_name,
                self._now(),
                session_id,
                message.chat,
                message.sender,
                message.message_id,
            ),
        )
        return None if row is None else replace(message, row_id=int(row[0]))

    async def set_retry(
        self,
        session_id: str,
        chat: str,
        sender: str,
        message_id: str,
        count: int,
        status: MessageStatus,
    ) -> None:
        await self._db.execute(
            SET_RETRY, (count, str(status), self._now(), session_id, chat, sender, message_id)
        )

    async def advance_own(
        self, session_id: str, message_id: str, status: MessageStatus
    ) -> list[str]:
        """Moves our message ``message_id`` forward to ``status`` (never back); returns the
        chats whose row changed (empty when the status was already as far)."""
        rows = await self._db.fetch_all(
            ADVANCE_OWN, (str(status), self._now(), session_id, message_id, status.rank)
        )
        return [str(row[0]) for row in rows]

    async def mark_own_sent(self, session_id: str, message_id: str, at: datetime) -> list[str]:
        """Our message ``message_id`` was acked at ``at`` (the server's time): its time becomes
        ``at`` and its status ``sent`` if it was not that far yet; returns the chats whose
        status changed (empty: only the time was set)."""
        sent = MessageStatus.SENT
        rows = await self._db.fetch_all(
            MARK_OWN_SENT, (to_ms(at), self._now(), session_id, message_id, sent.rank)
        )
        if not rows:
            await self.set_own_sent_at(session_id, message_id, at)
        return [str(row[0]) for row in rows]

    async def fail_own(self, session_id: str, message_id: str) -> list[str]:
        """Our ``pending`` message ``message_id`` was refused: ``failed``; returns the chats
        whose row changed."""
        rows = await self._db.fetch_all(FAIL_OWN, (self._now(), session_id, message_id))
        return [str(row[0]) for row in rows]

    async def set_own_sent_at(self, session_id: str, message_id: str, at: datetime) -> None:
        await self._db.execute(SET_SENT_AT, (to_ms(at), self._now(), session_id, message_id))

    async def mark_read(self, session_id: str, chat: str, message_ids: Sequence[str]) -> int:
        """Incoming ``received`` messages of ``chat`` become ``read``; returns how many."""
        now = self._now()
        changed = 0
        for message_id in message_ids:
            changed += await self._db.execute(MARK_READ, (now, session_id, chat, message_id))
        return changed

    async def apply_edit(
        self,
        session_id: str,
        chat: str,
        sender: str,
        target_id: str,
        text: str | None,
        at: datetime,
    ) -> bool:
        """Sets the new text of the sender's own message ``target_id`` (only its author can
        edit it); False when there is no such message."""
        changed = await self._db.execute(
            APPLY_EDIT, (text, to_ms(at), self._now(), session_id, chat, sender, target_id)
        )
        return changed > 0

    async def apply_revoke(
        self, session_id: str, chat: str, sender: str, target_id: str, at: datetime
    ) -> bool:
        changed = await self._db.execute(
            APPLY_REVOKE, (to_ms(at), self._now(), session_id, chat, sender, target_id)
        )
        return changed > 0

    async def targeting(self, session_id: str, chat: str, target_id: str) -> list[MessageRecord]:
        """Reactions, edits and revokes that refer to ``target_id``, oldest first."""
        rows = await self._db.fetch_all(SELECT_TARGETING, (session_id, chat, target_id))
        return [message_record(session_id, row) for row in rows]

    async def page(
        self,
        session_id: str,
        chat: str,
        *,
        limit: int,
        before: tuple[datetime, int] | None = None,
        after: tuple[datetime, int] | None = None,
    ) -> list[MessageRecord]:
        """Messages of ``chat``, newest first, strictly before ``(sent_at, row_id)``; or,
        with ``after``, oldest first, strictly after that position (forward paging)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is not None:
            if before is not None:
                raise ValueError("page before or after a position, not both")
            rows = await self._db.fetch_all(
                SELECT_PAGE_AFTER, (session_id, chat, to_ms(after[0]), after[1], limit)
            )
            return [message_record(session_id, row) for row in rows]
        at, row_id = (to_ms(before[0]), before[1]) if before else (_FAR_FUTURE_MS, 0)
        rows = await self._db.fetch_all(SELECT_PAGE, (session_id, chat, at, row_id, limit))
        return [message_record(session_id, row) for row in rows]

    async def count(self, session_id: str, chat: str | None = None) -> int:
        if chat is None:
            row = await self._db.fetch_one(COUNT_ALL, (session_id,))
        else:
            row = await self._db.fetch_one(COUNT_CHAT, (session_id, chat))
        return int(row[0]) if row else 0
