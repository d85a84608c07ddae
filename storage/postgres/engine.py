"""A PostgreSQL server as a :class:`~storage.engine.SqlEngine`, through an asyncpg pool.

Theory of operation
-------------------
The repositories were written against SQLite's semantics, and this engine keeps them, so the
same code and the same contract tests hold on both:

* **One writer per process.** A transaction holds one pooled connection and an ``asyncio.Lock``
  for its whole length, exactly as the SQLite engine holds its one connection: the tasks of one
  daemon never interleave inside each other's transactions, and a read-modify-write in a
  repository needs no extra care against its own process. Other daemons of a fleet write at the
  same time; what they share is guarded in the schema and the lease (see docs/architecture.md).
  Reads outside a transaction take any idle pooled connection and do not wait for the writer.
* **A failed statement does not end the transaction.** In SQLite a constraint error fails one
  statement and the transaction goes on; PostgreSQL aborts the whole transaction instead. So a
  writing statement run inside a transaction runs inside its own savepoint (as the SQLite engine
  already does for ``execute``), and a caller that catches the error carries on.
* **Nesting joins** through savepoints; ownership is per task; a task spawned inside a
  transaction is not part of it (same rules as :mod:`storage.db`).
* **Durable before it returns.** ``COMMIT`` returns once the server has flushed its WAL
  (``synchronous_commit`` is forced on for our connections), so persist-before-ack holds.
  PostgreSQL groups concurrent commits itself; ``pipelined_transaction`` therefore commits at
  the end of its block and hands back a commit that is already done.
* A statement that has been sent runs to its end even if the awaiting task is cancelled; the
  cancellation is re-raised afterwards, so the connection's transaction state is always known.

Placeholders are SQLite's ``?``, numbered here (:mod:`storage.postgres.placeholders`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.commit_hooks import CommitHooks, call_soon_all
from storage.completion import run_to_completion
from storage.db import NO_HOLD, Clock, utc_now
from storage.engine import Dialect, EngineCounters, Fence, Row
from storage.errors import DatabaseUnavailable, LeaseLost, StorageError, TransactionError
from storage.interfaces import GroupHold, PendingCommit
from storage.postgres.errors import translate_error
from storage.postgres.listener import Listener
from storage.postgres.placeholders import numbered

if TYPE_CHECKING:
    from storage.migrate import Migration

__all__ = ["MIGRATIONS_PACKAGE", "PgDatabase", "redact_url"]

MIGRATIONS_PACKAGE: Final = "storage.postgres.migrations"
T = TypeVar("T")

_ABORTED: Final = (
    "PostgreSQL aborted this transaction after an earlier error; leave the transaction() block"
)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP)\b", re.IGNORECASE)
_ROWCOUNT = re.compile(r"(\d+)$")
# The lease row is locked (FOR SHARE) until the commit: a takeover by another daemon waits for
# this transaction to end, so a write checked here can never land after the lease moved.
NOW_MS: Final = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
CHECK_FENCE: Final = f"""
SELECT 1 FROM leases
WHERE resource = $1 AND owner = $2 AND token = $3 AND expires_at > {NOW_MS}
FOR SHARE
"""
# Connections are server-side state; a pool much larger than the writer plus a few readers
# only costs the server memory.
DEFAULT_POOL_SIZE: Final = 4
DEFAULT_CONNECT_TIMEOUT_S: Final = 10.0


def redact_url(url: str) -> str:
    """``url`` without its password, for logs and /health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, ""))


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # A commit must be on disk when it returns, whatever the server's default says.
    await conn.execute("SET synchronous_commit = on")
    await conn.execute("SET TIME ZONE 'UTC'")


class PgDatabase:
    """A PostgreSQL database reached through a pool. Create with :meth:`open`."""

    def __init__(self, pool: asyncpg.Pool[Any], url: str, clock: Clock) -> None:
        self._pool = pool
        self._dsn = url
        self._url = redact_url(url)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._conn: asyncpg.pool.PoolConnectionProxy[Any] | None = None
        self._depth = 0
        self._aborted = False
        self._closed = False
        self._after_end: list[Callable[[], None]] = []
        self._on_commit = CommitHooks()
        self._fences: set[Fence] = set()
        self._commits = 0
        self._statements = 0

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        clock: Clock = utc_now,
        pool_size: int = DEFAULT_POOL_SIZE,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        migrations: Sequence[Migration] | None = None,
    ) -> Self:
        """Connect to ``url`` (``postgresql://user:pass@host:port/db``) and migrate.
        Raises DatabaseUnavailable, SchemaTooNew or MigrationError."""
        from storage.migrate import apply_migrations, load_migrations

        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=max(2, pool_size),
                timeout=connect_timeout_s,
                init=_init_connection,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise DatabaseUnavailable(f"cannot connect to {redact_url(url)}: {exc}") from exc
        db = cls(pool, url, clock)
        try:
            await apply_migrations(
                db,
                load_migrations(MIGRATIONS_PACKAGE, Dialect.POSTGRESQL)
                if migrations is None
                else migrations,
            )
        except BaseException:
            await pool.close()
            raise
        return db

    # ---------------------------------------------------------------- properties

    @property
    def dialect(self) -> Dialect:
        return Dialect.POSTGRESQL

    @property
    def url(self) -> str:
        """The server's URL without its password."""
        return self._url

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_transaction(self) -> bool:
        return self._owns()

    @property
    def commit_count(self) -> int:
        return self._commits

    @property
    def counters(self) -> EngineCounters:
        """Statements sent to the server (the engine's own BEGIN, savepoints, fence checks
        and COMMIT included) and COMMITs so far."""
        return EngineCounters(self._statements, self._commits)

    def now(self) -> datetime:
        return self._clock()

    def _owns(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseUnavailable(f"{self._url} is closed")

    # ---------------------------------------------------------------- transactions

    def transaction(self, fence: Fence | None = None) -> AbstractAsyncContextManager[None]:
        """The transaction boundary (see the module docstring); with ``fence``, the
        transaction first proves this daemon still holds that lease (else LeaseLost)."""
        return _Transaction(self, fence)

    def pipelined_transaction(
        self, linger: float = 0.0, fence: Fence | None = None
    ) -> AbstractAsyncContextManager[PendingCommit]:
        # Each unit is its own transaction and round trip: nothing waits for company, so
        # nothing lingers either.
        return _PipelinedTransaction(self, fence)

    def after_commit(self, callback: Callable[[], None]) -> None:
        if self._owns():
            self._after_end.append(callback)
        else:
            asyncio.get_running_loop().call_soon(callback)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """As :meth:`storage.db.Database.on_commit`."""
        if self._owns():
            self._on_commit.add(self._depth, callback)
        else:
            asyncio.get_running_loop().call_soon(callback)

    def _transaction_ended(self) -> None:
        callbacks, self._after_end = self._after_end, []
        if callbacks:
            call_soon_all(callbacks)

    async def _enter(self, fence: Fence | None = None) -> str | None:
        task = asyncio.current_task()
        if task is None:
            raise TransactionError("transaction() needs a running asyncio task")
        if self._owner is task:
            if self._aborted:
                raise TransactionError(_ABORTED)
            self._depth += 1
            savepoint = f"wamd_sp_{self._depth}"
            try:
                await self._plain(f"SAVEPOINT {savepoint}")
                if fence is not None:
                    await self._check_fence(fence)
            except BaseException:
                self._depth -= 1
                raise
            return savepoint
        self._check_open()
        await self._lock.acquire()
        try:
            conn = await run_to_completion(self._pool.acquire())
        except BaseException as exc:
            self._lock.release()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise _unavailable(exc, self._url) from exc
        self._conn = conn
        self._owner = task
        self._depth = 0
        self._aborted = False
        try:
            await self._plain("BEGIN")
            if fence is not None:
                await self._check_fence(fence)
        except BaseException:
            await self._release()
            raise
        return None

    def fence_checked(self, fence: Fence) -> bool:
        """Whether the current task's transaction has already proven ``fence``."""
        return self._owns() and fence in self._fences

    async def _check_fence(self, fence: Fence) -> None:
        if fence in self._fences:
            return
        conn = self._conn
        if conn is None:
            raise TransactionError("no transaction is open")
        self._statements += 1
        try:
            row = await run_to_completion(
                conn.fetchrow(CHECK_FENCE, fence.resource, fence.owner, fence.token)
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._aborted = True
            raise translate_error(exc, CHECK_FENCE) from exc
        if row is None:
            raise LeaseLost(
                f"{fence.owner} no longer holds the lease of {fence.resource} (token {fence.token})"
            )
        self._fences.add(fence)

    async def _exit(self, savepoint: str | None, failed: bool) -> None:
        if savepoint is not None:
            self._depth -= 1
            if self._aborted:
                return
            if self._on_commit.entries:
                self._on_commit.savepoint_ended(self._depth, failed=failed)
            if failed:
                await self._plain(f"ROLLBACK TO SAVEPOINT {savepoint}")
            await self._plain(f"RELEASE SAVEPOINT {savepoint}")
            return
        committed = self._on_commit.take() if self._on_commit.entries else []
        try:
            if failed or self._aborted:
                await self._plain("ROLLBACK")
                if not failed:
                    raise TransactionError(_ABORTED)
                return
            await self._plain("COMMIT")
            self._commits += 1
            call_soon_all(committed)
        finally:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        self._owner = None
        self._depth = 0
        self._aborted = False
        self._fences.clear()
        try:
            if conn is not None:
                try:
                    if conn.is_in_transaction():
                        # Only after a failed COMMIT/ROLLBACK: a pooled connection must come
                        # back idle, or the next user would run inside our transaction.
                        self._statements += 1
                        await run_to_completion(conn.execute("ROLLBACK"))
                finally:
                    await run_to_completion(self._pool.release(conn))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # the pool drops a broken connection; the statement's own error is raised
        finally:
            self._lock.release()
            self._transaction_ended()

    async def _plain(self, sql: str) -> None:
        conn = self._conn
        if conn is None:
            raise TransactionError("no transaction is open")
        self._statements += 1
        try:
            await run_to_completion(conn.execute(sql))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._aborted = True
            raise translate_error(exc, sql) from exc

    # ---------------------------------------------------------------- statements

    async def _in_transaction(
        self,
        sql: str,
        op: Callable[[asyncpg.pool.PoolConnectionProxy[Any]], Awaitable[T]],
        *,
        guarded: bool = False,
        enclosed: bool = False,
    ) -> T:
        """Runs ``op`` on the transaction's connection. ``guarded`` gives the statement its
        own savepoint, so that its failure leaves the transaction usable (see the module
        docstring); ``enclosed`` says the caller already opened one around it. Otherwise a
        failed statement aborts the transaction."""
        if self._aborted:
            raise TransactionError(_ABORTED)
        conn = self._conn
        if conn is None:
            raise TransactionError("no transaction is open")
        if guarded:
            await self._plain("SAVEPOINT wamd_stmt")
        try:
            result = await run_to_completion(op(conn))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if guarded and isinstance(exc, asyncpg.PostgresError):
                await self._plain("ROLLBACK TO SAVEPOINT wamd_stmt")
                await self._plain("RELEASE SAVEPOINT wamd_stmt")
            elif not enclosed or not isinstance(exc, asyncpg.PostgresError):
                self._aborted = True
            raise translate_error(exc, sql) from exc
        if guarded:
            await self._plain("RELEASE SAVEPOINT wamd_stmt")
        return result

    async def _outside(
        self, sql: str, op: Callable[[asyncpg.pool.PoolConnectionProxy[Any]], Awaitable[T]]
    ) -> T:
        self._check_open()
        try:
            async with self._pool.acquire() as conn:
                return await run_to_completion(op(conn))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise translate_error(exc, sql) from exc
        except TimeoutError as exc:
            raise _unavailable(exc, self._url) from exc

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        query = numbered(sql)
        args = tuple(params)

        async def op(conn: asyncpg.pool.PoolConnectionProxy[Any]) -> int:
            self._statements += 1
            return _rowcount(await conn.execute(query, *args))

        if not self._owns():
            # One statement is atomic by itself: no BEGIN/COMMIT round trips around it.
            return await self._outside(sql, op)
        async with self.transaction():  # a savepoint: a failure undoes this statement only
            return await self._in_transaction(sql, op, enclosed=True)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        query = numbered(sql)
        batch = [tuple(row) for row in rows]
        if not batch:
            return 0

        async def op(conn: asyncpg.pool.PoolConnectionProxy[Any]) -> int:
            # asyncpg's executemany reports no row count; a prepared statement run per row
            # does, and stays one parse on the server.
            statement = await conn.prepare(query)
            changed = 0
            for row in batch:
                self._statements += 1
                await statement.fetch(*row)
                changed += _rowcount(statement.get_statusmsg())
            return changed

        async with self.transaction():
            return await self._in_transaction(sql, op, enclosed=True)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async def rows(
            conn: asyncpg.pool.PoolConnectionProxy[Any], query: str, args: tuple[Any, ...]
        ) -> list[Row]:
            return [tuple(record) for record in await conn.fetch(query, *args)]

        return await self._query(sql, params, rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async def row(
            conn: asyncpg.pool.PoolConnectionProxy[Any], query: str, args: tuple[Any, ...]
        ) -> Row | None:
            record = await conn.fetchrow(query, *args)
            return None if record is None else tuple(record)

        return await self._query(sql, params, row)

    async def _query(
        self,
        sql: str,
        params: Sequence[Any],
        run: Callable[[asyncpg.pool.PoolConnectionProxy[Any], str, tuple[Any, ...]], Awaitable[T]],
    ) -> T:
        query = numbered(sql)
        args = tuple(params)

        async def op(conn: asyncpg.pool.PoolConnectionProxy[Any]) -> T:
            self._statements += 1
            return await run(conn, query, args)

        if self._owns():
            return await self._in_transaction(sql, op, guarded=WRITES.match(sql) is not None)
        return await self._outside(sql, op)

    # ---------------------------------------------------------------- notifications

    def listen(self, channel: str, on_notify: Callable[[], None]) -> Listener:
        """Calls ``on_notify`` soon after any connection to this database commits a NOTIFY
        on ``channel`` (and once whenever the listening connection is (re)opened); a
        connection of its own, outside the pool. Stop it with ``close()``."""
        listener = Listener(self._dsn, channel, on_notify)
        listener.start()
        return listener

    # ---------------------------------------------------------------- maintenance

    async def ping(self) -> float:
        started = time.perf_counter()
        await self.fetch_one("SELECT count(*) FROM schema_migrations")
        return (time.perf_counter() - started) * 1000.0

    async def schema_version(self) -> int:
        row = await self.fetch_one("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Wait for a running transaction to end, then close the pool. Idempotent."""
        if self._owns():
            raise TransactionError("close() called from inside a transaction")
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                await asyncio.wait_for(self._pool.close(), timeout=10)
            except TimeoutError:
                self._pool.terminate()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _rowcount(status: str | None) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    match = _ROWCOUNT.search(status or "")
    return int(match.group(1)) if match else 0


def _unavailable(exc: BaseException, url: str) -> StorageError:
    return DatabaseUnavailable(f"{url}: {type(exc).__name__}: {exc}")


class _DonePending:
    """The commit of a pipelined unit on PostgreSQL: already durable when handed out."""

    __slots__ = ("_ended",)

    def __init__(self) -> None:
        self._ended = False

    def done(self) -> bool:
        return self._ended

    async def wait(self, timeout: float) -> None:
        if not self._ended:
            raise TransactionError("the pipelined transaction has not ended")

    def hold_open(self) -> GroupHold:
        return NO_HOLD  # committed already: nothing to keep open


class _Transaction:
    __slots__ = ("_db", "_fence", "_savepoint")

    def __init__(self, db: PgDatabase, fence: Fence | None) -> None:
        self._db = db
        self._fence = fence
        self._savepoint: str | None = None

    async def __aenter__(self) -> None:
        self._savepoint = await self._db._enter(self._fence)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._db._exit(self._savepoint, failed=exc_type is not None)


class _PipelinedTransaction:
    __slots__ = ("_db", "_fence", "_pending")

    def __init__(self, db: PgDatabase, fence: Fence | None) -> None:
        self._db = db
        self._fence = fence
        self._pending = _DonePending()

    async def __aenter__(self) -> _DonePending:
        if self._db.in_transaction:
            raise TransactionError("a pipelined transaction must be the task's outermost one")
        await self._db._enter(self._fence)
        return self._pending

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._db._exit(None, failed=exc_type is not None)
        self._pending._ended = True
