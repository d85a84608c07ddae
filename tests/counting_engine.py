"""A :class:`~storage.engine.SqlEngine` that records what repositories ask of the engine it
wraps: each statement, and each transaction block entered (a savepoint when nested). Tests
build a repository over it to prove how many statements a path costs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.engine import Dialect, Row, SqlEngine
from storage.interfaces import PendingCommit

__all__ = ["CountingEngine"]


class CountingEngine:
    def __init__(self, inner: SqlEngine) -> None:
        self.inner = inner
        self.statements: list[str] = []
        self.transactions = 0

    def reset(self) -> None:
        self.statements.clear()
        self.transactions = 0

    @property
    def dialect(self) -> Dialect:
        return self.inner.dialect

    @property
    def in_transaction(self) -> bool:
        return self.inner.in_transaction

    def now(self) -> datetime:
        return self.inner.now()

    def transaction(self) -> AbstractAsyncContextManager[None]:
        self.transactions += 1
        return self.inner.transaction()

    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        self.transactions += 1
        return self.inner.pipelined_transaction(linger)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.inner.after_commit(callback)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self.inner.on_commit(callback)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.statements.append(sql)
        return await self.inner.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        self.statements.append(sql)
        return await self.inner.execute_many(sql, rows)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.statements.append(sql)
        return await self.inner.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.statements.append(sql)
        return await self.inner.fetch_one(sql, params)

    async def ping(self) -> float:
        return await self.inner.ping()

    async def schema_version(self) -> int:
        return await self.inner.schema_version()

    async def close(self) -> None:
        await self.inner.close()


if TYPE_CHECKING:

    def _satisfies(engine: CountingEngine) -> SqlEngine:
        return engine
