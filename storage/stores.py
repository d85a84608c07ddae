"""The bundles of stores the daemon is built from: the ports a storage backend provides.

A backend implements :class:`Stores` over one database: SQLite (:mod:`storage.sqlite.stores`)
or PostgreSQL (:mod:`storage.postgres.stores`), the same repositories over either engine. The
composition root (``daemon.service.start_daemon``, ``wamd pair``) gets one from
:func:`storage.backend.open_stores` and hands each part of the daemon the stores it needs. Code
above ``storage/`` sees only these Protocols, the value modules and :mod:`storage.errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from storage.campaign_interfaces import CampaignStore
from storage.daemon_interfaces import ApiKeyRepo, EventLogRepo, OutboxRepo, WebhookRepo
from storage.engine import Fence
from storage.fleet_interfaces import FleetRepo
from storage.interfaces import AuthStore, DeviceLidRepo, Pipelined, SessionRepo, Transactional
from storage.message_interfaces import MessageStore
from storage.metrics_interfaces import MetricsRepo
from storage.sync_interfaces import SyncStore


class ClientStores(Transactional, Protocol):
    """What one linked device (``daemon.client.Session``) keeps, all in one database: its
    writes through any of these repositories join one ``transaction()``."""

    @property
    def location(self) -> str:
        """Names the database (two bundles over the same one have the same location)."""
        ...

    @property
    def files_dir(self) -> Path:
        """The directory for files kept beside the database (downloaded media)."""
        ...

    @property
    def auth(self) -> AuthStore: ...
    @property
    def device_lids(self) -> DeviceLidRepo: ...
    @property
    def messages(self) -> MessageStore: ...
    @property
    def sync(self) -> SyncStore: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once the current transaction has ended (its commit durable, or
        failed), or soon outside one: wakes readers only when there is something to read."""
        ...

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once what the current task wrote so far is committed and
        durable, never if it is rolled back; soon outside a transaction."""
        ...

    def now(self) -> datetime:
        """The current time from the backend's clock (timezone-aware)."""
        ...

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside a transaction (what it writes is seen by others
        only once the outermost one commits)."""
        ...

    async def ensure_owned(self) -> None:
        """Raises LeaseLost when these stores are fenced by a lease this daemon no longer
        holds (:meth:`Stores.owned_by`); otherwise returns at once."""
        ...


class Stores(ClientStores, Pipelined, Protocol):
    """Every store of the daemon over one database, with its transaction boundary."""

    @property
    def sessions(self) -> SessionRepo: ...
    @property
    def outbox(self) -> OutboxRepo: ...
    @property
    def events(self) -> EventLogRepo: ...
    @property
    def webhooks(self) -> WebhookRepo: ...
    @property
    def api_keys(self) -> ApiKeyRepo: ...
    @property
    def metrics(self) -> MetricsRepo: ...
    @property
    def campaigns(self) -> CampaignStore: ...

    @property
    def fleet(self) -> FleetRepo | None:
        """Members and leases when daemons share this database (PostgreSQL); None when one
        daemon owns it alone (SQLite: the state lock is its fence)."""
        ...

    def owned_by(self, fence: Fence) -> Stores:
        """The same stores seen by the owner of ``fence``'s session: every transaction first
        proves the lease is still held (LeaseLost otherwise). Where there is no fleet, the
        stores themselves."""
        ...

    async def ping(self) -> float:
        """Latency of a real query in milliseconds, including any wait for a running
        transaction."""
        ...

    async def probe(self) -> float:
        """A deep health check: the database is where it was opened, a transaction can be
        taken, and a query answers; returns the query's latency in milliseconds. Raises
        StorageError (with a message for the operator) when any of it fails."""
        ...

    async def close(self) -> None:
        """Wait for a running transaction to end, then close. Idempotent."""
        ...


__all__ = ["ClientStores", "Stores"]
