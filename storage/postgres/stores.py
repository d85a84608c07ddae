"""The PostgreSQL bundle of :class:`~storage.stores.Stores`: the same repositories as SQLite's,
over a :class:`~storage.postgres.engine.PgDatabase`, plus the fleet's members and leases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.engine import Fence, SqlEngine
from storage.fleet_interfaces import FleetRepo
from storage.postgres.engine import PgDatabase
from storage.postgres.fenced import FencedEngine
from storage.postgres.fleet import PgFleetRepo
from storage.sqlite.stores import RepositoryStores

if TYPE_CHECKING:
    from storage.stores import Stores


class PgStores(RepositoryStores):
    """Every store of the daemon in one PostgreSQL database; files (downloaded media) stay in
    ``files_dir`` on this host. ``engine`` is the database itself, or a fenced view of it
    (:meth:`owned_by`)."""

    def __init__(self, db: PgDatabase, files_dir: Path, engine: SqlEngine | None = None) -> None:
        super().__init__(engine or db)
        self.db = db
        self._files_dir = files_dir
        self._fleet = PgFleetRepo(db)
        self._is_view = engine is not None

    @property
    def location(self) -> str:
        return self.db.url

    @property
    def files_dir(self) -> Path:
        return self._files_dir

    @property
    def fleet(self) -> FleetRepo | None:
        return self._fleet

    async def ensure_owned(self) -> None:
        if self._is_view:
            async with self.engine.transaction():  # the fence is checked at its start
                pass

    def owned_by(self, fence: Fence) -> PgStores:
        return PgStores(self.db, self._files_dir, FencedEngine(self.db, fence))

    async def probe(self) -> float:
        """A write transaction and a query: the server is up, accepts writes and answers."""
        async with self.db.transaction():
            await self.db.fetch_all("SELECT 1")
        return await self.db.ping()

    async def close(self) -> None:
        if not self._is_view:  # a view shares the daemon's pool
            await self.db.close()


if TYPE_CHECKING:

    def _satisfies_stores(stores: PgStores) -> Stores:
        return stores


__all__ = ["PgStores"]
