"""One SQLite database file, one connection, and the only transaction boundary.

Theory of operation
-------------------
Statements run on the event loop's own thread, synchronously: a statement against the page
cache costs a few microseconds, while handing it to a worker thread and resuming the awaiting
task afterwards cost about 80 (measured: that hand-off was ~70% of the daemon's busy time when
every statement went through aiosqlite's thread). What can take long goes to one worker thread
(:mod:`storage.sqlite_worker`) instead, so the loop never waits long on the disk or on another
process:

* ``COMMIT`` (its fsync, and the WAL auto-checkpoint that may follow) once commits are slow.
  While they are fast (``CommitCost``: the recent commits took under ``INLINE_COMMIT_MAX_S``,
  2 ms, on average), a COMMIT runs inline too: a hop costs the worker's wake-up and two hand-overs
  of the GIL, which measured about as long as the fsync itself on a busy two-core machine (a
  sequential send, with two commits on its path, went 20% faster inline). A slow disk, or a
  checkpoint that makes the average climb, sends commits back to the worker until they are
  fast again. Either way a transaction costs one COMMIT, whatever number of statements it ran:
  in WAL mode a COMMIT holds the write lock already and its checkpoint is a passive one, so
  neither waits for another process, and a COMMIT that does find the database locked is run
  again on the worker with the busy timeout;
* anything that finds the database locked by another process (``SQLITE_BUSY``): the
  connection's own busy timeout is 0, so an inline statement fails at once instead of blocking
  the loop, and is run again on the worker with the configured busy timeout;
* maintenance that reads the whole file (``integrity_check``, ``optimize``) and closing.

The connection is never used by two threads at once: every use happens under the asyncio lock
below (or by the task that owns the transaction), and a hop to the worker is awaited to its end.

What the thread cannot give is isolation between asyncio tasks: a transaction spans several
awaits, and on a shared connection another task's statement would land *inside* it (a read
would see uncommitted rows, a write would be committed or rolled back with someone else's
work). So an ``asyncio.Lock`` is held for the whole of a transaction, and every statement issued
outside one takes the same lock.

``async with db.transaction():`` is the boundary callers see:

* The outermost use takes the lock and runs ``BEGIN IMMEDIATE`` (the write lock is taken up
  front, so a transaction never fails half-way with SQLITE_BUSY on its first write). A normal
  exit commits; an exception rolls everything back and propagates.
* **Nesting joins.** A task already inside a transaction that enters ``transaction()`` again
  joins it through a ``SAVEPOINT``: an exception leaving the inner block undoes only the inner
  block's writes and propagates; if the outer block catches it, the outer transaction goes on
  and commits the rest. This is what lets a repository make its own multi-statement writes
  atomic while also taking part in the caller's transaction. Repositories never commit.
* Ownership is per task. A task spawned from inside a transaction is *not* part of it: its
  statements wait until the transaction ends. Awaiting such a task from inside the transaction
  therefore deadlocks; don't.
* If SQLite itself aborts the transaction after an error (e.g. a full disk), every later
  statement in it and the commit raise :class:`~storage.errors.TransactionError`, so nothing
  runs in autocommit mode by accident.

**Group commit.** A transaction that ends while other transactions are queued for the lock does
not commit: it hands the still-open SQLite transaction to the next one and waits. The last of
such a run (no one queued, ``MAX_GROUP_UNITS`` reached, or the first one waiting
``MAX_GROUP_WAIT_S`` already) commits for all of them: one fsync for the group. Every ``async
with db.transaction()`` still returns only once its writes are on disk (or raises), so
persist-before-ack is exact. A unit that joins an open group runs inside a savepoint of its own,
so that its failure rolls back to it and leaves the others alone (the unit that begins the
transaction needs none: rolling the transaction back undoes it alone); if SQLite aborts the
transaction or the commit fails, every unit of the group gets the error. A read outside a
transaction commits a waiting group first, so nothing outside a transaction ever sees writes
that are not yet durable; a timer does the same if the transaction handed over finds no taker
(its task was cancelled while queued). Writers queue behind a commit on the worker; an inline
commit leaves the loop no moment for that, and groups then come from the queue a unit finds
when it ends, pipelined units (below) and lingering ones.

**Pipelined transactions.** ``async with db.pipelined_transaction() as pending:`` is the same
unit of work, except that leaving the block does not wait for the commit: the unit joins the
open group, the lock is released, and ``await pending.wait(timeout)`` returns once the commit
holding it is durable (or raises that commit's error). While no one else is queued and the group
is within its bounds (``MAX_GROUP_UNITS``, and ``MAX_PIPELINED_GROUP_S`` since it opened) the
group stays open, and a flush is scheduled that commits it as soon as the loop runs other tasks:
a task that handles a run of work items without yielding (one session's dispatcher draining a
backlog) puts them all in one commit, and a lone item is committed at once. The longer time
bound is only spent by a task busy with more work; cutting its group sooner would not ack
anything sooner, since its next unit would wait for that commit's fsync anyway. The caller must
not act on the unit outside the process (acknowledge it) before ``wait`` returned.

**Holding a group open for another task.** A pipelined unit that hands work to another task which
will write about it at once (an accepted send and the outbox worker that encrypts it) can keep
its group open for that task's unit: ``pending.hold_open()`` right after the block, and
``hold.release()`` inside the other unit (or when it will not come). While a hold is out, no
flush and no ending unit commits the group, for at most ``MAX_GROUP_WAIT_S`` since it opened
(the flush timer); a read outside a transaction still commits it first. Both units then share
one commit: what the first one's caller waits for and what the second one's task acts on
become durable together, one fsync instead of two in a row.

**Lingering units.** ``pipelined_transaction(linger=...)`` is for work nobody waits on but its
own ack (a delivery receipt of a message we sent): the unit asks for no commit of its own. The
group stays open after it, and the next unit that ends commits it along with its own; if none
comes within ``linger`` seconds, a timer commits it. Such a group's bounds (``MAX_GROUP_WAIT_S``
for holds and queued writers) count from the first unit that is not lingering, and that unit's
own end decides the commit, as if the lingering units had not been there. Nor does a unit in
a hurry hand its transaction over to a lingering unit queued behind it: it commits, and the
lingering unit opens the next group.

A hop that has been handed to the worker thread runs to completion even if the awaiting task is
cancelled; the cancellation is re-raised once it has finished. This keeps the invariant that,
whenever no hop of ours is awaited, the worker is idle and the connection's transaction state
is known; cancelling a task inside a transaction rolls it back.

Durability
----------
``synchronous=FULL`` is the default. In WAL mode both NORMAL and FULL survive a crash of the
process (SIGKILL included; the tests check it), and neither can corrupt the file. They differ on
power loss or an OS crash: with NORMAL the last commits before the failure may be rolled back.
wamd acknowledges a stanza to the server once its transaction commits (persist before ack) and
writes identities that cannot be re-created, so a commit must be on disk when it returns. The
price is one fsync per commit (about 0.3 ms here, ~3000 commits/s); ``Synchronous.NORMAL`` is
available for throwaway databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

from storage.commit_hooks import CommitHooks, call_soon_all, run_callback
from storage.completion import run_to_completion
from storage.engine import Dialect, EngineCounters, Row
from storage.errors import DatabaseUnavailable, StorageError, TransactionError
from storage.interfaces import GroupHold, PendingCommit
from storage.sqlite_errors import is_busy, translate_error
from storage.sqlite_worker import Worker
from storage.wal_gather import connect_target

if TYPE_CHECKING:
    from storage.migrate import Migration

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "FILE_MODE",
    "Clock",
    "CommitCost",
    "Database",
    "Row",
    "Synchronous",
    "utc_now",
]

Clock = Callable[[], datetime]
T = TypeVar("T")

# A group is committed once it holds this many transactions, or once its first one has waited
# this long: a message never waits more than a few milliseconds for company.
MAX_GROUP_UNITS: Final = 64
MAX_GROUP_WAIT_S: Final = 0.005
# A pipelined unit keeps the group open this long while its task goes on working without a
# pause (a backlog): the flush commits it as soon as the task waits for more. Cutting a busy
# task's group at MAX_GROUP_WAIT_S would make it wait for that commit's fsync anyway (the lock
# is held meanwhile), and with a slow disk the drain rate became group size / fsync time.
MAX_PIPELINED_GROUP_S: Final = 0.05
# A COMMIT runs on the loop's own thread while recent commits took less than this on average,
# and on the worker otherwise (see the module docstring).
INLINE_COMMIT_MAX_S: Final = 0.002
COMMIT_COST_WEIGHT: Final = 0.2
_UNIT: Final = "wamd_unit"
_ABORTED: Final = (
    "SQLite aborted this transaction after an earlier error; nothing of it was committed"
)

# Prepared statements kept by the connection (an LRU keyed by the SQL text; sqlite3's default
# is 128). Pairing a session and a run of sends alone use 210 distinct statements (measured):
# with 128, a send interleaved with a history sync or an app-state resync could find its
# statements evicted and prepare them again. A prepared statement costs a few KiB, on one
# connection per daemon.
CACHED_STATEMENTS: Final = 512
# The database holds private keys: owner read/write only, whatever the umask says.
FILE_MODE = 0o600
# Only another process (a second wamd, the CLI, sqlite3 shell) can hold the file's lock; our
# own tasks queue on the asyncio lock. Five seconds rides out a checkpoint or a backup step.
DEFAULT_BUSY_TIMEOUT_MS = 5_000


class Synchronous(enum.StrEnum):
    """SQLite's ``PRAGMA synchronous`` levels that make sense with WAL (see module docstring)."""

    NORMAL = "NORMAL"
    FULL = "FULL"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _create_private_file(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it, or tighten an existing
    one. SQLite gives the -wal and -shm files the main file's mode."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot open {path}: {exc.strerror}") from exc
    try:
        # os.open's mode is filtered by the umask, and an existing file keeps its mode.
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot make {path} private (mode 0600): {exc}") from exc
    finally:
        os.close(fd)


class Database:
    """One open database file. Create with :meth:`open`; close with :meth:`close`.

    ``execute``/``execute_many``/``fetch_*`` are for the repositories in ``storage/``; code
    above storage uses repositories and :meth:`transaction` only.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        clock: Clock,
        busy_timeout_ms: int,
        inline_commit_max_s: float = INLINE_COMMIT_MAX_S,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        # The loop this database serves, named when asking for the current task:
        # asyncio.current_task() without one asks for the running loop, which costs a
        # getpid() system call per call on CPython 3.11 (dozens per send).
        self._loop = asyncio.get_running_loop()
        self._worker = Worker("wamd-sqlite")
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._commit_cost = CommitCost(inline_commit_max_s)
        self._path = path
        self._clock = clock
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0
        self._aborted = False
        self._poisoned: str | None = None
        self._group: _Group | None = None
        self._queued_writers = 0
        self._queued_lingering = 0
        """Of the queued writers, those that linger: nobody's commit waits for them."""
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_scheduled = False
        self._after_end: list[Callable[[], None]] = []
        self._on_commit = CommitHooks()
        self._commits = 0
        self._units = 0
        self._statements = 0
        self._unit_savepoint = False

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock = utc_now,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        synchronous: Synchronous = Synchronous.FULL,
        migrations: Sequence[Migration] | None = None,
        inline_commit_max_s: float = INLINE_COMMIT_MAX_S,
        gather_wal_writes: bool = True,
    ) -> Self:
        """Open (creating if needed) the file at ``path``, configure it and migrate it.

        ``migrations`` defaults to the ones shipped in ``storage/migrations``;
        ``inline_commit_max_s`` 0 sends every COMMIT to the worker thread;
        ``gather_wal_writes`` uses the WAL-gathering VFS where it was built
        (``storage.wal_gather``).
        Raises DatabaseUnavailable/DatabaseCorrupt, SchemaTooNew or MigrationError.
        """
        from storage.migrate import apply_migrations, load_migrations

        file = Path(path)
        if str(path) in ("", ":memory:"):
            raise ValueError("storage keeps auth state in a file; give a path, not :memory:")
        _create_private_file(file)
        try:
            # Opened here, used inline by the loop's thread and by the worker (never both at
            # once, see the module docstring). timeout=0: an inline statement must not wait.
            target, uri = connect_target(file, gather=gather_wal_writes)
            conn = sqlite3.connect(
                target,
                uri=uri,
                isolation_level=None,
                timeout=0,
                check_same_thread=False,
                cached_statements=CACHED_STATEMENTS,
            )
        except sqlite3.Error as exc:
            raise translate_error(exc, "<connect>") from exc
        db = cls(conn, file, clock, busy_timeout_ms, inline_commit_max_s)
        try:
            await db._configure(synchronous)
            await apply_migrations(db, load_migrations() if migrations is None else migrations)
        except BaseException:
            await db._close_connection()
            raise
        return db

    async def _configure(self, synchronous: Synchronous) -> None:
        mode = await self.fetch_one("PRAGMA journal_mode = WAL")
        if mode is None or str(mode[0]).lower() != "wal":
            raise DatabaseUnavailable(f"{self._path}: cannot switch to WAL mode (got {mode!r})")
        await self.fetch_all(f"PRAGMA synchronous = {synchronous.value}")
        await self.fetch_all("PRAGMA foreign_keys = ON")
        enabled = await self.fetch_one("PRAGMA foreign_keys")
        if enabled is None or enabled[0] != 1:
            raise DatabaseUnavailable("this SQLite build cannot enforce foreign keys")
        # Freed pages are zeroed: a consumed one-time prekey or a deleted Signal session must
        # not linger in the file, or forward secrecy is only nominal.
        await self.fetch_all("PRAGMA secure_delete = ON")
        # Schema code (triggers, views) may not call functions that have side effects.
        await self.fetch_all("PRAGMA trusted_schema = OFF")
        # Savepoint journals stay in memory. A unit that joins a group commit runs in a
        # savepoint, whose journal keeps the original of every page the unit changes; past
        # 64 KiB SQLite spills it to a temporary file: writes on every send, and copies of
        # Signal state (consumed prekeys included) on disk, which secure_delete cannot reach.
        await self.fetch_all("PRAGMA temp_store = MEMORY")

    # ---------------------------------------------------------------- properties

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    @property
    def path(self) -> Path:
        return self._path

    @property
    def closed(self) -> bool:
        return self._conn is None

    def now(self) -> datetime:
        """The current time from the injected clock (timezone-aware)."""
        return self._clock()

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside :meth:`transaction`."""
        return self._owns()

    @property
    def commit_count(self) -> int:
        """COMMITs so far (each one fsync); with ``unit_count``, how well commits are grouped."""
        return self._commits

    @property
    def counters(self) -> EngineCounters:
        """Statements handed to SQLite (inline or on the worker) and COMMITs so far."""
        return EngineCounters(self._statements, self._commits)

    @property
    def unit_count(self) -> int:
        """Transactions that ended successfully so far (committed alone or in a group)."""
        return self._units

    def _owns(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task(self._loop)

    def _connection(self) -> sqlite3.Connection:
        if self._poisoned is not None:
            raise DatabaseUnavailable(self._poisoned)
        if self._conn is None:
            raise DatabaseUnavailable(f"{self._path} is closed")
        return self._conn

    # ---------------------------------------------------------------- transactions

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The transaction boundary: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back by an
        exception. Nested use by the same task joins through a savepoint; other tasks wait.
        See the module docstring for the details and for cancellation."""
        return _Transaction(self)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` (soon, on the loop) once the current task's transaction has
        ended — its commit durable, or failed — or at once outside a transaction. For
        wake-ups of readers that must not read ahead of the commit; a rolled-back unit may
        still cause a call, so a callback is a hint, not a promise of new rows."""
        if self._owns():
            self._after_end.append(callback)
        else:
            self._loop.call_soon(callback)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once what the current task wrote so far is committed and
        durable, never if it is rolled back (see :mod:`storage.commit_hooks`): as the COMMIT
        returns, on the loop's thread, before the tasks waiting on it resume. Outside a
        transaction (the task's writes are committed), at once: a later commit's callbacks,
        run as that COMMIT returns, must not overtake it."""
        if self._owns():
            self._on_commit.add(self._depth, callback)
        else:
            run_callback(callback)

    def _transaction_ended(self) -> None:
        callbacks, self._after_end = self._after_end, []
        if callbacks:
            call_soon_all(callbacks)

    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        """A transaction whose end does not wait for its commit: the yielded
        :class:`PendingCommit` says when it is durable (see the module docstring). It must be
        the task's outermost transaction. With ``linger`` the unit does not ask for a commit
        of its own: it rides along with the next unit's, or is committed by a timer after
        ``linger`` seconds if none comes."""
        return _PipelinedTransaction(self, linger)

    async def _enter(self, lingering: bool = False) -> str | None:
        task = asyncio.current_task(self._loop)
        if task is None:
            raise TransactionError("transaction() needs a running asyncio task")
        if self._owner is task:
            self._depth += 1
            savepoint = f"wamd_sp_{self._depth}"
            try:
                await self._statement(f"SAVEPOINT {savepoint}")
            except BaseException:
                self._depth -= 1
                raise
            return savepoint
        self._queued_writers += 1
        self._queued_lingering += lingering
        try:
            await self._lock.acquire()
        finally:
            self._queued_writers -= 1
            self._queued_lingering -= lingering
        try:
            # A unit needs a savepoint of its own only when it joins a group: one that begins
            # the transaction is alone in it, and rolling the transaction back undoes it.
            self._unit_savepoint = self._group is not None
            if self._unit_savepoint:
                await self._statement(f"SAVEPOINT {_UNIT}")
            else:
                await self._statement("BEGIN IMMEDIATE")
        except BaseException:
            try:
                await self._end_or_hand_over()
            finally:
                self._lock.release()
            raise
        self._owner = task
        self._depth = 0
        self._aborted = False
        return None

    async def _exit(
        self,
        savepoint: str | None,
        failed: bool,
        pending: _PendingCommit | None = None,
        linger: float = 0.0,
    ) -> None:
        if savepoint is not None:
            self._depth -= 1
            if self._aborted:
                return  # SQLite dropped the savepoints with the transaction; the outer ends it
            if self._on_commit.entries:
                self._on_commit.savepoint_ended(self._depth, failed=failed)
            if failed:
                await self._statement(f"ROLLBACK TO {savepoint}", check_aborted=False)
            await self._statement(f"RELEASE {savepoint}", check_aborted=False)
            return
        waiter: asyncio.Future[None] | None = None
        committed = self._on_commit.take() if self._on_commit.entries else []
        group: _Group | None = None
        try:
            waiter = await self._close_unit(failed, lingering=linger > 0)
            group = self._group
            if group is not None and waiter is not None:
                group.callbacks += committed
        finally:
            try:
                await self._end_or_hand_over(defer=pending is not None, linger=linger)
            except BaseException:
                if waiter is not None and waiter.done() and not waiter.cancelled():
                    waiter.exception()  # the same error is raised here
                raise
            finally:
                self._owner = None
                self._depth = 0
                self._aborted = False
                self._lock.release()
        if pending is not None:
            if waiter is not None:
                pending.attach(self, waiter, group)
            return
        if waiter is not None:
            await run_to_completion(waiter)

    async def _close_unit(
        self, failed: bool, lingering: bool = False
    ) -> asyncio.Future[None] | None:
        """Ends this transaction's unit savepoint; a successful unit joins the group and gets
        the future its commit resolves."""
        if self._aborted:
            self._fail_group(TransactionError(_ABORTED))
            await self._rollback_if_open()
            if failed:
                return None  # the block's own exception says what went wrong
            raise TransactionError(_ABORTED)
        if failed:
            if self._unit_savepoint:
                await self._statement(f"ROLLBACK TO {_UNIT}", check_aborted=False)
                await self._statement(f"RELEASE {_UNIT}", check_aborted=False)
            return None  # else no group: _end_or_hand_over rolls the transaction back
        if self._unit_savepoint:
            await self._statement(f"RELEASE {_UNIT}", check_aborted=False)
        group = self._group
        if group is None:
            self._group = group = _Group(time.monotonic(), lingering)
        elif group.lingering and not lingering:
            # The first unit in a hurry: the group's bounds count from here, and its own end
            # decides the commit, not the lingering units' timer.
            group.lingering = False
            group.started = time.monotonic()
            self._cancel_flush_timer()
        waiter = self._loop.create_future()
        group.waiters.append(waiter)
        self._units += 1
        return waiter

    async def _end_or_hand_over(self, *, defer: bool = False, linger: float = 0.0) -> None:
        """With the lock held and no unit open: commit the group, roll back a transaction no
        unit is waiting on, or leave the transaction open for the next queued writer (or, when
        ``defer``, for whoever comes before the scheduled flush; or, for a group of lingering
        units, for whoever comes within ``linger``)."""
        conn = self._conn
        group = self._group
        if conn is None or not conn.in_transaction:
            self._fail_group(TransactionError(_ABORTED))
            return
        if group is None:
            await self._rollback_if_open()
            return
        room = len(group.waiters) < MAX_GROUP_UNITS
        age = time.monotonic() - group.started
        # A lingering writer in the queue is no reason to wait: it joins whatever group is open
        # when it gets the lock, and it is in no hurry for this one.
        hurried = self._queued_writers - self._queued_lingering
        if room and age < MAX_GROUP_WAIT_S and (hurried or group.holds):
            self._arm_flush_timer()
            return
        if room and group.lingering and linger > 0:
            self._arm_flush_timer(linger)
            return
        if room and defer and age < MAX_PIPELINED_GROUP_S:
            self._schedule_flush()
            return
        await self._commit_group()

    async def _commit_group(self) -> None:
        group, self._group = self._group, None
        self._cancel_flush_timer()
        if group is None:
            return
        try:
            await self._commit(group)
        finally:
            self._transaction_ended()

    async def _commit(self, group: _Group) -> None:
        conn = self._connection()
        try:
            await self._commit_statement()
        except asyncio.CancelledError:
            # The hop ran to its end before the cancellation was raised: it committed, or not.
            if conn.in_transaction:
                _fail(group.waiters, TransactionError("the commit was interrupted"))
                await self._rollback_if_open()
            else:
                self._commits += 1
                _succeed(group)
            raise
        except BaseException as exc:
            error = exc if isinstance(exc, StorageError) else TransactionError(str(exc))
            _fail(group.waiters, error)
            # A COMMIT that failed may leave the transaction open (SQLITE_BUSY): the next task
            # must find the connection idle.
            await self._rollback_if_open()
            raise
        self._commits += 1
        _succeed(group)

    def _fail_group(self, error: StorageError) -> None:
        group, self._group = self._group, None
        if group is not None:
            _fail(group.waiters, error)

    async def _commit_waiting_group(self) -> None:
        """For whoever takes the lock without writing (a read, maintenance): make what a
        waiting group wrote durable first. Its failure is the group's, reported to its units.

        Needed for correctness, not only tidiness. On the one connection a read would see the
        group's uncommitted rows, and what a read outside a transaction returns leaves the
        process (the event stream, HTTP answers, a webhook): a commit that then failed, or a
        kill -9, would take back what a client was already shown, and event positions would
        be handed out twice. And a read must see every unit that ended before it, committed
        or not: a caller that reads outside a transaction and writes what it read in a later
        one would otherwise put older rows over an ended unit's. A second, read-only
        connection would keep the first rule and break the second. The price is small: with
        8 sends in flight, 57 of 1,180 commits in 500 sends were such splits (none with
        sequential sends), and making the read wait for the queued writers instead would
        delay the reads the send path waits on (the next due outbox item, the events)."""
        if self._group is not None:
            with contextlib.suppress(StorageError):
                await self._commit_group()

    def _arm_flush_timer(self, delay: float = MAX_GROUP_WAIT_S) -> None:
        if self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(delay, self._start_flush)

    def _cancel_flush_timer(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    def _start_flush(self) -> None:
        self._flush_timer = None
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Commits the open group as soon as the loop runs other tasks (once the lock is
        free): a pipelined unit's group gets every unit its task adds before yielding."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._flush_task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        async with self._lock:
            self._flush_scheduled = False
            group = self._group
            if (
                group is not None
                and group.holds
                and time.monotonic() - group.started < MAX_GROUP_WAIT_S
            ):
                self._arm_flush_timer()  # the awaited unit commits it, or the timer does
                return
            await self._commit_waiting_group()

    def _hold(self, group: _Group) -> GroupHold:
        if group is not self._group:
            return NO_HOLD  # committed (or failed) already
        group.holds += 1
        return _GroupHold(self, group)

    def _hold_released(self, group: _Group) -> None:
        group.holds -= 1
        if group is self._group and not group.holds and not self._lock.locked():
            self._schedule_flush()  # nobody is writing: nothing else would end the group

    async def _rollback_if_open(self) -> None:
        conn = self._conn
        if conn is None or self._poisoned is not None or not conn.in_transaction:
            self._transaction_ended()
            return
        self._transaction_ended()
        self._statements += 1
        try:
            conn.execute("ROLLBACK")
        except (sqlite3.Error, sqlite3.Warning) as exc:
            # The connection's state is unknown now; refuse to guess with an identity at stake.
            self._poisoned = f"rollback failed, reopen the database: {translate_error(exc, '')}"
            raise DatabaseUnavailable(self._poisoned) from exc

    # ---------------------------------------------------------------- statements
    #
    # The hot path is one coroutine per statement: ``execute``/``fetch_*`` run the statement
    # inline themselves and only a failure goes on to ``_failed`` (a busy database, an error to
    # translate). Ownership is checked without a call, the worker's closure is built only when
    # needed, and every statement handed to SQLite counts in ``_statements``.

    def _cursor(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """The statement run inline in the current task's transaction."""
        if self._aborted:
            raise TransactionError(
                "SQLite aborted this transaction after an earlier error; leave the "
                "transaction() block"
            )
        conn = self._conn
        if conn is None or self._poisoned is not None:
            conn = self._connection()  # raises
        self._statements += 1
        return conn.execute(sql, params)

    async def _failed(
        self,
        exc: sqlite3.Error | sqlite3.Warning,
        sql: str,
        op: Callable[[sqlite3.Connection], T],
        *,
        owned: bool,
    ) -> T:
        """After an inline statement raised ``exc``: one that found the database locked by
        another process runs again on the worker, which may wait; any other error (or the
        worker's) is translated, and marks the transaction aborted if SQLite ended it."""
        conn = self._connection()
        try:
            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                return await self._offload(op, busy=True)
            raise exc
        except (sqlite3.Error, sqlite3.Warning) as error:
            if owned and not conn.in_transaction:
                self._aborted = True
            raise translate_error(error, sql) from error

    async def _offload(self, op: Callable[[sqlite3.Connection], T], *, busy: bool = False) -> T:
        """Runs ``op`` on the worker thread. The connection's busy timeout is 0, so that an
        inline statement never blocks the loop; it is raised to the configured one around
        ``op`` only when ``op`` found (or, with ``busy``, already found) the database locked:
        a COMMIT in WAL mode, or maintenance, normally takes no lock another process holds,
        and then the hop costs nothing but the call."""
        conn = self._connection()
        timeout_ms = self._busy_timeout_ms

        def call() -> T:
            if not busy:
                self._statements += 1
                try:
                    return op(conn)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
                        raise
            self._statements += 3
            conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            try:
                return op(conn)
            finally:
                conn.execute("PRAGMA busy_timeout = 0")

        return await self._worker.run(call)

    async def _statement(self, sql: str, *, check_aborted: bool = True) -> None:
        """A statement of the engine's own (BEGIN, savepoints), inline; ``check_aborted=False``
        for the ones that end a transaction SQLite may already have aborted."""
        owned = self._owns()
        if check_aborted and owned and self._aborted:
            raise TransactionError(_ABORTED)
        conn = self._connection()
        self._statements += 1
        try:
            conn.execute(sql)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            await self._failed(exc, sql, lambda c: c.execute(sql), owned=owned and check_aborted)

    async def _commit_statement(self) -> None:
        started = time.perf_counter()
        try:
            inline = self._commit_cost.inline
            if inline and self._commit_inline():
                return
            # A busy database (another process's lock) is waited for off the loop.
            await self._offload(_commit, busy=inline)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise translate_error(exc, "COMMIT") from exc
        finally:
            self._commit_cost.observe(time.perf_counter() - started)

    def _commit_inline(self) -> bool:
        """COMMIT on the loop's thread; False when another process holds the database (the
        busy timeout is 0 here: the caller waits for it on the worker instead)."""
        conn = self._connection()
        self._statements += 1
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            return False
        return True

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement inside the current transaction (or a new one); returns
        the number of rows it changed."""
        owner = self._owner
        if owner is None or owner is not asyncio.current_task(self._loop):
            async with self.transaction():
                return await self.execute(sql, params)
        # One statement is atomic on its own (SQLite undoes a failed statement's changes and
        # keeps the transaction): a savepoint around it would only cost two more.
        try:
            return self._cursor(sql, params).rowcount
        except (sqlite3.Error, sqlite3.Warning) as exc:
            return await self._failed(
                exc, sql, lambda c: c.execute(sql, params).rowcount, owned=True
            )

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one writing statement for each parameter row, all in one transaction."""
        batch = list(rows)

        def op(conn: sqlite3.Connection) -> int:
            return conn.executemany(sql, batch).rowcount

        async with self.transaction():
            try:
                if self._aborted:
                    raise TransactionError(_ABORTED)
                self._statements += len(batch)
                return op(self._connection())
            except (sqlite3.Error, sqlite3.Warning) as exc:
                return await self._failed(exc, sql, op, owned=True)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query (or a statement with RETURNING) and return every row."""
        owner = self._owner
        if owner is None or owner is not asyncio.current_task(self._loop):
            return await self._fetch_outside(sql, params)
        try:
            return self._cursor(sql, params).fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            return await self._failed(
                exc, sql, lambda c: c.execute(sql, params).fetchall(), owned=True
            )

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        owner = self._owner
        if owner is None or owner is not asyncio.current_task(self._loop):
            rows = await self._fetch_outside(sql, params)
        else:
            try:
                rows = self._cursor(sql, params).fetchall()
            except (sqlite3.Error, sqlite3.Warning) as exc:
                rows = await self._failed(
                    exc, sql, lambda c: c.execute(sql, params).fetchall(), owned=True
                )
        return rows[0] if rows else None

    async def _fetch_outside(self, sql: str, params: Sequence[Any]) -> list[Row]:
        async with self._lock:
            await self._commit_waiting_group()
            conn = self._connection()
            self._statements += 1
            try:
                return conn.execute(sql, params).fetchall()
            except (sqlite3.Error, sqlite3.Warning) as exc:
                return await self._failed(
                    exc, sql, lambda c: c.execute(sql, params).fetchall(), owned=False
                )

    # ---------------------------------------------------------------- maintenance

    async def ping(self) -> float:
        """Latency in milliseconds of a real query, including any wait for a running
        transaction (which is what a deep health check should see)."""
        started = time.perf_counter()
        await self.fetch_one("SELECT count(*) FROM schema_migrations")
        return (time.perf_counter() - started) * 1000.0

    async def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check``: ``["ok"]`` for a healthy file."""
        sql = "PRAGMA integrity_check"

        async def check() -> list[Row]:
            try:
                return await self._offload(lambda c: c.execute(sql).fetchall())
            except (sqlite3.Error, sqlite3.Warning) as exc:
                raise translate_error(exc, sql) from exc

        if self._owns():
            rows = await check()
        else:
            async with self._lock:
                await self._commit_waiting_group()
                rows = await check()
        return [str(row[0]) for row in rows]

    async def schema_version(self) -> int:
        row = await self.fetch_one("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Wait for a running transaction to end, then close. Idempotent."""
        if self._owns():
            raise TransactionError("close() called from inside a transaction")
        async with self._lock:
            if self._conn is None:
                return
            await self._commit_waiting_group()
            if self._poisoned is None:
                # SQLite recommends it before closing a long-lived connection; best effort,
                # since closing matters more than the statistics.
                with contextlib.suppress(sqlite3.Error, sqlite3.Warning):
                    await self._offload(lambda c: c.execute("PRAGMA optimize"))
            await self._close_connection()

    async def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await self._worker.run(conn.close)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise translate_error(exc, "<close>") from exc
        finally:
            self._worker.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


class CommitCost:
    """Where the next COMMIT runs: on the loop's thread while the recent commits took less
    than ``limit`` seconds on average (an exponential average, weight ``COMMIT_COST_WEIGHT``,
    over commits wherever they ran, the worker's hop included), else on the worker."""

    __slots__ = ("average", "limit")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.average = 0.0

    @property
    def inline(self) -> bool:
        return self.average < self.limit

    def observe(self, seconds: float) -> None:
        self.average += (seconds - self.average) * COMMIT_COST_WEIGHT


class _Group:
    """Transactions that ended and wait for one COMMIT."""

    __slots__ = ("callbacks", "holds", "lingering", "started", "waiters")

    def __init__(self, started: float, lingering: bool) -> None:
        self.started = started
        self.waiters: list[asyncio.Future[None]] = []
        self.callbacks: list[Callable[[], None]] = []
        """The units' ``on_commit`` callbacks, run as the COMMIT returns."""
        self.holds = 0
        """Units of other tasks this group is kept open for (``PendingCommit.hold_open``)."""
        self.lingering = lingering
        """Every unit in it lingers (``pipelined_transaction(linger=...)``): nobody is in a
        hurry, and its bounds start with the first unit that is."""


class _GroupHold:
    __slots__ = ("_db", "_group")

    def __init__(self, db: Database, group: _Group) -> None:
        self._db = db
        self._group: _Group | None = group

    def release(self) -> None:
        group, self._group = self._group, None
        if group is not None:
            self._db._hold_released(group)


class _NoHold:
    __slots__ = ()

    def release(self) -> None:
        return None


NO_HOLD: Final[GroupHold] = _NoHold()
"""The hold of a commit that has nothing to keep open (ended already, or committed at once)."""


def _succeed(group: _Group) -> None:
    """The group is durable: its units' callbacks run now, before any of its tasks resumes (a
    unit's events reach the streams without waiting for the loop's next turns), then its
    waiters are told."""
    for callback in group.callbacks:
        run_callback(callback)
    for waiter in group.waiters:
        if not waiter.done():
            waiter.set_result(None)


def _fail(waiters: list[asyncio.Future[None]], error: StorageError) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_exception(error)


class _PendingCommit:
    """What a pipelined transaction leaves: a wait for the commit that holds its unit."""

    __slots__ = ("_db", "_future", "_group")

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None
        self._db: Database | None = None
        self._group: _Group | None = None

    def attach(self, db: Database, future: asyncio.Future[None], group: _Group | None) -> None:
        self._db, self._future, self._group = db, future, group

    def hold_open(self) -> GroupHold:
        """See the module docstring: the group holding this unit waits for one more unit."""
        if self._db is None or self._group is None or self.done():
            return NO_HOLD
        return self._db._hold(self._group)

    def done(self) -> bool:
        """Whether the commit has ended (durable or failed)."""
        return self._future is not None and self._future.done()

    async def wait(self, timeout: float) -> None:
        """Returns once the unit is on disk; raises the commit's StorageError, or
        TimeoutError after ``timeout`` seconds (the unit may still commit later)."""
        if self._future is None:
            raise TransactionError("the pipelined transaction has not ended")
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._future)


class _Transaction:
    """What ``Database.transaction()`` returns; use it once, with ``async with``."""

    __slots__ = ("_db", "_savepoint")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._savepoint: str | None = None

    async def __aenter__(self) -> None:
        self._savepoint = await self._db._enter()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._db._exit(self._savepoint, failed=exc_type is not None)


class _PipelinedTransaction:
    """What ``Database.pipelined_transaction()`` returns; use it once, with ``async with``."""

    __slots__ = ("_db", "_linger", "_pending")

    def __init__(self, db: Database, linger: float) -> None:
        self._db = db
        self._linger = linger
        self._pending = _PendingCommit()

    async def __aenter__(self) -> _PendingCommit:
        if self._db.in_transaction:
            raise TransactionError("a pipelined transaction must be the task's outermost one")
        await self._db._enter(lingering=self._linger > 0)
        return self._pending

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._db._exit(
            None, failed=exc_type is not None, pending=self._pending, linger=self._linger
        )
