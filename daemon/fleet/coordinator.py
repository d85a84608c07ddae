"""This daemon's part in a fleet: its heartbeat, the leases of the sessions it owns, and its
share of the sessions.

Theory of operation
-------------------
Every ``heartbeat_s`` a round runs: renew this daemon's leases (a lease missing from the
answer was lost — this daemon was paused or cut off past its expiry and another may hold the
session — so the session is let go at once, writing nothing), announce the daemon, read the
members and the live leases, and follow :func:`~daemon.fleet.plan.plan_share`: hand back what
is above the share, take unowned sessions up to it. A taken session is opened with stores
fenced by its lease (:meth:`storage.stores.Stores.owned_by`): if the lease is lost between two
rounds, the session's next transaction fails before it writes, and its socket is closed by the
next round.

A daemon that dies stops renewing: its leases expire ``lease_ttl_s`` after its last round and
the others take its sessions in their next rounds. A graceful stop marks the daemon leaving
(the others stop counting it), closes its sessions, then releases their leases so they move
without waiting for an expiry.

Roles (:mod:`daemon.fleet.roles`) ride the same rounds: a wanted role nobody holds is
acquired, its work started with stores fenced by the role's lease; a role whose lease is not
renewed — or that no round could renew for a whole lease time — is stopped at once. A daemon
that is leaving stops its roles and releases them first, so another daemon takes them over
in its next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from daemon.config import Config
from daemon.fleet.plan import plan_share
from daemon.fleet.roles import RoleWork, is_role, role_name, role_resource
from daemon.startup_pacing import StartupRate, configured_rate
from storage.engine import Fence
from storage.errors import StorageError
from storage.fleet_interfaces import FleetRepo, Lease, Member
from storage.stores import Stores
from storage.values import SessionRow, SessionStatus

log = structlog.get_logger("daemon.fleet")

__all__ = [
    "FleetCoordinator",
    "FleetView",
    "Route",
    "SessionHost",
    "node_name",
    "wanted_sessions",
]

# Sessions no daemon connects by itself: a person must act first (pairing, a replaced or
# banned account), as in the manager's own start-up.
NOT_TAKEN = frozenset(
    {
        SessionStatus.NEW,
        SessionStatus.PAIRING,
        SessionStatus.LOGGED_OUT,
        SessionStatus.REPLACED,
        SessionStatus.BANNED,
        SessionStatus.NEEDS_ATTENTION,
        SessionStatus.PASSKEY_REQUIRED,
    }
)


class SessionHost(Protocol):
    """What the coordinator needs from the session manager."""

    async def adopt(self, session_id: str) -> bool: ...

    async def relinquish(self, session_id: str, reason: str) -> None: ...

    def retune_startup(self, rate: StartupRate) -> None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """Where to serve a request about one session: ``local``, or the owner's ``url`` (None
    while the owner is unknown: answer 503, retry shortly)."""

    local: bool
    url: str | None


@dataclass(frozen=True, slots=True)
class FleetView:
    """The fleet as this daemon last saw it (for /health)."""

    node_id: str
    members: tuple[Member, ...]
    owners: dict[str, str]
    mine: int
    share: int
    last_round_at: float | None
    roles: dict[str, str] = field(default_factory=dict)
    """Role name -> the daemon holding it."""

    @property
    def sessions(self) -> dict[str, str]:
        """Session id -> its owner (the leases that are not roles)."""
        return {res: owner for res, owner in self.owners.items() if not is_role(res)}

    def count_of(self, node_id: str) -> int:
        return sum(1 for owner in self.sessions.values() if owner == node_id)


def node_name(config: Config, port: int) -> str:
    return config.fleet.node_id or f"{socket.gethostname()}:{port}"


def wanted_sessions(rows: Iterable[SessionRow]) -> list[str]:
    """Sessions that should be connected by some daemon, in a stable order."""
    return sorted(
        row.id
        for row in rows
        if row.active
        and row.auto_connect
        and row.status not in NOT_TAKEN
        and row.last_connected_at is not None
    )


class FleetCoordinator:
    def __init__(
        self,
        stores: Stores,
        fleet: FleetRepo,
        config: Config,
        node_id: str,
        url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stores = stores
        self._fleet = fleet
        self._config = config.fleet
        self._rate = configured_rate(config.manager)
        self._takers = 0
        self.node_id = node_id
        self.url = url
        self._clock = clock
        self._leases: dict[str, Lease] = {}
        self._views: dict[str, Stores] = {}
        self._host: SessionHost | None = None
        self._task: asyncio.Task[None] | None = None
        self._view = FleetView(node_id, (), {}, 0, 0, None)
        self._failures = 0
        self._claiming = asyncio.Lock()
        self._roles: dict[str, RoleWork] = {}
        self._role_leases: dict[str, Lease] = {}
        self._role_until: dict[str, float] = {}
        """Role resource -> until when (monotonic) its lease surely holds: the start of the
        acquisition or renewal that returned it, plus the lease time."""

    @property
    def ttl_ms(self) -> int:
        return int(self._config.lease_ttl_s * 1000)

    def bind(self, host: SessionHost) -> None:
        self._host = host

    def want_role(self, name: str, work: RoleWork) -> None:
        """Run ``work`` whenever this daemon holds the role ``name`` (see the module
        docstring); call before :meth:`start`."""
        self._roles[role_resource(name)] = work

    def holds_role(self, name: str) -> bool:
        """Whether this daemon holds the role now, by its own clock: false once a lease time
        has passed since the last renewal that returned it, even before a round notices
        (a daemon that was paused checks this before acting on the role)."""
        resource = role_resource(name)
        until = self._role_until.get(resource)
        return resource in self._role_leases and until is not None and time.monotonic() < until

    def owned(self, session_id: str) -> Stores:
        """The stores a session's owner writes through: fenced by its lease while this daemon
        holds one, else the plain stores (a session nobody owns yet)."""
        return self._views.get(session_id, self._stores)

    def fence(self, session_id: str) -> Fence | None:
        lease = self._leases.get(session_id)
        return None if lease is None else Fence(lease.resource, lease.owner, lease.token)

    def owns(self, session_id: str) -> bool:
        return session_id in self._leases

    def lease(self, session_id: str) -> Lease | None:
        """The lease this daemon holds on the session (None: it holds none)."""
        return self._leases.get(session_id)

    @property
    def view(self) -> FleetView:
        return self._view

    @property
    def failure(self) -> str | None:
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                return f"fleet coordinator died: {exc!r}"
        return None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="wamd-fleet")

    async def _loop(self) -> None:
        interval = self._config.heartbeat_s
        while True:
            started = time.monotonic()
            try:
                await self.round()
                self._failures = 0
            except (StorageError, TimeoutError) as exc:
                self._failures += 1
                log.warning("fleet.round_failed", error=repr(exc), failures=self._failures)
                await self._expire_roles()
            await asyncio.sleep(max(0.05, interval - (time.monotonic() - started)))

    async def stop(self) -> None:
        """Leaves the fleet: no more rounds, leases released (call after the sessions are
        closed, so their last writes still pass the fence)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drop_roles("daemon stopping")
        for lease in list(self._leases.values()):
            with contextlib.suppress(StorageError):
                await self._fleet.release(lease)
        self._leases.clear()
        self._views.clear()
        with contextlib.suppress(StorageError):
            await self._fleet.leave(self.node_id)
        log.info("fleet.left", node=self.node_id)

    async def leaving(self) -> None:
        """Tells the others this daemon is stopping (they stop counting it in the share)."""
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._task = None
        await self._drop_roles("daemon stopping")
        with contextlib.suppress(StorageError):
            await self._fleet.leaving(self.node_id)

    # ------------------------------------------------------------------ routing

    async def route(self, session_id: str) -> Route:
        """Where a request about ``session_id`` is served: here when this daemon owns it (or
        takes it now, nobody owning it), else by its owner's API. A session that does not
        exist is served here (the handler answers 404)."""
        if session_id in self._leases:
            return Route(True, None)
        owners = {lease.resource: lease.owner for lease in await self._fleet.leases()}
        owner = owners.get(session_id)
        if owner is None:
            row = await self._stores.sessions.get(session_id)
            if row is None:
                return Route(True, None)
            if wanted_sessions([row]):
                # A session the fleet connects by itself (its owner died a moment ago): the
                # next round places it by the shares; meanwhile the caller retries.
                return Route(False, None)
            if await self.claim(session_id):
                return Route(True, None)
            owners = {lease.resource: lease.owner for lease in await self._fleet.leases()}
            owner = owners.get(session_id)
        if owner == self.node_id:
            # This daemon holds the lease: it is opening the session right now (let it finish)
            # or letting it go (the request waits for its next owner).
            async with self._claiming:
                pass
            return Route(session_id in self._leases, None)
        if owner is None:
            return Route(False, None)
        members = {member.node_id: member for member in await self._fleet.members()}
        member = members.get(owner)
        if member is None:
            return Route(False, None)  # its owner is gone; its lease expires soon
        return Route(False, member.url)

    async def claim(self, session_id: str) -> bool:
        """Takes a session nobody owns because someone asked for it here (a new session
        to pair, a session no daemon wanted yet); False if another daemon holds it."""
        host = self._host
        if host is None:
            return False
        if session_id in self._leases:
            return True
        async with self._claiming:
            await self._take(host, session_id)
        return session_id in self._leases

    # ------------------------------------------------------------------ one round

    async def round(self) -> None:
        host = self._host
        if host is None:
            raise RuntimeError("FleetCoordinator.bind() was not called")
        started = time.monotonic()
        # Renewing comes first and is bounded: leases must not lapse behind slow work.
        async with asyncio.timeout(self._config.lease_ttl_s / 3):
            await self._renew(host)
        await self._fleet.heartbeat(self.node_id, self.url, self.ttl_ms)
        members = await self._fleet.members()
        takers = [m.node_id for m in members if not m.leaving]
        if len(takers) != self._takers and takers:
            # The fleet connects at the configured rate in total: each daemon its share.
            self._takers = len(takers)
            host.retune_startup(self._rate.share(self._takers))
        owners = {lease.resource: lease.owner for lease in await self._fleet.leases()}
        wanted = wanted_sessions(await self._stores.sessions.list_all())
        plan = plan_share(
            self.node_id,
            takers,
            wanted,
            owners,
            slack=self._config.slack,
            max_handoffs=self._config.handoffs_per_round,
        )
        for session_id in plan.hand_back:
            await self._hand_back(host, session_id)
        for session_id in plan.take:
            # Opening sessions is never cut short (a half-opened session is worse than a slow
            # round); the rest waits for the next round once a third of a lease has passed.
            if time.monotonic() - started > self._config.lease_ttl_s / 3:
                break
            async with self._claiming:
                await self._take(host, session_id)
        for resource in self._roles:
            if resource not in self._role_leases and resource not in owners:
                await self._take_role(resource)
        owners.update({session_id: self.node_id for session_id in self._leases})
        owners.update({resource: self.node_id for resource in self._role_leases})
        roles = {role_name(res): owner for res, owner in owners.items() if is_role(res)}
        self._view = FleetView(
            self.node_id,
            tuple(members),
            owners,
            len(self._leases),
            plan.share,
            self._clock(),
            roles,
        )

    async def _renew(self, host: SessionHost) -> None:
        started = time.monotonic()
        asked = [*self._leases, *self._role_leases]
        if not asked:
            return
        renewed = await self._fleet.renew(self.node_id, asked, self.ttl_ms)
        kept = {lease.resource for lease in renewed}
        # Only what was asked can be lost: a session claimed meanwhile is not in the answer,
        # and a lease let go meanwhile is not put back.
        lost = [resource for resource in asked if resource not in kept]
        for resource in [r for r in lost if r in self._role_leases]:
            log.warning("fleet.role_lost", role=role_name(resource), node=self.node_id)
            self._role_leases.pop(resource, None)
            await self._stop_role(resource)
        for session_id in [s for s in lost if s in self._leases]:
            log.warning("fleet.lease_lost", session=session_id, node=self.node_id)
            await self._forget(host, session_id, "lease lost")
        for lease in renewed:
            if lease.resource in self._role_leases:
                self._role_leases[lease.resource] = lease
                self._role_until[lease.resource] = started + self._config.lease_ttl_s
            elif lease.resource in self._leases:
                self._leases[lease.resource] = lease

    # ------------------------------------------------------------------ roles

    async def _take_role(self, resource: str) -> None:
        started = time.monotonic()
        lease = await self._fleet.acquire(resource, self.node_id, self.ttl_ms)
        if lease is None:
            return  # another daemon was quicker
        self._role_leases[resource] = lease
        self._role_until[resource] = started + self._config.lease_ttl_s
        fenced = self._stores.owned_by(Fence(lease.resource, lease.owner, lease.token))
        name = role_name(resource)
        try:
            await self._roles[resource].take_role(fenced, lambda: self.holds_role(name))
        except Exception:
            log.exception("fleet.role_start_failed", role=role_name(resource))
            self._role_leases.pop(resource, None)
            await self._stop_role(resource)
            with contextlib.suppress(StorageError):
                await self._fleet.release(lease)
            return
        log.info("fleet.role_taken", role=role_name(resource), token=lease.token)

    async def _stop_role(self, resource: str) -> None:
        try:
            await self._roles[resource].drop_role()
        except Exception:
            log.exception("fleet.role_stop_failed", role=role_name(resource))

    async def _expire_roles(self) -> None:
        """After failed rounds: a role none could renew for a whole lease time has expired
        in the database (another daemon may hold it now), so its work stops here."""
        for resource in list(self._role_leases):
            if self.holds_role(role_name(resource)):
                continue
            log.warning("fleet.role_expired", role=role_name(resource), node=self.node_id)
            self._role_leases.pop(resource, None)
            await self._stop_role(resource)

    async def _drop_roles(self, reason: str) -> None:
        """Stops every role's work, then gives its lease back for another daemon to take."""
        for resource, lease in list(self._role_leases.items()):
            self._role_leases.pop(resource, None)
            await self._stop_role(resource)
            with contextlib.suppress(StorageError):
                await self._fleet.release(lease)
            log.info("fleet.role_released", role=role_name(resource), reason=reason)

    async def _take(self, host: SessionHost, session_id: str) -> None:
        if session_id in self._leases:
            return
        lease = await self._fleet.acquire(session_id, self.node_id, self.ttl_ms)
        if lease is None:
            # Another daemon was quicker, or this one already holds it (a take that failed
            # half-way): then the renewal hands the lease back.
            mine = await self._fleet.renew(self.node_id, [session_id], self.ttl_ms)
            if not mine:
                return
            lease = mine[0]
        # The fenced stores exist before the session opens (it opens through them); the
        # lease counts as this daemon's once the session is open, so a request is never
        # routed here to a session the manager does not have yet.
        self._views[session_id] = self._stores.owned_by(
            Fence(lease.resource, lease.owner, lease.token)
        )
        try:
            adopted = await host.adopt(session_id)
        except Exception:
            log.exception("fleet.adopt_failed", session=session_id)
            adopted = False
        if not adopted:
            await self._forget(host, session_id, "could not be opened")
            with contextlib.suppress(StorageError):
                await self._fleet.release(lease)
            return
        self._leases[session_id] = lease
        log.info("fleet.session_taken", session=session_id, token=lease.token)

    async def _hand_back(self, host: SessionHost, session_id: str) -> None:
        lease = self._leases.pop(session_id, None)
        if lease is None:
            return
        # Not routed here any more (requests wait for the next owner), then closed, then free.
        await host.relinquish(session_id, "handed back to even out the fleet")
        self._views.pop(session_id, None)
        await self._fleet.release(lease)
        log.info("fleet.session_handed_back", session=session_id)

    async def _forget(self, host: SessionHost, session_id: str, reason: str) -> None:
        self._leases.pop(session_id, None)
        self._views.pop(session_id, None)
        await host.relinquish(session_id, reason)
