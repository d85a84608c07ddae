"""Where a storage backend is chosen: the one place that opens a concrete database.

The composition roots (``wamd run``, ``wamd pair``) call :func:`open_stores` and see only the
:class:`~storage.stores.Stores` bundle it returns: a SQLite file by default, a PostgreSQL
server when ``storage.url`` names one.
"""

from __future__ import annotations

import os
from pathlib import Path

from storage.db import Database
from storage.sqlite.stores import SqliteStores
from storage.stores import Stores


async def open_stores(
    path: str | os.PathLike[str], *, url: str = "", pool_size: int = 10
) -> Stores:
    """Open (creating and migrating if needed) the SQLite file at ``path``, or, when ``url``
    is given, the PostgreSQL database it names (``path``'s directory then only holds files).
    Raises DatabaseUnavailable/DatabaseCorrupt, SchemaTooNew or MigrationError."""
    if url:
        # Imported here: a SQLite-only install never loads the PostgreSQL driver.
        from storage.postgres.engine import PgDatabase
        from storage.postgres.stores import PgStores

        db = await PgDatabase.open(url, pool_size=pool_size)
        return PgStores(db, Path(path).resolve().parent)
    return SqliteStores(await Database.open(path))


__all__ = ["open_stores"]
