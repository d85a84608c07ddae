"""A client's database on either storage backend, for tests and their worker processes.

A test parametrized by the ``backend`` fixture asks ``open_engine.where(name)`` for a database
of its own, described the way the daemon's configuration describes one: a SQLite file's path,
plus on PostgreSQL the database's URL (the path's directory then only holds downloaded files).
Whoever opens it (the test, a restarted client, a worker killed with SIGKILL) gets the same
description; worker processes get the URL as ``WAMD_STORAGE_URL``, as the daemon would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from storage.db import Clock, Database, Synchronous
from storage.engine import Dialect, SqlEngine
from storage.postgres.engine import PgDatabase
from storage.postgres.stores import PgStores
from storage.sqlite.stores import RepositoryStores, SqliteStores

if TYPE_CHECKING:
    from postgres_server import PostgresServer

__all__ = [
    "BackendStores",
    "ClientDatabase",
    "OpenEngine",
    "new_client_database",
    "open_stores_at",
    "stores_over",
]

BackendStores = SqliteStores | PgStores


@dataclass(frozen=True, slots=True)
class ClientDatabase:
    path: Path
    url: str = ""

    def environ(self) -> dict[str, str]:
        """The environment for a worker process that opens this database."""
        return {**os.environ, "WAMD_STORAGE_URL": self.url}


class OpenEngine(Protocol):
    """The ``open_engine`` fixture (tests/conftest.py), parametrized by ``backend``."""

    async def __call__(self, clock: Clock | None = None) -> SqlEngine:
        """A new, migrated database, closed at the test's end."""
        ...

    async def where(self, name: str) -> ClientDatabase:
        """A new database for a client, which the test's code opens itself."""
        ...


async def new_client_database(
    backend: Dialect, tmp_path: Path, name: str, request: pytest.FixtureRequest
) -> ClientDatabase:
    """A new database for a client: a SQLite file (created when first opened) or a new
    migrated PostgreSQL database (not reused after the test: a killed worker may have held
    it). Sync fixtures only are looked up, so async fixtures may call this too."""
    path = tmp_path / f"{name}.db"
    if backend is Dialect.SQLITE:
        return ClientDatabase(path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return ClientDatabase(path, await server.migrated_database())


async def open_stores_at(
    where: Path | ClientDatabase, *, synchronous: Synchronous = Synchronous.NORMAL
) -> RepositoryStores:
    """Every store over the database ``where`` describes (a bare path: a SQLite file)."""
    if isinstance(where, ClientDatabase) and where.url:
        return PgStores(await PgDatabase.open(where.url), where.path.resolve().parent)
    path = where.path if isinstance(where, ClientDatabase) else where
    return SqliteStores(await Database.open(path, synchronous=synchronous))


def stores_over(engine: SqlEngine, files_dir: Path) -> BackendStores:
    """The backend's bundle of every store over ``engine`` (from ``open_engine``); a server's
    bundle keeps downloaded files in ``files_dir``."""
    if isinstance(engine, Database):
        return SqliteStores(engine)
    if isinstance(engine, PgDatabase):
        return PgStores(engine, files_dir)
    raise TypeError(f"no stores bundle for {type(engine).__name__}")
