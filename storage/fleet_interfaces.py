"""The fleet port: daemons sharing one PostgreSQL database, and the leases that say which one
owns a session.

Times are the database server's clock (epoch milliseconds), never a daemon's: two hosts whose
clocks disagree still agree on who holds a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Member:
    """A daemon that has announced itself recently."""

    node_id: str
    url: str
    """Where its HTTP API answers, for requests another daemon hands over to it."""
    started_at_ms: int
    heartbeat_at_ms: int
    leaving: bool


@dataclass(frozen=True, slots=True)
class Lease:
    """``owner`` may act for ``resource`` (a session id or ``role:<name>``) until
    ``expires_at_ms``; ``token`` grows with every change of owner (the fencing token)."""

    resource: str
    owner: str
    token: int
    expires_at_ms: int


class CommitWatch(Protocol):
    """A running watch (:meth:`FleetRepo.watch_events`)."""

    async def close(self) -> None: ...


class FleetRepo(Protocol):
    async def heartbeat(self, node_id: str, url: str, ttl_ms: int) -> None:
        """Announces ``node_id`` (alive for ``ttl_ms`` more), creating its member row."""
        ...

    async def leaving(self, node_id: str) -> None:
        """Marks the daemon as stopping: others stop counting it in their share."""
        ...

    async def leave(self, node_id: str) -> None:
        """Removes the daemon's member row (a graceful stop)."""
        ...

    async def members(self) -> list[Member]:
        """Daemons whose heartbeat has not expired, oldest first."""
        ...

    async def acquire(self, resource: str, node_id: str, ttl_ms: int) -> Lease | None:
        """Takes ``resource`` if nobody holds it (or its lease expired), with the next token;
        None if another daemon (or this one) holds it."""
        ...

    async def renew(self, node_id: str, resources: Sequence[str], ttl_ms: int) -> list[Lease]:
        """Extends those of ``resources`` this daemon still holds, unexpired; returns them.
        A lease missing from the answer is lost: another daemon may hold it now."""
        ...

    async def release(self, lease: Lease) -> bool:
        """Gives ``lease`` back (only while it is still that lease); whether it was."""
        ...

    async def leases(self) -> list[Lease]:
        """Every unexpired lease."""
        ...

    async def now_ms(self) -> int:
        """The database server's clock."""
        ...

    def watch_events(self, on_commit: Callable[[], None]) -> CommitWatch:
        """Calls ``on_commit`` soon after any daemon commits rows to the event log (each
        daemon wakes its own followers after its own commits; this is how they learn of the
        others'), and once more whenever the watch reconnects."""
        ...


__all__ = ["CommitWatch", "FleetRepo", "Lease", "Member"]
