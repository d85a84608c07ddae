"""Every repository over one engine (:class:`RepositoryStores`), and the SQLite bundle of
:class:`~storage.stores.Stores` over one :class:`~storage.db.Database` file.

The repositories are written against :class:`~storage.engine.SqlEngine`, so the PostgreSQL
bundle (:mod:`storage.postgres.stores`) differs only in where it lives and how it is probed.
The properties are typed as the Protocols, so mypy checks each repository against its
interface here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from storage.campaign_interfaces import CampaignStore
from storage.daemon_interfaces import ApiKeyRepo, EventLogRepo, OutboxRepo, WebhookRepo
from storage.db import Database
from storage.engine import Fence, SqlEngine
from storage.errors import DatabaseUnavailable
from storage.fleet_interfaces import FleetRepo
from storage.interfaces import AuthStore, DeviceLidRepo, PendingCommit, SessionRepo
from storage.message_interfaces import MessageStore
from storage.metrics_interfaces import MetricsRepo
from storage.sqlite.api_keys import SqliteApiKeyRepo
from storage.sqlite.campaigns import SqliteCampaignStore
from storage.sqlite.device_lid import SqliteDeviceLidRepo
from storage.sqlite.eventlog import SqliteEventLogRepo
from storage.sqlite.message_store import SqliteMessageStore
from storage.sqlite.metrics import SqliteMetricsRepo
from storage.sqlite.outbox import SqliteOutboxRepo
from storage.sqlite.store import SqliteStore
from storage.sqlite.sync_store import SqliteSyncStore
from storage.sqlite.webhooks import SqliteWebhookRepo
from storage.sync_interfaces import SyncStore

if TYPE_CHECKING:
    from storage.stores import Stores


class RepositoryStores:
    """Every store of the daemon over one engine; a backend adds its location and probe."""

    def __init__(self, db: SqlEngine) -> None:
        self.engine = db
        self._auth = SqliteStore(db)
        self._device_lids = SqliteDeviceLidRepo(db)
        self._messages = SqliteMessageStore(db)
        self._sync = SqliteSyncStore(db)
        self._outbox = SqliteOutboxRepo(db)
        self._events = SqliteEventLogRepo(db)
        self._webhooks = SqliteWebhookRepo(db)
        self._api_keys = SqliteApiKeyRepo(db)
        self._metrics = SqliteMetricsRepo(db)
        self._campaigns = SqliteCampaignStore(db)

    @property
    def auth(self) -> AuthStore:
        return self._auth

    @property
    def device_lids(self) -> DeviceLidRepo:
        return self._device_lids

    @property
    def messages(self) -> MessageStore:
        return self._messages

    @property
    def sync(self) -> SyncStore:
        return self._sync

    @property
    def sessions(self) -> SessionRepo:
        return self._auth.sessions

    @property
    def outbox(self) -> OutboxRepo:
        return self._outbox

    @property
    def events(self) -> EventLogRepo:
        return self._events

    @property
    def webhooks(self) -> WebhookRepo:
        return self._webhooks

    @property
    def api_keys(self) -> ApiKeyRepo:
        return self._api_keys

    @property
    def metrics(self) -> MetricsRepo:
        return self._metrics

    @property
    def campaigns(self) -> CampaignStore:
        return self._campaigns

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.engine.transaction()

    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        return self.engine.pipelined_transaction(linger)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.engine.after_commit(callback)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self.engine.on_commit(callback)

    def now(self) -> datetime:
        return self.engine.now()

    @property
    def in_transaction(self) -> bool:
        return self.engine.in_transaction

    async def ensure_owned(self) -> None:
        return None  # one daemon owns the whole database (its state lock)

    async def ping(self) -> float:
        return await self.engine.ping()

    async def close(self) -> None:
        await self.engine.close()


class SqliteStores(RepositoryStores):
    """Every store of the daemon over one SQLite database file."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.db = db
        self._file_id = _file_id(db.path)

    @property
    def location(self) -> str:
        return str(Path(self.db.path).resolve())

    @property
    def fleet(self) -> FleetRepo | None:
        return None

    def owned_by(self, fence: Fence) -> SqliteStores:
        return self

    @property
    def files_dir(self) -> Path:
        return Path(self.db.path).resolve().parent

    async def probe(self) -> float:
        try:
            stat = os.stat(self.db.path)
        except OSError as exc:
            raise DatabaseUnavailable(f"database file unreachable: {exc.strerror}") from None
        if self._file_id is not None and (stat.st_dev, stat.st_ino) != self._file_id:
            raise DatabaseUnavailable("the database file was replaced under the daemon")
        async with self.db.transaction():
            pass
        return await self.db.ping()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


if TYPE_CHECKING:

    def _satisfies_stores(stores: SqliteStores) -> Stores:
        return stores


__all__ = ["RepositoryStores", "SqliteStores"]
