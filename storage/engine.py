"""What a repository needs from a database engine: statements, a transaction boundary, a clock.

The repositories in :mod:`storage.sqlite` are written against :class:`SqlEngine`, not against a
driver. Two engines implement it: :class:`storage.db.Database` (one SQLite file, the default)
and :class:`storage.postgres.engine.PgDatabase` (a PostgreSQL server, for a fleet of daemons).
Statements use ``?`` placeholders on both; the PostgreSQL engine numbers them. The SQL is kept
to what both engines understand (``INSERT ... ON CONFLICT``, ``RETURNING``, ``CAST(? AS TEXT)``
where a parameter's type would otherwise be unknown, a ``rowid`` column where SQLite's implicit
one is used); where the two cannot share a statement, a repository picks by :attr:`dialect`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage.interfaces import PendingCommit

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Fence:
    """Who may write for ``resource`` (a session id): the daemon ``owner`` holding its lease
    with fencing ``token``. A transaction opened with a fence first checks, in the database,
    that the lease is still that one and unexpired, and holds it until the commit; a daemon
    that lost the lease (paused past its expiry, partitioned) can no longer write."""

    resource: str
    owner: str
    token: int


@dataclass(frozen=True, slots=True)
class EngineCounters:
    """What an engine has done since it was opened, counted always (plain integers, no
    logging): ``statements`` handed to the database, the engine's own included (BEGIN,
    savepoints, COMMIT; a busy retry's statements too; ``execute_many`` counts one per row),
    and ``commits``, each one durable write (one fsync on SQLite, where a group of transactions
    shares one). Subtract two readings for what happened in between: ``after - before``."""

    statements: int = 0
    commits: int = 0

    def __sub__(self, earlier: EngineCounters) -> EngineCounters:
        return EngineCounters(self.statements - earlier.statements, self.commits - earlier.commits)


class Dialect(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class SqlEngine(Protocol):
    """One database as the repositories see it (see the module docstring)."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside :meth:`transaction`."""
        ...

    def now(self) -> datetime:
        """The current time from the injected clock (timezone-aware)."""
        ...

    @property
    def counters(self) -> EngineCounters:
        """Statements and commits so far, for tests and benchmarks (see EngineCounters);
        an engine shared by views (a fenced one) reports the shared engine's."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The transaction boundary; nested use by the same task joins through a savepoint,
        other tasks of this process wait."""
        ...

    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        """A unit of work whose end may not wait for its commit (see storage.db); with
        ``linger``, one that may wait up to that long to share the next unit's commit."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once the current task's transaction has ended, or soon."""
        ...

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once what the current task wrote so far is committed, never if
        it is rolled back (:mod:`storage.commit_hooks`); outside a transaction, soon."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One writing statement in the current transaction (or a new one); rows changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One writing statement per parameter row, in one transaction; rows changed."""
        ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def ping(self) -> float:
        """Latency of a real query in milliseconds."""
        ...

    async def schema_version(self) -> int: ...

    async def close(self) -> None: ...


__all__ = ["Dialect", "EngineCounters", "Fence", "Row", "SqlEngine"]
