"""App-state sync: per-collection state (version, LTHash, MAC table) and what mutations change.

The collection state and the rows a patch changes are written by the caller inside one
transaction (``store.transaction()``), so a patch is either applied and remembered, or neither:
a crash between the two would otherwise re-apply or skip it.

Chat settings written here carry ``settings_at`` (the action's time): a history sync arriving
later does not overwrite them with its older view (see ``storage.sqlite.history``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.engine import Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.sqlite._columns import decoding, missing_session, opt_from_ms, to_ms
from storage.sqlite._dialect import greatest
from storage.sqlite.contacts import SqliteContactRepo
from storage.sync_values import (
    AppStateCollectionRow,
    ChatSettings,
    CollectionStatus,
    ContactNames,
    LabelRecord,
)

SELECT_COLLECTION = """
SELECT name, version, hash, status, last_error, synced_at FROM app_state_collections
WHERE session_id = ? AND name = ?
"""
SELECT_COLLECTIONS = """
SELECT name, version, hash, status, last_error, synced_at FROM app_state_collections
WHERE session_id = ? ORDER BY name
"""
SELECT_MACS = """
SELECT index_mac, value_mac FROM app_state_macs WHERE session_id = ? AND collection = ?
"""
UPSERT_COLLECTION = """
INSERT INTO app_state_collections (
    session_id, name, version, hash, status, last_error, synced_at, updated_at
) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)
ON CONFLICT (session_id, name) DO UPDATE SET
    version = excluded.version, hash = excluded.hash, status = excluded.status,
    last_error = NULL, synced_at = excluded.synced_at, updated_at = excluded.updated_at
"""
MARK_COLLECTION = """
INSERT INTO app_state_collections (session_id, name, version, hash, status, last_error, updated_at)
VALUES (?, ?, 0, ?, ?, ?, ?)
ON CONFLICT (session_id, name) DO UPDATE SET
    status = excluded.status, last_error = excluded.last_error, updated_at = excluded.updated_at
"""
DELETE_ALL_MACS = "DELETE FROM app_state_macs WHERE session_id = ? AND collection = ?"
DELETE_MAC = "DELETE FROM app_state_macs WHERE session_id = ? AND collection = ? AND index_mac = ?"
PUT_MAC = """
INSERT INTO app_state_macs (session_id, collection, index_mac, value_mac) VALUES (?, ?, ?, ?)
ON CONFLICT (session_id, collection, index_mac) DO UPDATE SET value_mac = excluded.value_mac
"""
ENSURE_CHAT = """
INSERT INTO chats (session_id, jid, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (session_id, jid) DO NOTHING
"""
# The SET_* statements name the scalar maximum as {greatest}: spelled per engine (_dialect).
SET_ARCHIVED = """
UPDATE chats SET archived = ?,
    settings_at = {greatest}(coalesce(settings_at, 0), ?), updated_at = ?
WHERE session_id = ? AND jid = ?
"""
SET_PINNED = """
UPDATE chats SET pinned_at = ?,
    settings_at = {greatest}(coalesce(settings_at, 0), ?), updated_at = ?
WHERE session_id = ? AND jid = ?
"""
SET_MUTED = """
UPDATE chats SET muted_until = ?,
    settings_at = {greatest}(coalesce(settings_at, 0), ?), updated_at = ?
WHERE session_id = ? AND jid = ?
"""
SET_READ = """
UPDATE chats SET unread_count = 0, marked_unread = 0,
    settings_at = {greatest}(coalesce(settings_at, 0), ?), updated_at = ?
WHERE session_id = ? AND jid = ?
"""
SET_UNREAD = """
UPDATE chats SET marked_unread = 1,
    settings_at = {greatest}(coalesce(settings_at, 0), ?), updated_at = ?
WHERE session_id = ? AND jid = ?
"""
READ_MESSAGES = """
UPDATE messages SET status = 'read', updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND from_me = 0 AND status = 'received' AND sent_at <= ?
"""
SELECT_SETTINGS = """
SELECT jid, archived, pinned_at, muted_until, marked_unread, unread_count, name FROM chats
WHERE session_id = ? AND jid = ?
"""
DELETE_MESSAGES_UPTO = "DELETE FROM messages WHERE session_id = ? AND chat_jid = ? AND sent_at <= ?"
DELETE_RECEIPTS = "DELETE FROM message_receipts WHERE session_id = ? AND chat_jid = ?"
DELETE_MESSAGE_MEDIA = "DELETE FROM message_media WHERE session_id = ? AND chat_jid = ?"
COUNT_MESSAGES = "SELECT count(*) FROM messages WHERE session_id = ? AND chat_jid = ?"
DELETE_CHAT = "DELETE FROM chats WHERE session_id = ? AND jid = ?"
DELETE_CHAT_LABELS = "DELETE FROM chat_labels WHERE session_id = ? AND chat_jid = ?"
CLEAR_PREVIEW = """
UPDATE chats SET last_message_id = NULL, last_sender_jid = NULL, last_from_me = NULL,
    last_preview = NULL, unread_count = 0, updated_at = ?
WHERE session_id = ? AND jid = ?
"""
SET_STARRED = """
UPDATE messages SET starred = ?, updated_at = ?
WHERE session_id = ? AND chat_jid = ? AND message_id = ? AND from_me = ?
"""
DELETE_MESSAGE = """
DELETE FROM messages WHERE session_id = ? AND chat_jid = ? AND message_id = ? AND from_me = ?
"""
SET_CONTACT_NAMES = """
UPDATE contacts SET full_name = ?, first_name = ?, updated_at = ?
WHERE session_id = ? AND (pn_jid = ? OR lid_jid = ?)
"""
SELECT_CONTACT = """
SELECT pn_jid, lid_jid, full_name, first_name, push_name FROM contacts
WHERE session_id = ? AND (pn_jid = ? OR lid_jid = ?) ORDER BY id LIMIT 1
"""
UPSERT_LABEL = """
INSERT INTO labels (session_id, label_id, name, color, deleted, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, label_id) DO UPDATE SET
    name = excluded.name, color = excluded.color, deleted = excluded.deleted,
    updated_at = excluded.updated_at
"""
SELECT_LABELS = """
SELECT label_id, name, color, deleted FROM labels WHERE session_id = ? ORDER BY label_id
"""
ADD_CHAT_LABEL = """
INSERT INTO chat_labels (session_id, label_id, chat_jid) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
"""
REMOVE_CHAT_LABEL = "DELETE FROM chat_labels WHERE session_id = ? AND label_id = ? AND chat_jid = ?"
SELECT_CHAT_LABELS = """
SELECT label_id FROM chat_labels WHERE session_id = ? AND chat_jid = ? ORDER BY label_id
"""
_FAR_FUTURE_MS = 2**62
# The LTHash of a collection never synced: 128 zero bytes.
_EMPTY_HASH = bytes(128)


def _chat_kind(jid: str) -> str:
    server = jid.rpartition("@")[2]
    if server == "g.us":
        return "group"
    if server == "broadcast":
        return "broadcast"
    if server in ("s.whatsapp.net", "lid"):
        return "user"
    return "other"


class SqliteAppStateRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db
        self._contacts = SqliteContactRepo(db)
        spelled = {"greatest": greatest(db.dialect)}
        self._set_archived = SET_ARCHIVED.format_map(spelled)
        self._set_pinned = SET_PINNED.format_map(spelled)
        self._set_muted = SET_MUTED.format_map(spelled)
        self._set_read = SET_READ.format_map(spelled)
        self._set_unread = SET_UNREAD.format_map(spelled)

    def _now(self) -> int:
        return to_ms(self._db.now())

    async def _write(self, sql: str, params: tuple[object, ...], session_id: str) -> int:
        try:
            return await self._db.execute(sql, params)
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    # ------------------------------------------------------------------------- collections

    async def load_collection(self, session_id: str, name: str) -> AppStateCollectionRow | None:
        """The stored state of ``name`` with its whole MAC table; None if never synced."""
        row = await self._db.fetch_one(SELECT_COLLECTION, (session_id, name))
        if row is None:
            return None
        macs = await self._db.fetch_all(SELECT_MACS, (session_id, name))
        with decoding(session_id, "app_state_collections"):
            return AppStateCollectionRow(
                name=str(row[0]),
                version=int(row[1]),
                hash=bytes(row[2]),
                index_value_macs={bytes(k): bytes(v) for k, v in macs},
                status=CollectionStatus(str(row[3])),
                last_error=None if row[4] is None else str(row[4]),
                synced_at=opt_from_ms(row[5]),
            )

    async def collections(self, session_id: str) -> list[AppStateCollectionRow]:
        """Every stored collection (without the MAC tables), by name."""
        rows = await self._db.fetch_all(SELECT_COLLECTIONS, (session_id,))
        with decoding(session_id, "app_state_collections"):
            return [
                AppStateCollectionRow(
                    name=str(r[0]),
                    version=int(r[1]),
                    hash=bytes(r[2]),
                    status=CollectionStatus(str(r[3])),
                    last_error=None if r[4] is None else str(r[4]),
                    synced_at=opt_from_ms(r[5]),
                )
                for r in rows
            ]

    async def save_collection(
        self,
        session_id: str,
        name: str,
        version: int,
        lthash: bytes,
        *,
        written: Iterable[tuple[bytes, bytes]] = (),
        deleted: Iterable[bytes] = (),
        replace: bool = False,
        at: datetime | None = None,
    ) -> None:
        """The state after a verified patch (``written``/``deleted`` rows of the MAC table) or
        snapshot (``replace``: ``written`` is the whole table). Marks the collection ok."""
        now = self._now()
        synced = to_ms(at) if at is not None else now
        async with self._db.transaction():
            await self._write(
                UPSERT_COLLECTION,
                (session_id, name, version, lthash, str(CollectionStatus.OK), synced, now),
                session_id,
            )
            if replace:
                await self._db.execute(DELETE_ALL_MACS, (session_id, name))
            gone = [(session_id, name, mac) for mac in deleted]
            if gone:
                await self._db.execute_many(DELETE_MAC, gone)
            rows = [(session_id, name, index_mac, value_mac) for index_mac, value_mac in written]
            if rows:
                await self._db.execute_many(PUT_MAC, rows)

    async def mark_collection(
        self, session_id: str, name: str, status: CollectionStatus, error: str | None
    ) -> None:
        """Records a failure (or a missing key) without touching the state."""
        await self._write(
            MARK_COLLECTION,
            (session_id, name, _EMPTY_HASH, str(status), error, self._now()),
            session_id,
        )

    # ------------------------------------------------------------------------- chats

    async def _ensure_chat(self, session_id: str, jid: str) -> None:
        now = self._now()
        await self._write(ENSURE_CHAT, (session_id, jid, _chat_kind(jid), now, now), session_id)

    async def set_archived(self, session_id: str, jid: str, archived: bool, at_ms: int) -> None:
        await self._ensure_chat(session_id, jid)
        await self._db.execute(
            self._set_archived, (int(archived), at_ms, self._now(), session_id, jid)
        )

    async def set_pinned(
        self, session_id: str, jid: str, pinned_at: int | None, at_ms: int
    ) -> None:
        await self._ensure_chat(session_id, jid)
        await self._db.execute(self._set_pinned, (pinned_at, at_ms, self._now(), session_id, jid))

    async def set_muted(
        self, session_id: str, jid: str, muted_until: int | None, at_ms: int
    ) -> None:
        await self._ensure_chat(session_id, jid)
        await self._db.execute(self._set_muted, (muted_until, at_ms, self._now(), session_id, jid))

    async def set_read(
        self, session_id: str, jid: str, read: bool, at_ms: int, up_to_ms: int | None
    ) -> int:
        """Read: unread count 0 and incoming messages up to ``up_to_ms`` (all when None)
        marked read; returns how many messages changed. Unread: the chat is marked unread."""
        await self._ensure_chat(session_id, jid)
        now = self._now()
        async with self._db.transaction():
            if not read:
                await self._db.execute(self._set_unread, (at_ms, now, session_id, jid))
                return 0
            await self._db.execute(self._set_read, (at_ms, now, session_id, jid))
            limit = _FAR_FUTURE_MS if up_to_ms is None else up_to_ms
            return await self._db.execute(READ_MESSAGES, (now, session_id, jid, limit))

    async def delete_chat(
        self, session_id: str, jid: str, up_to_ms: int | None, *, keep_chat: bool = False
    ) -> int:
        """Deletes the chat's messages up to ``up_to_ms`` (all when None), and the chat itself
        unless ``keep_chat`` (a clear) or newer messages remain; returns messages deleted."""
        limit = _FAR_FUTURE_MS if up_to_ms is None else up_to_ms
        now = self._now()
        async with self._db.transaction():
            deleted = await self._db.execute(DELETE_MESSAGES_UPTO, (session_id, jid, limit))
            row = await self._db.fetch_one(COUNT_MESSAGES, (session_id, jid))
            remaining = int(row[0]) if row else 0
            if remaining == 0:
                await self._db.execute(DELETE_RECEIPTS, (session_id, jid))
                await self._db.execute(DELETE_MESSAGE_MEDIA, (session_id, jid))
            if keep_chat or remaining:
                await self._db.execute(CLEAR_PREVIEW, (now, session_id, jid))
            else:
                await self._db.execute(DELETE_CHAT_LABELS, (session_id, jid))
                await self._db.execute(DELETE_CHAT, (session_id, jid))
            return deleted

    async def chat_settings(self, session_id: str, jid: str) -> ChatSettings | None:
        row = await self._db.fetch_one(SELECT_SETTINGS, (session_id, jid))
        if row is None:
            return None
        return _settings(session_id, row)

    # ------------------------------------------------------------------------- messages

    async def set_starred(
        self, session_id: str, chat: str, message_id: str, from_me: bool, starred: bool
    ) -> bool:
        changed = await self._db.execute(
            SET_STARRED, (int(starred), self._now(), session_id, chat, message_id, int(from_me))
        )
        return changed > 0

    async def delete_message(
        self, session_id: str, chat: str, message_id: str, from_me: bool
    ) -> bool:
        changed = await self._db.execute(
            DELETE_MESSAGE, (session_id, chat, message_id, int(from_me))
        )
        return changed > 0

    # ------------------------------------------------------------------------- contacts

    async def set_contact_names(
        self,
        session_id: str,
        jid: str,
        full_name: str | None,
        first_name: str | None,
        *,
        pn: str | None = None,
        lid: str | None = None,
    ) -> None:
        """The address-book names of ``jid`` (a PN or a LID); ``pn``/``lid`` also record the
        mapping when the action carries both."""
        if pn is None and jid.endswith("@s.whatsapp.net"):
            pn = jid
        if lid is None and jid.endswith("@lid"):
            lid = jid
        if pn is None and lid is None:
            raise ValueError(f"a contact is a phone-number JID or a LID, not {jid!r}")
        async with self._db.transaction():
            await self._contacts.learn(session_id, pn=pn, lid=lid)
            await self._db.execute(
                SET_CONTACT_NAMES, (full_name, first_name, self._now(), session_id, jid, jid)
            )

    async def contact_names(self, session_id: str, jid: str) -> ContactNames | None:
        row = await self._db.fetch_one(SELECT_CONTACT, (session_id, jid, jid))
        if row is None:
            return None
        return ContactNames(
            pn=None if row[0] is None else str(row[0]),
            lid=None if row[1] is None else str(row[1]),
            full_name=None if row[2] is None else str(row[2]),
            first_name=None if row[3] is None else str(row[3]),
            push_name=None if row[4] is None else str(row[4]),
        )

    # ------------------------------------------------------------------------- labels

    async def put_label(self, session_id: str, label: LabelRecord) -> None:
        await self._write(
            UPSERT_LABEL,
            (
                session_id,
                label.label_id,
                label.name,
                label.color,
                int(label.deleted),
                self._now(),
            ),
            session_id,
        )

    async def labels(self, session_id: str) -> list[LabelRecord]:
        rows = await self._db.fetch_all(SELECT_LABELS, (session_id,))
        return [LabelRecord(str(r[0]), str(r[1]), int(r[2]), bool(r[3])) for r in rows]

    async def label_chat(self, session_id: str, label_id: str, chat: str, labeled: bool) -> None:
        if labeled:
            await self._write(ADD_CHAT_LABEL, (session_id, label_id, chat), session_id)
        else:
            await self._db.execute(REMOVE_CHAT_LABEL, (session_id, label_id, chat))

    async def chat_labels(self, session_id: str, chat: str) -> list[str]:
        rows = await self._db.fetch_all(SELECT_CHAT_LABELS, (session_id, chat))
        return [str(r[0]) for r in rows]


def _settings(session_id: str, row: Row) -> ChatSettings:
    with decoding(session_id, "chats"):
        return ChatSettings(
            jid=str(row[0]),
            archived=bool(row[1]),
            pinned_at=None if row[2] is None else int(row[2]),
            muted_until=None if row[3] is None else int(row[3]),
            marked_unread=bool(row[4]),
            unread_count=int(row[5]),
            name=None if row[6] is None else str(row[6]),
        )
