"""The PostgreSQL bundle of :class:`~storage.stores.Stores`: the same repositories as SQLite's,
over a :class:`~storage.postgres.engine.PgDatabase`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.postgres.engine import PgDatabase
from storage.sqlite.stores import RepositoryStores

if TYPE_CHECKING:
    from storage.stores import Stores


class PgStores(RepositoryStores):
    """Every store of the daemon in one PostgreSQL database; files (downloaded media) stay in
    ``files_dir`` on this host."""

    def __init__(self, db: PgDatabase, files_dir: Path) -> None:
        super().__init__(db)
        self.db = db
        self._files_dir = files_dir

    @property
    def location(self) -> str:
        return self.db.url

    @property
    def files_dir(self) -> Path:
        return self._files_dir

    async def probe(self) -> float:
        """A write transaction and a query: the server is up, accepts writes and answers."""
        async with self.db.transaction():
            await self.db.fetch_all("SELECT 1")
        return await self.db.ping()


if TYPE_CHECKING:

    def _satisfies_stores(stores: PgStores) -> Stores:
        return stores


__all__ = ["PgStores"]
