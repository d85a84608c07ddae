"""Shared test configuration: paths to the shared vectors, a PostgreSQL server on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from backends import ClientDatabase, new_client_database
from postgres_server import PostgresServer, running_server

from storage.db import Clock
from storage.engine import Dialect, SqlEngine

if TYPE_CHECKING:
    from storage.postgres.engine import PgDatabase
    from storage.postgres.stores import PgStores

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
VECTORS = SHARED / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.fail(f"shared vectors not found at {VECTORS}; clone with ../shared beside the repo")
    return VECTORS


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole run, started on first use."""
    with running_server() as server:
        yield server


class EngineOpener:
    """Opens migrated databases of one backend for a test and closes them at its end. The
    same test body then runs on SQLite and on PostgreSQL (see the ``backend`` fixture)."""

    def __init__(self, backend: Dialect, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self._tmp_path = tmp_path
        self._request = request
        self._opened: list[SqlEngine] = []
        self._urls: list[str] = []
        self._count = 0

    async def __call__(self, clock: Clock | None = None) -> SqlEngine:
        """A new, fully migrated database (each call a different one)."""
        from storage.db import Database, Synchronous, utc_now
        from storage.postgres.engine import PgDatabase

        self._count += 1
        engine: SqlEngine
        if self.backend is Dialect.SQLITE:
            engine = await Database.open(
                self._tmp_path / f"wamd-{self._count}.db",
                clock=clock or utc_now,
                synchronous=Synchronous.NORMAL,
            )
        else:
            url = await self._server().migrated_database()
            self._urls.append(url)
            engine = await PgDatabase.open(url, clock=clock or utc_now)
        self._opened.append(engine)
        return engine

    async def where(self, name: str) -> ClientDatabase:
        """A new database for a client, which the test's code opens itself."""
        return await new_client_database(self.backend, self._tmp_path, name, self._request)

    def _server(self) -> PostgresServer:
        server: PostgresServer = self._request.getfixturevalue("postgres_server")
        return server

    async def close(self) -> None:
        for engine in self._opened:
            await engine.close()
        for url in self._urls:
            await self._server().recycle(url)


@pytest.fixture(params=[Dialect.SQLITE, Dialect.POSTGRESQL], ids=str)
def backend(request: pytest.FixtureRequest) -> Dialect:
    """Parametrizes a test over both storage engines."""
    return Dialect(request.param)


@pytest.fixture
async def open_engine(
    backend: Dialect, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[EngineOpener]:
    """``await open_engine(clock)``: a migrated database of the test's backend."""
    opener = EngineOpener(backend, tmp_path, request)
    try:
        yield opener
    finally:
        await opener.close()


@pytest.fixture
async def two_daemons(
    postgres_server: PostgresServer,
) -> AsyncIterator[tuple[PgDatabase, PgDatabase]]:
    """Two daemons' engines (``PgDatabase``, each its own pool) on one migrated database."""
    from storage.postgres.engine import PgDatabase as Engine

    url = await postgres_server.migrated_database()
    first = await Engine.open(url)
    second = await Engine.open(url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.fixture
def two_daemon_stores(
    two_daemons: tuple[PgDatabase, PgDatabase], tmp_path: Path
) -> tuple[PgStores, PgStores]:
    """The ``PgStores`` of :func:`two_daemons` (closed with them)."""
    from storage.postgres.stores import PgStores as Bundle

    return Bundle(two_daemons[0], tmp_path), Bundle(two_daemons[1], tmp_path)
