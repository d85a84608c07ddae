"""Where a storage backend is chosen: the one place that opens a concrete database.

The composition roots (``wamd run``, ``wamd pair``) call :func:`open_stores` and see only the
:class:`~storage.stores.Stores` bundle it returns. SQLite is the only backend today; another
one (PostgreSQL, chosen by a URL) is added here without touching the daemon.
"""

from __future__ import annotations

import os

from storage.db import Database
from storage.sqlite.stores import SqliteStores
from storage.stores import Stores


async def open_stores(path: str | os.PathLike[str]) -> Stores:
    """Open (creating and migrating if needed) the database at ``path``.
    Raises DatabaseUnavailable/DatabaseCorrupt, SchemaTooNew or MigrationError."""
    return SqliteStores(await Database.open(path))


__all__ = ["open_stores"]
