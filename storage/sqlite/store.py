"""Every auth-state repository over one SQLite database."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Self

from storage.db import DEFAULT_BUSY_TIMEOUT_MS, Clock, Database, Synchronous, utc_now
from storage.engine import SqlEngine
from storage.interfaces import (
    AppStateKeyRepo,
    AuthStore,
    CredentialsRepo,
    IdentityRepo,
    PreKeyRepo,
    SenderKeyRepo,
    SessionRepo,
    SignalSessionRepo,
)
from storage.sqlite.app_state_keys import SqliteAppStateKeyRepo
from storage.sqlite.credentials import SqliteCredentialsRepo
from storage.sqlite.identities import SqliteIdentityRepo
from storage.sqlite.prekeys import SqlitePreKeyRepo
from storage.sqlite.sender_keys import SqliteSenderKeyRepo
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.signal_sessions import SqliteSignalSessionRepo

if TYPE_CHECKING:
    from storage.migrate import Migration


class SqliteStore:
    """The SQLite implementation of :class:`~storage.interfaces.AuthStore`.

    The properties are typed as the Protocols, so mypy checks each repository against its
    interface here.
    """

    def __init__(self, db: SqlEngine) -> None:
        self.db = db
        self._sessions = SqliteSessionRepo(db)
        self._credentials = SqliteCredentialsRepo(db)
        self._prekeys = SqlitePreKeyRepo(db)
        self._signal_sessions = SqliteSignalSessionRepo(db)
        self._identities = SqliteIdentityRepo(db)
        self._sender_keys = SqliteSenderKeyRepo(db)
        self._app_state_keys = SqliteAppStateKeyRepo(db)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock = utc_now,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        synchronous: Synchronous = Synchronous.FULL,
        migrations: Sequence[Migration] | None = None,
    ) -> Self:
        db = await Database.open(
            path,
            clock=clock,
            busy_timeout_ms=busy_timeout_ms,
            synchronous=synchronous,
            migrations=migrations,
        )
        return cls(db)

    @property
    def sessions(self) -> SessionRepo:
        return self._sessions

    @property
    def credentials(self) -> CredentialsRepo:
        return self._credentials

    @property
    def prekeys(self) -> PreKeyRepo:
        return self._prekeys

    @property
    def signal_sessions(self) -> SignalSessionRepo:
        return self._signal_sessions

    @property
    def identities(self) -> IdentityRepo:
        return self._identities

    @property
    def sender_keys(self) -> SenderKeyRepo:
        return self._sender_keys

    @property
    def app_state_keys(self) -> AppStateKeyRepo:
        return self._app_state_keys

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.db.transaction()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.db.after_commit(callback)

    async def ping(self) -> float:
        return await self.db.ping()

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


if TYPE_CHECKING:
    # Compile-time check that the store satisfies the interface the daemon depends on.
    def _satisfies_auth_store(store: SqliteStore) -> AuthStore:
        return store
