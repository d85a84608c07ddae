"""The daemon's bundle of stores over a database of either backend, for tests that run one body
on SQLite and on PostgreSQL (the ``open_engine`` fixture of tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from storage.db import Clock, Database
from storage.engine import SqlEngine
from storage.postgres.engine import PgDatabase
from storage.postgres.stores import PgStores
from storage.sqlite.stores import SqliteStores

__all__ = ["BackendStores", "OpenEngine", "stores_over"]

BackendStores = SqliteStores | PgStores


class OpenEngine(Protocol):
    """The ``open_engine`` fixture: each call is a new, migrated database of the backend."""

    async def __call__(self, clock: Clock | None = None) -> SqlEngine: ...


def stores_over(engine: SqlEngine, files_dir: Path) -> BackendStores:
    """The backend's bundle over ``engine``; a server's bundle keeps files in ``files_dir``."""
    if isinstance(engine, Database):
        return SqliteStores(engine)
    if isinstance(engine, PgDatabase):
        return PgStores(engine, files_dir)
    raise TypeError(f"no stores bundle for {type(engine).__name__}")
