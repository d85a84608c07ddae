"""Contacts: a phone-number JID and a LID per person, merged as mappings are learnt, plus the
push name they last announced.

Signal sessions are keyed by LID address once a mapping is known (both WhatsApp clients do so);
:meth:`SqliteContactRepo.move_sessions_to_lid` moves sessions made under the phone-number
address before the mapping was known, so the conversation goes on without a retry round.
"""

from __future__ import annotations

from storage.engine import Dialect, Row, SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.message_values import ContactRecord
from storage.sqlite._columns import decoding, missing_session, to_ms
from storage.sqlite.chat_merge import merge_person

SELECT_ALL = "SELECT id, pn_jid, lid_jid, push_name FROM contacts WHERE session_id = ? ORDER BY id"
SELECT_MATCHING = """
SELECT id, pn_jid, lid_jid, push_name FROM contacts
WHERE session_id = ? AND (pn_jid = ? OR lid_jid = ?) ORDER BY id
"""
INSERT = """
INSERT INTO contacts (session_id, pn_jid, lid_jid, push_name, updated_at) VALUES (?, ?, ?, ?, ?)
"""
UPDATE = """
UPDATE contacts SET pn_jid = ?, lid_jid = ?, push_name = ?, updated_at = ?
WHERE session_id = ? AND id = ?
"""
DELETE = "DELETE FROM contacts WHERE session_id = ? AND id = ?"
# Signal records live under '<user>.<device>' (LID users as '<user>_1.<device>'). A record
# already present under the LID address wins; the phone-number one is then left alone.
# Parameters: new prefix, where the device part starts, session, first and last old address.
_MOVE_SQLITE = """
UPDATE OR IGNORE {table} SET {column} = ?1 || substr({column}, ?2)
WHERE session_id = ?3 AND {column} >= ?4 AND {column} < ?5
"""
# PostgreSQL has no UPDATE OR IGNORE: the rows whose new address is taken are left out.
_MOVE_POSTGRESQL = """
UPDATE {table} SET {column} = ?1 || substr({column}, ?2)
WHERE session_id = ?3 AND {column} >= ?4 AND {column} < ?5
  AND NOT EXISTS (SELECT 1 FROM {table} o WHERE {same_key}
                  AND o.{column} = ?1 || substr({table}.{column}, ?2))
"""
# The Signal tables keyed by address, with the rest of their primary key.
_ADDRESSED = (
    ("signal_sessions", "address", ()),
    ("signal_identities", "address", ()),
    ("sender_keys", "sender_address", ("group_id",)),
)


def _move_statements(dialect: Dialect) -> list[str]:
    """Renaming statements for sessions, identities, sender keys, in that order."""
    template = _MOVE_SQLITE if dialect is Dialect.SQLITE else _MOVE_POSTGRESQL
    return [
        template.format(
            table=table,
            column=column,
            same_key=" AND ".join(f"o.{key} = {table}.{key}" for key in ("session_id", *rest)),
        )
        for table, column, rest in _ADDRESSED
    ]


def _record(session_id: str, row: Row) -> ContactRecord:
    with decoding(session_id, "contacts"):
        return ContactRecord(
            pn=None if row[1] is None else str(row[1]),
            lid=None if row[2] is None else str(row[2]),
            push_name=None if row[3] is None else str(row[3]),
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class SqliteContactRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db
        self._move = _move_statements(db.dialect)

    async def all(self, session_id: str) -> list[ContactRecord]:
        rows = await self._db.fetch_all(SELECT_ALL, (session_id,))
        return [_record(session_id, row) for row in rows]

    async def find(self, session_id: str, jid: str) -> ContactRecord | None:
        rows = await self._db.fetch_all(SELECT_MATCHING, (session_id, jid, jid))
        return _record(session_id, rows[0]) if rows else None

    async def learn(
        self,
        session_id: str,
        *,
        pn: str | None = None,
        lid: str | None = None,
        push_name: str | None = None,
    ) -> ContactRecord:
        """Records what is known about one person and returns the merged contact.

        Rows found under ``pn`` and under ``lid`` are the same person: they are merged into one
        (a LID names one account for good; a phone number that now maps to another LID was
        given to someone else, so its old row loses the number)."""
        wanted = ContactRecord(pn=pn, lid=lid, push_name=push_name)
        async with self._db.transaction():
            rows = await self._db.fetch_all(SELECT_MATCHING, (session_id, pn, lid))
            now = to_ms(self._db.now())
            by_lid = next((r for r in rows if lid is not None and r[2] == lid), None)
            by_pn = next((r for r in rows if pn is not None and r[1] == pn), None)
            if by_pn is not None and lid is not None and by_pn[2] not in (None, lid):
                # The number now belongs to another LID: the old person keeps only its LID.
                await self._db.execute(
                    UPDATE, (None, by_pn[2], by_pn[3], now, session_id, by_pn[0])
                )
                by_pn = None
            keep = by_lid or by_pn
            if keep is None:
                try:
                    await self._db.execute(INSERT, (session_id, pn, lid, push_name, now))
                except ConstraintViolation as exc:
                    if exc.constraint is Constraint.FOREIGN_KEY:
                        raise missing_session(session_id) from exc
                    raise
                return wanted
            name = push_name or _text(keep[3])
            if by_pn is not None and by_lid is not None and by_pn[0] != by_lid[0]:
                # Two rows for one person (each name learnt alone): merge into the LID's.
                name = name or _text(by_pn[3])
                await self._db.execute(DELETE, (session_id, by_pn[0]))
            merged = ContactRecord(
                pn=pn or _text(keep[1]), lid=lid or _text(keep[2]), push_name=name
            )
            if (merged.pn, merged.lid, merged.push_name) != (keep[1], keep[2], keep[3]):
                await self._db.execute(
                    UPDATE, (merged.pn, merged.lid, merged.push_name, now, session_id, keep[0])
                )
            return merged

    async def move_sessions_to_lid(self, session_id: str, pn_user: str, lid_user: str) -> int:
        """Renames the Signal sessions, identities and sender keys of ``pn_user``'s devices to
        the addresses of ``lid_user``'s (``<lid>_1.<device>``); returns how many sessions
        moved."""
        if not pn_user.isdigit() or not lid_user.isdigit():
            raise ValueError("phone-number and LID users are digits")
        old, new = f"{pn_user}.", f"{lid_user}_1."
        args = (new, len(old) + 1, session_id, old, f"{pn_user}/")
        async with self._db.transaction():
            moved = await self._db.execute(self._move[0], args)
            for statement in self._move[1:]:
                await self._db.execute(statement, args)
        return moved

    async def merge_chats(self, session_id: str, pn: str, lid: str) -> None:
        await merge_person(self._db, session_id, pn, lid)
