"""History sync ingest: messages, chat previews and push names in bulk, and the chunks done.

History arrives by the thousand, so messages go in as multi-row statements (a few per batch,
not one per row: see ``storage.sqlite._batches``). It writes the same tables as live messages,
under the same redelivery key (chat, sender, message id): a message already stored live or by
an earlier push of the same chunk is left as it is (``ON CONFLICT DO NOTHING``), which makes
ingest idempotent.

A chat's preview only moves to a newer message; its unread count becomes the larger of the
stored one and the phone's (a chunk pushed twice, or a live message counted in both, changes
nothing); archive / pin / mute come from the history only until app state has set them
(``settings_at``).
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.engine import SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.sqlite._batches import insert_rows
from storage.sqlite._columns import decoding, missing_session, to_ms
from storage.sync_values import (
    ChunkStatus,
    HistoryChatRow,
    HistoryChunkRecord,
    HistoryMessageRow,
    OldestMessage,
)

INSERT_MESSAGES = """
INSERT INTO messages (
    session_id, chat_jid, message_id, sender_jid, from_me, sent_at, content_type, text,
    quoted_id, target_id, status, payload, push_name, created_at, updated_at
) VALUES {rows}
ON CONFLICT (session_id, chat_jid, sender_jid, message_id) DO NOTHING
"""
MESSAGE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# ?1 session, ?2 jid, ?3 kind, ?4 name, ?5 last id, ?6 last sender, ?7 last from_me,
# ?8 preview, ?9 last at, ?10 unread (NULL: unknown), ?11 has settings (0/1), ?12 archived,
# ?13 pinned_at, ?14 muted_until, ?15 now.
UPSERT_CHAT = """
INSERT INTO chats (
    session_id, jid, kind, name, last_message_id, last_sender_jid, last_from_me, last_preview,
    last_message_at, unread_count, archived, pinned_at, muted_until, created_at, updated_at
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, coalesce(?10, 0),
          CASE WHEN ?11 = 1 THEN coalesce(?12, 0) ELSE 0 END,
          CASE WHEN ?11 = 1 THEN CAST(?13 AS BIGINT) END,
          CASE WHEN ?11 = 1 THEN CAST(?14 AS BIGINT) END, ?15, ?15)
ON CONFLICT (session_id, jid) DO UPDATE SET
    name = coalesce(?4, chats.name),
    last_message_id = CASE WHEN ?9 IS NOT NULL AND ?9 >= coalesce(chats.last_message_at, 0)
                           THEN ?5 ELSE chats.last_message_id END,
    last_sender_jid = CASE WHEN ?9 IS NOT NULL AND ?9 >= coalesce(chats.last_message_at, 0)
                           THEN ?6 ELSE chats.last_sender_jid END,
    last_from_me = CASE WHEN ?9 IS NOT NULL AND ?9 >= coalesce(chats.last_message_at, 0)
                        THEN ?7 ELSE chats.last_from_me END,
    last_preview = CASE WHEN ?9 IS NOT NULL AND ?9 >= coalesce(chats.last_message_at, 0)
                        THEN ?8 ELSE chats.last_preview END,
    last_message_at = CASE WHEN ?9 IS NOT NULL AND ?9 >= coalesce(chats.last_message_at, 0)
                           THEN ?9 ELSE chats.last_message_at END,
    unread_count = CASE WHEN ?10 IS NOT NULL AND ?10 > chats.unread_count
                        THEN ?10 ELSE chats.unread_count END,
    archived = CASE WHEN ?11 = 1 AND chats.settings_at IS NULL THEN coalesce(?12, 0)
                    ELSE chats.archived END,
    pinned_at = CASE WHEN ?11 = 1 AND chats.settings_at IS NULL THEN ?13
                     ELSE chats.pinned_at END,
    muted_until = CASE WHEN ?11 = 1 AND chats.settings_at IS NULL THEN ?14
                       ELSE chats.muted_until END,
    updated_at = ?15
"""
# Contacts are unique per phone number and per LID (partial indexes): the conflict target
# names the index's condition.
UPSERT_PN_PUSH_NAME = """
INSERT INTO contacts (session_id, pn_jid, push_name, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (session_id, pn_jid) WHERE pn_jid IS NOT NULL DO UPDATE SET
    push_name = excluded.push_name, updated_at = excluded.updated_at
WHERE contacts.push_name IS DISTINCT FROM excluded.push_name
"""
UPSERT_LID_PUSH_NAME = """
INSERT INTO contacts (session_id, lid_jid, push_name, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (session_id, lid_jid) WHERE lid_jid IS NOT NULL DO UPDATE SET
    push_name = excluded.push_name, updated_at = excluded.updated_at
WHERE contacts.push_name IS DISTINCT FROM excluded.push_name
"""
SELECT_CHUNK = """
SELECT message_id, sync_type, chunk_order, progress, status, messages, stored, error
FROM history_chunks WHERE session_id = ? AND message_id = ?
"""
SELECT_PENDING = """
SELECT message_id, sync_type, chunk_order, progress, status, messages, stored, error
FROM history_chunks WHERE session_id = ? AND status = 'pending' ORDER BY created_at
"""
UPSERT_CHUNK = """
INSERT INTO history_chunks (
    session_id, message_id, sync_type, chunk_order, progress, status, messages, stored, error,
    created_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, message_id) DO UPDATE SET
    status = excluded.status, messages = excluded.messages, stored = excluded.stored,
    error = excluded.error, updated_at = excluded.updated_at
"""
# Protocol messages from our own devices that no chunk row accounts for: notifications
# committed just before a crash, before their chunk was even started.
SELECT_UNSEEN_PROTOCOL = """
SELECT m.message_id, m.payload FROM messages m
WHERE m.session_id = ? AND m.chat_jid = ? AND m.from_me = 1 AND m.content_type = 'protocol'
  AND m.payload IS NOT NULL AND m.sent_at >= ?
  AND NOT EXISTS (
      SELECT 1 FROM history_chunks h WHERE h.session_id = m.session_id
                                     AND h.message_id = m.message_id)
ORDER BY m.id
"""
SELECT_PROTOCOL_PAYLOAD = """
SELECT payload FROM messages
WHERE session_id = ? AND chat_jid = ? AND message_id = ? AND from_me = 1
  AND content_type = 'protocol'
"""
SELECT_OLDEST = """
SELECT message_id, from_me, sent_at FROM messages
WHERE session_id = ? AND chat_jid = ? AND content_type NOT IN ('placeholder', 'protocol')
ORDER BY sent_at, id LIMIT 1
"""
COUNT_CHUNKS = "SELECT status, count(*) FROM history_chunks WHERE session_id = ? GROUP BY status"


class SqliteHistoryRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    def _now(self) -> int:
        return to_ms(self._db.now())

    async def insert_messages(self, session_id: str, rows: Sequence[HistoryMessageRow]) -> int:
        """Inserts the rows not stored yet; returns how many were new."""
        if not rows:
            return 0
        now = self._now()
        params = [
            (
                session_id,
                r.chat,
                r.message_id,
                r.sender,
                int(r.from_me),
                r.sent_at_ms,
                r.content_type,
                r.text,
                r.quoted_id,
                r.target_id,
                r.status,
                r.payload,
                r.push_name,
                now,
                now,
            )
            for r in rows
        ]
        try:
            return await insert_rows(self._db, INSERT_MESSAGES, MESSAGE_ROW, params)
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def upsert_chats(self, session_id: str, chats: Sequence[HistoryChatRow]) -> int:
        if not chats:
            return 0
        now = self._now()
        params = [
            (
                session_id,
                c.jid,
                c.kind,
                c.name,
                c.last_message_id,
                c.last_sender,
                None if c.last_from_me is None else int(c.last_from_me),
                c.last_preview,
                c.last_message_at_ms,
                c.unread_count,
                int(c.archived is not None),
                None if c.archived is None else int(c.archived),
                c.pinned_at,
                c.muted_until,
                now,
            )
            for c in chats
        ]
        try:
            return await self._db.execute_many(UPSERT_CHAT, params)
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def put_push_names(self, session_id: str, names: Sequence[tuple[str, str]]) -> int:
        """``(jid, push name)`` pairs for phone-number JIDs and LIDs (others are skipped)."""
        now = self._now()
        pn = [(session_id, j, n, now) for j, n in names if j.endswith("@s.whatsapp.net")]
        lid = [(session_id, j, n, now) for j, n in names if j.endswith("@lid")]
        changed = 0
        async with self._db.transaction():
            if pn:
                changed += await self._db.execute_many(UPSERT_PN_PUSH_NAME, pn)
            if lid:
                changed += await self._db.execute_many(UPSERT_LID_PUSH_NAME, lid)
        return changed

    # ------------------------------------------------------------------------- chunks

    async def get_chunk(self, session_id: str, message_id: str) -> HistoryChunkRecord | None:
        row = await self._db.fetch_one(SELECT_CHUNK, (session_id, message_id))
        return None if row is None else _chunk(session_id, row)

    async def pending_chunks(self, session_id: str) -> list[HistoryChunkRecord]:
        rows = await self._db.fetch_all(SELECT_PENDING, (session_id,))
        return [_chunk(session_id, row) for row in rows]

    async def put_chunk(self, session_id: str, chunk: HistoryChunkRecord) -> None:
        now = self._now()
        try:
            await self._db.execute(
                UPSERT_CHUNK,
                (
                    session_id,
                    chunk.message_id,
                    chunk.sync_type,
                    chunk.chunk_order,
                    chunk.progress,
                    str(chunk.status),
                    chunk.messages,
                    chunk.stored,
                    chunk.error,
                    now,
                    now,
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def chunk_counts(self, session_id: str) -> dict[ChunkStatus, int]:
        rows = await self._db.fetch_all(COUNT_CHUNKS, (session_id,))
        with decoding(session_id, "history_chunks"):
            return {ChunkStatus(str(r[0])): int(r[1]) for r in rows}

    async def oldest_message(self, session_id: str, chat: str) -> OldestMessage | None:
        row = await self._db.fetch_one(SELECT_OLDEST, (session_id, chat))
        if row is None:
            return None
        return OldestMessage(str(row[0]), bool(row[1]), int(row[2]))

    async def unseen_protocol_messages(
        self, session_id: str, own_chat: str, since_ms: int
    ) -> list[tuple[str, bytes]]:
        """(message id, payload) of our devices' protocol messages since ``since_ms`` that no
        history chunk row names."""
        rows = await self._db.fetch_all(SELECT_UNSEEN_PROTOCOL, (session_id, own_chat, since_ms))
        return [(str(r[0]), bytes(r[1])) for r in rows]

    async def protocol_payload(
        self, session_id: str, own_chat: str, message_id: str
    ) -> bytes | None:
        row = await self._db.fetch_one(SELECT_PROTOCOL_PAYLOAD, (session_id, own_chat, message_id))
        return None if row is None or row[0] is None else bytes(row[0])


def _chunk(session_id: str, row: tuple[object, ...]) -> HistoryChunkRecord:
    with decoding(session_id, "history_chunks"):
        return HistoryChunkRecord(
            message_id=str(row[0]),
            sync_type=str(row[1]),
            chunk_order=int(str(row[2])),
            progress=None if row[3] is None else int(str(row[3])),
            status=ChunkStatus(str(row[4])),
            messages=int(str(row[5])),
            stored=int(str(row[6])),
            error=None if row[7] is None else str(row[7]),
        )
