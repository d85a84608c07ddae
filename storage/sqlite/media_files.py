"""Media files (content-addressed, one row per plaintext SHA-256) and the media of messages."""

from __future__ import annotations

from storage.engine import Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.sqlite._columns import decoding, missing_session, to_ms
from storage.sync_values import MediaFileRecord, MediaStatus, MessageMediaRecord

SELECT_FILE = (
    "SELECT sha256, path, size, mimetype FROM media_files WHERE session_id = ? AND sha256 = ?"
)
INSERT_FILE = """
INSERT INTO media_files (session_id, sha256, path, size, mimetype, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, sha256) DO NOTHING
"""
SELECT_MESSAGE = """
SELECT m.chat_jid, m.sender_jid, m.message_id, m.kind, m.status, m.sha256, m.direct_path,
       m.error, m.attempts, f.sha256, f.path, f.size, f.mimetype
FROM message_media m
LEFT JOIN media_files f ON f.session_id = m.session_id AND f.sha256 = m.sha256
WHERE m.session_id = ? AND m.chat_jid = ? AND m.sender_jid = ? AND m.message_id = ?
"""
UPSERT_MESSAGE = """
INSERT INTO message_media (
    session_id, chat_jid, sender_jid, message_id, kind, status, sha256, direct_path, error,
    attempts, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, chat_jid, sender_jid, message_id) DO UPDATE SET
    kind = excluded.kind, status = excluded.status, sha256 = excluded.sha256,
    direct_path = excluded.direct_path, error = excluded.error, attempts = excluded.attempts,
    updated_at = excluded.updated_at
"""
COUNT_USERS = "SELECT count(*) FROM message_media WHERE session_id = ? AND sha256 = ?"


def _file(session_id: str, row: Row, offset: int = 0) -> MediaFileRecord:
    with decoding(session_id, "media_files"):
        return MediaFileRecord(
            sha256=bytes(row[offset]),
            path=str(row[offset + 1]),
            size=int(row[offset + 2]),
            mimetype=None if row[offset + 3] is None else str(row[offset + 3]),
        )


class SqliteMediaFileRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    def _now(self) -> int:
        return to_ms(self._db.now())

    async def get_file(self, session_id: str, sha256: bytes) -> MediaFileRecord | None:
        row = await self._db.fetch_one(SELECT_FILE, (session_id, sha256))
        return None if row is None else _file(session_id, row)

    async def add_file(self, session_id: str, record: MediaFileRecord) -> None:
        """Records a stored file (a second record of the same SHA-256 changes nothing)."""
        try:
            await self._db.execute(
                INSERT_FILE,
                (
                    session_id,
                    record.sha256,
                    record.path,
                    record.size,
                    record.mimetype,
                    self._now(),
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def get_message_media(
        self, session_id: str, chat: str, sender: str, message_id: str
    ) -> MessageMediaRecord | None:
        row = await self._db.fetch_one(SELECT_MESSAGE, (session_id, chat, sender, message_id))
        if row is None:
            return None
        with decoding(session_id, "message_media"):
            return MessageMediaRecord(
                chat=str(row[0]),
                sender=str(row[1]),
                message_id=str(row[2]),
                kind=str(row[3]),
                status=MediaStatus(str(row[4])),
                sha256=None if row[5] is None else bytes(row[5]),
                direct_path=None if row[6] is None else str(row[6]),
                error=None if row[7] is None else str(row[7]),
                attempts=int(row[8]),
                file=None if row[9] is None else _file(session_id, row, 9),
            )

    async def put_message_media(self, session_id: str, record: MessageMediaRecord) -> None:
        try:
            await self._db.execute(
                UPSERT_MESSAGE,
                (
                    session_id,
                    record.chat,
                    record.sender,
                    record.message_id,
                    record.kind,
                    str(record.status),
                    record.sha256,
                    record.direct_path,
                    record.error,
                    record.attempts,
                    self._now(),
                ),
            )
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def users_of(self, session_id: str, sha256: bytes) -> int:
        """How many messages carry the file (for the API and for tests of deduplication)."""
        row = await self._db.fetch_one(COUNT_USERS, (session_id, sha256))
        return int(row[0]) if row else 0
