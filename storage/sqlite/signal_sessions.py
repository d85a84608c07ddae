"""Signal session records by protocol address."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.engine import SqlEngine
from storage.errors import Constraint, ConstraintViolation
from storage.sqlite._columns import missing_session, to_ms

SELECT_RECORD = "SELECT record FROM signal_sessions WHERE session_id = ? AND address = ?"
# Several records in one statement (atomic by itself: no savepoint around it).
UPSERT_RECORDS = """
INSERT INTO signal_sessions (session_id, address, record, updated_at) VALUES {rows}
ON CONFLICT (session_id, address)
DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at
"""
DELETE_RECORD = "DELETE FROM signal_sessions WHERE session_id = ? AND address = ?"
# Every device of a user: addresses '<user>.<n>' and '<user>:<n>', as two index range scans
# ('/' follows '.', ';' follows ':' in byte order).
DELETE_USER_RECORDS = """
DELETE FROM signal_sessions
WHERE session_id = ?
  AND ((address >= ? AND address < ?) OR (address >= ? AND address < ?))
"""
# Stay well below SQLite's limit on bound parameters.
_MANY_CHUNK = 500


def check_address(address: str) -> None:
    if not isinstance(address, str) or not address:
        raise ValueError("a Signal address must be a non-empty string")


def check_record(record: bytes) -> None:
    if not isinstance(record, bytes) or not record:
        raise ValueError("a Signal record must be non-empty bytes")


class SqliteSignalSessionRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def load(self, session_id: str, address: str) -> bytes | None:
        row = await self._db.fetch_one(SELECT_RECORD, (session_id, address))
        return None if row is None else bytes(row[0])

    async def load_many(self, session_id: str, addresses: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(addresses))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _MANY_CHUNK):
            chunk = wanted[start : start + _MANY_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self._db.fetch_all(
                "SELECT address, record FROM signal_sessions "
                f"WHERE session_id = ? AND address IN ({marks})",
                (session_id, *chunk),
            )
            found.update((str(address), bytes(record)) for address, record in rows)
        return found

    async def store(self, session_id: str, address: str, record: bytes) -> None:
        await self.store_many(session_id, [(address, record)])

    async def store_many(self, session_id: str, records: Sequence[tuple[str, bytes]]) -> None:
        # One row per address (the last record given wins): an upsert may not touch a row twice.
        latest = dict(records)
        for address, record in latest.items():
            check_address(address)
            check_record(record)
        if not latest:
            return
        now = to_ms(self._db.now())
        rows = ", ".join("(?, ?, ?, ?)" for _ in latest)
        params = [
            v for address, record in latest.items() for v in (session_id, address, record, now)
        ]
        try:
            await self._db.execute(UPSERT_RECORDS.format(rows=rows), params)
        except ConstraintViolation as exc:
            if exc.constraint is Constraint.FOREIGN_KEY:
                raise missing_session(session_id) from exc
            raise

    async def delete(self, session_id: str, address: str) -> bool:
        return await self._db.execute(DELETE_RECORD, (session_id, address)) > 0

    async def delete_all_for_user(self, session_id: str, user: str) -> int:
        if not isinstance(user, str) or not user or "." in user or ":" in user:
            raise ValueError("user must be the non-empty part of an address before '.' or ':'")
        return await self._db.execute(
            DELETE_USER_RECORDS,
            (session_id, f"{user}.", f"{user}/", f"{user}:", f"{user};"),
        )
