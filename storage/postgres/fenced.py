"""A PostgreSQL engine seen by the owner of one session: every transaction is fenced.

The repositories of a session's client are built over this view, so each of their
transactions (the receive unit acked to the server, Signal state, a sent status) first proves
in the database that this daemon still holds the session's lease. A writing statement issued
outside a transaction gets a fenced transaction of its own; reads are not fenced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.engine import Dialect, EngineCounters, Fence, Row
from storage.interfaces import PendingCommit
from storage.postgres.engine import WRITES, PgDatabase

if TYPE_CHECKING:
    from storage.engine import SqlEngine

__all__ = ["FencedEngine"]


class FencedEngine:
    """:class:`PgDatabase` with ``fence`` applied to every transaction (see the module
    docstring). Closing it leaves the database open: the daemon owns that."""

    def __init__(self, db: PgDatabase, fence: Fence) -> None:
        self._db = db
        self.fence = fence

    @property
    def dialect(self) -> Dialect:
        return Dialect.POSTGRESQL

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    @property
    def url(self) -> str:
        return self._db.url

    def now(self) -> datetime:
        return self._db.now()

    @property
    def counters(self) -> EngineCounters:
        return self._db.counters

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self._db.transaction(self.fence)

    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        return self._db.pipelined_transaction(linger, self.fence)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._db.after_commit(callback)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._db.on_commit(callback)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._db.fence_checked(self.fence):
            return await self._db.execute(sql, params)
        async with self.transaction():
            return await self._db.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        if self._db.fence_checked(self.fence):
            return await self._db.execute_many(sql, rows)
        async with self.transaction():
            return await self._db.execute_many(sql, rows)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if WRITES.match(sql) is None or self._db.fence_checked(self.fence):
            return await self._db.fetch_all(sql, params)
        async with self.transaction():
            return await self._db.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> float:
        return await self._db.ping()

    async def schema_version(self) -> int:
        return await self._db.schema_version()

    async def close(self) -> None:
        return None


if TYPE_CHECKING:

    def _satisfies_engine(engine: FencedEngine) -> SqlEngine:
        return engine
