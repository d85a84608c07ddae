"""Groups by JID with their participants; a group we left stays, marked not a member."""

from __future__ import annotations

from collections.abc import Iterable

from storage.engine import Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.message_values import GroupParticipant, GroupRecord, ParticipantRole
from storage.sqlite._columns import decoding, missing_session, opt_from_ms, opt_to_ms, to_ms

GROUP_COLUMNS = """
jid, subject, owner_jid, addressing_mode, is_member, created_at, description, announce, locked,
own_admin, last_synced_at
"""
SELECT_GROUP = f"SELECT {GROUP_COLUMNS} FROM groups WHERE session_id = ? AND jid = ?"
PAGE_GROUPS = f"""
SELECT {GROUP_COLUMNS} FROM groups
WHERE session_id = ? AND jid > ? AND (CAST(? AS BIGINT) IS NULL OR is_member = ?)
ORDER BY jid LIMIT ?
"""
SELECT_PARTICIPANTS = """
SELECT participant_jid, lid_jid, role FROM group_participants
WHERE session_id = ? AND group_jid = ? ORDER BY rowid
"""
UPSERT_GROUP = """
INSERT INTO groups (session_id, jid, subject, owner_jid, addressing_mode, is_member, created_at,
                    description, announce, locked, own_admin, last_synced_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, jid) DO UPDATE SET
    subject = excluded.subject, owner_jid = excluded.owner_jid,
    addressing_mode = excluded.addressing_mode, is_member = excluded.is_member,
    created_at = coalesce(excluded.created_at, groups.created_at),
    description = excluded.description, announce = excluded.announce, locked = excluded.locked,
    own_admin = excluded.own_admin,
    last_synced_at = coalesce(excluded.last_synced_at, groups.last_synced_at),
    updated_at = excluded.updated_at
"""
DELETE_PARTICIPANTS = "DELETE FROM group_participants WHERE session_id = ? AND group_jid = ?"
UPSERT_PARTICIPANT = """
INSERT INTO group_participants (session_id, group_jid, participant_jid, lid_jid, role)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (session_id, group_jid, participant_jid) DO UPDATE SET
    lid_jid = coalesce(excluded.lid_jid, group_participants.lid_jid), role = excluded.role
"""
DELETE_PARTICIPANT = """
DELETE FROM group_participants WHERE session_id = ? AND group_jid = ? AND participant_jid = ?
"""
SET_SUBJECT = "UPDATE groups SET subject = ?, updated_at = ? WHERE session_id = ? AND jid = ?"
SET_MEMBER = "UPDATE groups SET is_member = ?, updated_at = ? WHERE session_id = ? AND jid = ?"
SET_SELF = """
UPDATE groups SET is_member = ?, own_admin = ?, updated_at = ? WHERE session_id = ? AND jid = ?
"""
SET_DESCRIPTION = """
UPDATE groups SET description = ?, updated_at = ? WHERE session_id = ? AND jid = ?
"""
SET_ANNOUNCE = "UPDATE groups SET announce = ?, updated_at = ? WHERE session_id = ? AND jid = ?"
SET_LOCKED = "UPDATE groups SET locked = ?, updated_at = ? WHERE session_id = ? AND jid = ?"
TOUCH = "UPDATE groups SET updated_at = ? WHERE session_id = ? AND jid = ?"


class SqliteGroupRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    def _now(self) -> int:
        return to_ms(self._db.now())

    async def get(self, session_id: str, jid: str) -> GroupRecord | None:
        row = await self._db.fetch_one(SELECT_GROUP, (session_id, jid))
        if row is None:
            return None
        return await self._decode(session_id, row)

    async def page(
        self, session_id: str, *, after: str = "", limit: int = 100, member: bool | None = None
    ) -> list[GroupRecord]:
        """Groups in JID order after ``after`` (``member``: only those we are, or are not,
        a member of)."""
        flag = None if member is None else int(member)
        rows = await self._db.fetch_all(PAGE_GROUPS, (session_id, after, flag, flag, limit))
        return [await self._decode(session_id, row) for row in rows]

    async def _decode(self, session_id: str, row: Row) -> GroupRecord:
        jid = str(row[0])
        members = await self._db.fetch_all(SELECT_PARTICIPANTS, (session_id, jid))
        with decoding(session_id, "groups"):
            return GroupRecord(
                jid=jid,
                subject=str(row[1]),
                owner=None if row[2] is None else str(row[2]),
                addressing_mode=str(row[3]),
                is_member=bool(row[4]),
                created_at=opt_from_ms(row[5]),
                description=str(row[6]),
                announce=bool(row[7]),
                locked=bool(row[8]),
                own_admin=bool(row[9]),
                last_synced_at=opt_from_ms(row[10]),
                participants=tuple(
                    GroupParticipant(
                        jid=str(m[0]),
                        lid=None if m[1] is None else str(m[1]),
                        role=ParticipantRole(str(m[2])),
                    )
                    for m in members
                ),
            )

    async def save(self, session_id: str, group: GroupRecord) -> None:
        """Stores the group with exactly these participants (metadata from the server)."""
        async with self._db.transaction():
            try:
                await self._db.execute(
                    UPSERT_GROUP,
                    (
                        session_id,
                        group.jid,
                        group.subject,
                        group.owner,
                        group.addressing_mode,
                        int(group.is_member),
                        opt_to_ms(group.created_at),
                        group.description,
                        int(group.announce),
                        int(group.locked),
                        int(group.own_admin),
                        opt_to_ms(group.last_synced_at),
                        self._now(),
                    ),
                )
            except ConstraintViolation as exc:
                if exc.constraint is Constraint.FOREIGN_KEY:
                    raise missing_session(session_id) from exc
                raise
            await self._db.execute(DELETE_PARTICIPANTS, (session_id, group.jid))
            await self._put(session_id, group.jid, group.participants)

    async def _put(
        self, session_id: str, jid: str, participants: Iterable[GroupParticipant]
    ) -> None:
        await self._db.execute_many(
            UPSERT_PARTICIPANT,
            [(session_id, jid, p.jid, p.lid, str(p.role)) for p in participants],
        )

    async def put_participants(
        self, session_id: str, jid: str, participants: Iterable[GroupParticipant]
    ) -> None:
        """Adds participants (or changes their role); the group must exist."""
        async with self._db.transaction():
            await self._put(session_id, jid, participants)
            await self._db.execute(TOUCH, (self._now(), session_id, jid))

    async def remove_participants(self, session_id: str, jid: str, members: Iterable[str]) -> int:
        removed = 0
        async with self._db.transaction():
            for member in members:
                removed += await self._db.execute(DELETE_PARTICIPANT, (session_id, jid, member))
            await self._db.execute(TOUCH, (self._now(), session_id, jid))
        return removed

    async def set_subject(self, session_id: str, jid: str, subject: str) -> None:
        await self._db.execute(SET_SUBJECT, (subject, self._now(), session_id, jid))

    async def set_member(self, session_id: str, jid: str, is_member: bool) -> None:
        await self._db.execute(SET_MEMBER, (int(is_member), self._now(), session_id, jid))

    async def set_self(self, session_id: str, jid: str, *, is_member: bool, admin: bool) -> None:
        """Whether we are a member, and an admin, of the group."""
        await self._db.execute(SET_SELF, (int(is_member), int(admin), self._now(), session_id, jid))

    async def set_description(self, session_id: str, jid: str, description: str) -> None:
        await self._db.execute(SET_DESCRIPTION, (description, self._now(), session_id, jid))

    async def set_setting(
        self, session_id: str, jid: str, *, announce: bool | None = None, locked: bool | None = None
    ) -> None:
        now = self._now()
        if announce is not None:
            await self._db.execute(SET_ANNOUNCE, (int(announce), now, session_id, jid))
        if locked is not None:
            await self._db.execute(SET_LOCKED, (int(locked), now, session_id, jid))
