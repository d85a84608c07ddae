"""The chat list: kind, name, last-message preview and time, unread count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from storage.engine import Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.message_values import ChatKind, ChatRecord, MessageRecord
from storage.sqlite._columns import decoding, from_ms, missing_session, opt_from_ms, to_ms
from storage.sqlite.messages import COLUMNS as MESSAGE_COLUMNS
from storage.sqlite.messages import message_record

COLUMNS = """
jid, kind, name, last_message_id, last_sender_jid, last_from_me, last_preview, last_message_at,
unread_count, updated_at
"""
SELECT_ONE = f"SELECT {COLUMNS} FROM chats WHERE session_id = ? AND jid = ?"
SELECT_PAGE = f"""
SELECT {COLUMNS} FROM chats
WHERE session_id = ? AND (coalesce(last_message_at, 0), jid) < (?, ?)
ORDER BY coalesce(last_message_at, 0) DESC, jid DESC LIMIT ?
"""
ENSURE = """
INSERT INTO chats (session_id, jid, kind, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, jid) DO UPDATE SET
    name = coalesce(excluded.name, chats.name),
    updated_at = CASE WHEN excluded.name IS NOT NULL AND excluded.name IS DISTINCT FROM chats.name
                      THEN excluded.updated_at ELSE chats.updated_at END
"""
# A message older than the preview (history, a late redelivery) does not replace it.
RECORD_MESSAGE = f"""
INSERT INTO chats (
    session_id, jid, kind, name, last_message_id, last_sender_jid, last_from_me, last_preview,
    last_message_at, unread_count, created_at, updated_at
) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, jid) DO UPDATE SET
    last_message_id = CASE WHEN excluded.last_message_at >= coalesce(chats.last_message_at, 0)
                           THEN excluded.last_message_id ELSE chats.last_message_id END,
    last_sender_jid = CASE WHEN excluded.last_message_at >= coalesce(chats.last_message_at, 0)
                           THEN excluded.last_sender_jid ELSE chats.last_sender_jid END,
    last_from_me = CASE WHEN excluded.last_message_at >= coalesce(chats.last_message_at, 0)
                        THEN excluded.last_from_me ELSE chats.last_from_me END,
    last_preview = CASE WHEN excluded.last_message_at >= coalesce(chats.last_message_at, 0)
                        THEN excluded.last_preview ELSE chats.last_preview END,
    last_message_at = CASE WHEN excluded.last_message_at >= coalesce(chats.last_message_at, 0)
                           THEN excluded.last_message_at ELSE chats.last_message_at END,
    unread_count = chats.unread_count + excluded.unread_count,
    updated_at = excluded.updated_at
RETURNING {COLUMNS}
"""
SET_PREVIEW_IF_LAST = f"""
UPDATE chats SET last_preview = ?, updated_at = ?
WHERE session_id = ? AND jid = ? AND last_message_id = ?
RETURNING {COLUMNS}
"""
READ = f"""
UPDATE chats SET unread_count = CASE WHEN unread_count > ?1 THEN unread_count - ?1 ELSE 0 END,
    updated_at = ?
WHERE session_id = ? AND jid = ?
RETURNING {COLUMNS}
"""
# The chat's newest message in the thread's own order (service time, then row number), among
# the kinds that become a chat's last message (reactions, edits, revokes, protocol messages
# change other messages instead).
# Beside it, what the chat shows now: when that is already the newest message (another of our
# messages in flight was acked, the chat's last is a later one), nothing needs writing.
NEWEST_SHOWN = f"""
SELECT {MESSAGE_COLUMNS},
    (SELECT last_message_id FROM chats WHERE session_id = ?1 AND jid = ?2),
    (SELECT last_message_at FROM chats WHERE session_id = ?1 AND jid = ?2),
    (SELECT last_preview FROM chats WHERE session_id = ?1 AND jid = ?2)
FROM messages
WHERE session_id = ?1 AND chat_jid = ?2
  AND content_type NOT IN ('reaction', 'edit', 'revoke', 'protocol', 'ephemeral_setting')
ORDER BY sent_at DESC, id DESC LIMIT 1
"""
SET_LAST = f"""
UPDATE chats SET last_message_id = ?, last_sender_jid = ?, last_from_me = ?, last_preview = ?,
    last_message_at = ?, updated_at = ?
WHERE session_id = ? AND jid = ?
  AND (last_message_id IS DISTINCT FROM ? OR last_message_at IS DISTINCT FROM ?
       OR last_preview IS DISTINCT FROM ?)
RETURNING {COLUMNS}
"""
# refresh_last's common case in one statement: our message, already the chat's last, got the
# server's time and is still the newest shown one; only the time changes (the preview is its own).
SET_OWN_LAST_TIME = f"""
UPDATE chats SET last_message_at = ?1, updated_at = ?2
WHERE session_id = ?3 AND jid = ?4 AND last_message_id = ?5 AND last_from_me = 1
  AND last_message_at IS DISTINCT FROM ?1
  AND NOT EXISTS (
    SELECT 1 FROM messages ours JOIN messages other
      ON other.session_id = ours.session_id AND other.chat_jid = ours.chat_jid
    WHERE ours.session_id = ?3 AND ours.chat_jid = ?4 AND ours.message_id = ?5
      AND ours.from_me = 1
      AND other.content_type NOT IN ('reaction', 'edit', 'revoke', 'protocol', 'ephemeral_setting')
      AND (other.sent_at > ours.sent_at OR (other.sent_at = ours.sent_at AND other.id > ours.id))
  )
  AND EXISTS (
    SELECT 1 FROM messages ours
    WHERE ours.session_id = ?3 AND ours.chat_jid = ?4 AND ours.message_id = ?5
      AND ours.from_me = 1 AND ours.sent_at = ?1 AND ours.revoked_at IS NULL
  )
RETURNING {COLUMNS}
"""
_FAR_FUTURE_MS = 2**62


def _record(session_id: str, row: Row) -> ChatRecord:
    with decoding(session_id, "chats"):
        return ChatRecord(
            jid=str(row[0]),
            kind=ChatKind(str(row[1])),
            name=None if row[2] is None else str(row[2]),
            last_message_id=None if row[3] is None else str(row[3]),
            last_sender=None if row[4] is None else str(row[4]),
            last_from_me=None if row[5] is None else bool(row[5]),
            last_preview=None if row[6] is None else str(row[6]),
            last_message_at=opt_from_ms(row[7]),
            unread_count=int(row[8]),
            updated_at=from_ms(int(row[9])),
        )


class SqliteChatRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    def _now(self) -> int:
        return to_ms(self._db.now())

    async def get(self, session_id: str, jid: str) -> ChatRecord | None:
        row = await self._db.fetch_one(SELECT_ONE, (session_id, jid))
        return None if row is None else _record(session_id, row)

    async def ensure(
        self, session_id: str, jid: str, kind: ChatKind, name: str | None = None
    ) -> None:
        """Creates the chat if it does not exist; a given ``name`` replaces the stored one."""
        now = self._now()
        try:
            await self._db.execute(ENSURE, (session_id, jid, str(kind), name, now, now))
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def record_message(
        self,
        session_id: str,
        jid: str,
        kind: ChatKind,
        *,
        message_id: str,
        sender: str,
        from_me: bool,
        preview: str | None,
        at: datetime,
        unread: int = 0,
    ) -> ChatRecord:
        """A new message in ``jid``: the preview follows the newest message, ``unread`` is
        added to the unread count. Creates the chat on its first message."""
        now = self._now()
        try:
            row = await self._db.fetch_one(
                RECORD_MESSAGE,
                (
                    session_id,
                    jid,
                    str(kind),
                    message_id,
                    sender,
                    int(from_me),
                    preview,
                    to_ms(at),
                    unread,
                    now,
                    now,
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise
        assert row is not None  # an upsert with RETURNING always returns the row
        return _record(session_id, row)

    async def update_preview(
        self, session_id: str, jid: str, message_id: str, preview: str | None
    ) -> ChatRecord | None:
        """Changes the preview if ``message_id`` is the chat's last message (an edit or a
        revoke of it); None otherwise."""
        row = await self._db.fetch_one(
            SET_PREVIEW_IF_LAST, (preview, self._now(), session_id, jid, message_id)
        )
        return None if row is None else _record(session_id, row)

    async def refresh_last(
        self,
        session_id: str,
        jid: str,
        preview_of: Callable[[MessageRecord], str | None],
    ) -> ChatRecord | None:
        """Makes the chat's last message the thread's newest again, after a message's time
        changed (our message's local time replaced by the server's): previews and threads
        order alike. None when nothing changed."""
        found = await self._db.fetch_one(NEWEST_SHOWN, (session_id, jid))
        if found is None:
            return None
        message = message_record(session_id, found)
        text = preview_of(message)
        at = to_ms(message.sent_at)
        shown_id, shown_at, shown_preview = found[-3:]
        if shown_id == message.message_id and shown_at == at and shown_preview == text:
            return None  # what SET_LAST would find: nothing changed
        row = await self._db.fetch_one(
            SET_LAST,
            (
                message.message_id,
                message.sender,
                int(message.from_me),
                text,
                at,
                self._now(),
                session_id,
                jid,
                message.message_id,
                at,
                text,
            ),
        )
        return None if row is None else _record(session_id, row)

    async def refresh_own_last(
        self,
        session_id: str,
        jid: str,
        message_id: str,
        at: datetime,
        preview_of: Callable[[MessageRecord], str | None],
    ) -> ChatRecord | None:
        """:meth:`refresh_last` after our message ``message_id`` got the server's time ``at``:
        one statement when it is the chat's last message and still the newest shown one, two
        when a later message (another send in flight) is, and stays, the chat's last."""
        row = await self._db.fetch_one(
            SET_OWN_LAST_TIME, (to_ms(at), self._now(), session_id, jid, message_id)
        )
        if row is not None:
            return _record(session_id, row)
        return await self.refresh_last(session_id, jid, preview_of)

    async def mark_read(self, session_id: str, jid: str, count: int) -> ChatRecord | None:
        """``count`` fewer unread messages (never below zero); None if the chat is unknown."""
        row = await self._db.fetch_one(READ, (count, self._now(), session_id, jid))
        return None if row is None else _record(session_id, row)

    async def page(
        self, session_id: str, *, limit: int, before: tuple[datetime | None, str] | None = None
    ) -> list[ChatRecord]:
        """Chats by last activity, newest first, strictly before ``(last_message_at, jid)``."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if before is None:
            at, jid = _FAR_FUTURE_MS, ""
        else:
            at, jid = (to_ms(before[0]) if before[0] else 0), before[1]
        rows = await self._db.fetch_all(SELECT_PAGE, (session_id, at, jid, limit))
        return [_record(session_id, row) for row in rows]
