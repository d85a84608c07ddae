"""Health: status derived from evidence, never from a flag.

* ``error``: the database cannot be written (a write-lock probe fails or times out, or the file
  the daemon opened is gone from its path), or a critical component has died;
* ``degraded``: running, but some session that should be connected (active, auto-connect, with a
  paired identity) is not;
* ``ok``: everything that should be connected is, and the database answers.

The database probe is :meth:`storage.stores.Stores.probe`: on SQLite it checks the file is still
the one opened, runs ``BEGIN IMMEDIATE; COMMIT`` (the write lock is what persist-before-ack needs,
and another process holding it is what makes the daemon unable to work) and then a query, whose
time is reported as ``latencyMs``; on PostgreSQL it runs a write transaction and a query on
the server. A probe that hangs is
abandoned after the timeout (it keeps running in the background, one at a time).
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass

from daemon.manager import SessionManager
from storage.errors import StorageError
from storage.stores import Stores


class HealthStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    connected: bool
    latency_ms: float | None
    error: str | None = None


def derive_status(
    database: DatabaseHealth, all_connected: bool, critical: str | None
) -> HealthStatus:
    if not database.connected or critical is not None:
        return HealthStatus.ERROR
    return HealthStatus.OK if all_connected else HealthStatus.DEGRADED


class HealthChecker:
    def __init__(self, stores: Stores, manager: SessionManager, *, timeout: float) -> None:
        self._stores = stores
        self._manager = manager
        self._timeout = timeout
        self._started = time.monotonic()
        self._probe: asyncio.Task[DatabaseHealth] | None = None
        self.critical: str | None = None
        """Set when a component the daemon cannot run without has failed."""

    @property
    def uptime(self) -> float:
        return round(time.monotonic() - self._started, 3)

    async def database(self) -> DatabaseHealth:
        """Probes the database (at most one probe runs at a time)."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._run_probe(), name="wamd-health-db")
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(self._probe)
        except TimeoutError:
            return DatabaseHealth(False, None, f"no answer within {self._timeout:g} s")

    async def _run_probe(self) -> DatabaseHealth:
        try:
            latency = await self._stores.probe()
        except StorageError as exc:
            return DatabaseHealth(False, None, str(exc))
        return DatabaseHealth(True, round(latency, 3))

    async def status(self) -> tuple[HealthStatus, DatabaseHealth]:
        database = await self.database()
        status = derive_status(database, self._manager.all_expected_connected(), self.critical)
        return status, database


__all__ = ["DatabaseHealth", "HealthChecker", "HealthStatus", "derive_status"]
