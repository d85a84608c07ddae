"""Many rows in a few multi-row statements instead of one statement per row.

``execute_many`` runs its statement once per row: free on SQLite (the file is in this process),
a round trip each on a PostgreSQL server, where a first prekey upload (812 keys) or a history
chunk (thousands of messages) then takes seconds. A multi-row ``VALUES`` list does the same work
in a few statements on both engines; each statement stays far below both engines' limits on
parameters (SQLite 32766, PostgreSQL 32767).
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.engine import SqlEngine

MAX_PARAMETERS = 4000


async def insert_rows(
    db: SqlEngine, statement: str, row: str, rows: Sequence[Sequence[object]]
) -> int:
    """Runs ``statement`` (with ``{rows}`` where the VALUES list goes; each entry is ``row``,
    e.g. ``(?, ?, 0, ?)``) over ``rows`` in one transaction; returns the rows changed."""
    if not rows:
        return 0
    per_statement = max(1, MAX_PARAMETERS // max(1, len(rows[0])))
    changed = 0
    async with db.transaction():
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            changed += await db.execute(
                statement.format(rows=", ".join([row] * len(part))),
                [value for values in part for value in values],
            )
    return changed
