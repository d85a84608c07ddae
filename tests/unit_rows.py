"""A database of named units for the group-commit tests (storage/db.py): what a unit wrote, and
what another connection sees of it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.db import Database


async def opened(path: Path) -> Database:
    """A database with one table, ``units (name)``, that each unit under test writes to."""
    db = await Database.open(path)
    await db.execute("CREATE TABLE units (name TEXT NOT NULL)")
    return db


def committed_rows(path: Path) -> list[str]:
    """What another connection sees: only committed rows."""
    check = sqlite3.connect(path)
    try:
        return [str(row[0]) for row in check.execute("SELECT name FROM units ORDER BY rowid")]
    finally:
        check.close()
