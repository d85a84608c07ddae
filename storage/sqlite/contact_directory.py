"""Contacts with their names, in a stable order, for the API's list (read only)."""

from __future__ import annotations

from storage.directory_interfaces import ContactEntry
from storage.engine import SqlEngine

PAGE = """
SELECT id, pn_jid, lid_jid, push_name, full_name, first_name FROM contacts
WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?
"""


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class SqliteContactDirectory:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def page(
        self, session_id: str, *, after: int = 0, limit: int = 100
    ) -> list[ContactEntry]:
        rows = await self._db.fetch_all(PAGE, (session_id, after, limit))
        return [
            ContactEntry(int(r[0]), _text(r[1]), _text(r[2]), _text(r[3]), _text(r[4]), _text(r[5]))
            for r in rows
        ]


__all__ = ["SqliteContactDirectory"]
