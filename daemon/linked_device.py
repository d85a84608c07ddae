"""What the daemon asks of one session's client (``daemon.client.session.Session`` is one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from daemon.client.context import ClientCounters
from daemon.client.events import Subscription
from daemon.client.keepalive import Liveness
from daemon.client.restrictions import Restriction
from daemon.client.state import SessionState
from storage.values import DeviceCredentials


class LinkedDevice(Protocol):
    """What the manager needs of one client (``daemon.client.session.Session`` is one)."""

    @property
    def session_id(self) -> str: ...
    @property
    def state(self) -> SessionState: ...
    @property
    def credentials(self) -> DeviceCredentials | None: ...
    @property
    def running(self) -> bool: ...
    @property
    def liveness(self) -> Liveness: ...
    @property
    def counters(self) -> ClientCounters: ...
    def events(self) -> Subscription: ...
    async def connect(self) -> None: ...
    async def pair(self) -> None: ...
    async def pair_with_code(self, phone: str, timeout: float | None = None) -> str: ...
    async def disconnect(self, reason: str = ...) -> None: ...
    async def logout(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self, timeout: float) -> float: ...


SessionOpener = Callable[[str, str], Awaitable[LinkedDevice]]
"""Opens (creating when needed) the client of a session id, with a display name."""
Prober = Callable[[LinkedDevice, float], Awaitable[float]]
"""Sends a ping over the session's socket; returns the round trip in seconds or raises."""
BackOnline = Callable[[str, LinkedDevice, float], None]
"""Told when a session logs in again: its id, its client, and how long it was offline (s)."""


@runtime_checkable
class RestrictionSource(Protocol):
    """A client that knows the restrictions the service announced for its account."""

    @property
    def restrictions(self) -> list[Restriction]: ...


async def ping_probe(client: LinkedDevice, timeout: float) -> float:
    """The default prober: the client's own ``ping`` (a ``w:p`` iq over the live socket),
    which records the answer in the client's liveness."""
    return await client.ping(timeout)


__all__ = [
    "BackOnline",
    "LinkedDevice",
    "Prober",
    "RestrictionSource",
    "SessionOpener",
    "ping_probe",
]
