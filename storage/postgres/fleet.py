"""The fleet's members and leases in PostgreSQL (:class:`~storage.fleet_interfaces.FleetRepo`).

Every time comes from the server (``NOW_MS``). Acquiring is one upsert that only wins over a
released or expired row, so two daemons racing for a session cannot both get it; the token is
bumped on every acquisition, which is what the fence (:mod:`storage.postgres.fenced`) checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from storage.fleet_interfaces import CommitWatch, Lease, Member
from storage.postgres.engine import NOW_MS, PgDatabase

if TYPE_CHECKING:
    from storage.fleet_interfaces import FleetRepo

__all__ = ["PgFleetRepo"]

HEARTBEAT = f"""
INSERT INTO fleet_members (node_id, url, started_at, heartbeat_at, expires_at, leaving)
VALUES (?1, ?2, {NOW_MS}, {NOW_MS}, {NOW_MS} + ?3, 0)
ON CONFLICT (node_id) DO UPDATE
SET url = excluded.url, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
    started_at = CASE WHEN fleet_members.expires_at <= excluded.heartbeat_at
                      THEN excluded.started_at ELSE fleet_members.started_at END
"""
MARK_LEAVING = "UPDATE fleet_members SET leaving = 1 WHERE node_id = ?"
LEAVE = "DELETE FROM fleet_members WHERE node_id = ?"
MEMBERS = f"""
SELECT node_id, url, started_at, heartbeat_at, leaving FROM fleet_members
WHERE expires_at > {NOW_MS} ORDER BY started_at, node_id
"""
ACQUIRE = f"""
INSERT INTO leases AS l (resource, owner, token, acquired_at, expires_at)
VALUES (?1, ?2, 1, {NOW_MS}, {NOW_MS} + ?3)
ON CONFLICT (resource) DO UPDATE
SET owner = excluded.owner, token = l.token + 1, acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at
WHERE l.owner IS NULL OR l.expires_at <= excluded.acquired_at
RETURNING resource, owner, token, expires_at
"""
RENEW = f"""
UPDATE leases SET expires_at = {NOW_MS} + ?3
WHERE owner = ?1 AND resource = ANY(?2::text[]) AND expires_at > {NOW_MS}
RETURNING resource, owner, token, expires_at
"""
RELEASE = f"""
UPDATE leases SET owner = NULL, expires_at = {NOW_MS}
WHERE resource = ? AND owner = ? AND token = ?
"""
LIVE = f"""
SELECT resource, owner, token, expires_at FROM leases
WHERE owner IS NOT NULL AND expires_at > {NOW_MS} ORDER BY resource
"""
SERVER_NOW = f"SELECT {NOW_MS}"
EVENTS_CHANNEL = "wamd_events"
"""Notified by every commit that appends events (migration 0004_event_log_notify)."""


def _lease(row: tuple[object, ...]) -> Lease:
    resource, owner, token, expires_at = row
    return Lease(str(resource), str(owner), int(str(token)), int(str(expires_at)))


class PgFleetRepo:
    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    async def heartbeat(self, node_id: str, url: str, ttl_ms: int) -> None:
        await self._db.execute(HEARTBEAT, (node_id, url, ttl_ms))

    async def leaving(self, node_id: str) -> None:
        await self._db.execute(MARK_LEAVING, (node_id,))

    async def leave(self, node_id: str) -> None:
        await self._db.execute(LEAVE, (node_id,))

    async def members(self) -> list[Member]:
        rows = await self._db.fetch_all(MEMBERS)
        return [
            Member(str(node), str(url), int(started), int(beat), bool(leaving))
            for node, url, started, beat, leaving in rows
        ]

    async def acquire(self, resource: str, node_id: str, ttl_ms: int) -> Lease | None:
        row = await self._db.fetch_one(ACQUIRE, (resource, node_id, ttl_ms))
        return None if row is None else _lease(row)

    async def renew(self, node_id: str, resources: Sequence[str], ttl_ms: int) -> list[Lease]:
        if not resources:
            return []
        rows = await self._db.fetch_all(RENEW, (node_id, list(resources), ttl_ms))
        return [_lease(row) for row in rows]

    async def release(self, lease: Lease) -> bool:
        changed = await self._db.execute(RELEASE, (lease.resource, lease.owner, lease.token))
        return changed == 1

    async def leases(self) -> list[Lease]:
        return [_lease(row) for row in await self._db.fetch_all(LIVE)]

    async def now_ms(self) -> int:
        row = await self._db.fetch_one(SERVER_NOW)
        return int(row[0]) if row else 0

    def watch_events(self, on_commit: Callable[[], None]) -> CommitWatch:
        return self._db.listen(EVENTS_CHANNEL, on_commit)


if TYPE_CHECKING:

    def _satisfies_fleet(repo: PgFleetRepo) -> FleetRepo:
        return repo
