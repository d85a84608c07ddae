"""What the manager keeps in memory beside one session's client, and how a session is shown.

The :class:`SessionHandle` holds the client, the stored row as last read, the status the
manager recorded for a stopped client, the current QR and the times of recent automatic
recoveries; :func:`session_view` turns it into the :class:`SessionView` the API shows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from daemon.client.events import QrCode
from daemon.client.keepalive import Liveness
from daemon.client.restrictions import Restriction
from daemon.client.state import SessionState
from daemon.linked_device import LinkedDevice, RestrictionSource
from storage.values import DeviceCredentials, SessionRow, SessionStatus

if TYPE_CHECKING:
    from daemon.session_events import EventForwarder

HOUR_S = 3600.0
# Client states of a session whose start-up retries ran out and whose client keeps retrying
# under its own backoff: to an operator it stays ``disconnected`` until it connects.
RETRYING_STATES = frozenset({SessionState.CONNECTING, SessionState.BACKING_OFF})


@dataclass(slots=True)
class SessionHandle:
    client: LinkedDevice
    row: SessionRow
    """The stored row as last read (for answers when the database cannot be asked)."""
    auto_connect: bool
    active: bool
    override: SessionStatus | None = None
    """A status the manager recorded for a stopped client (``disconnected``,
    ``needs_attention``); it stands while the client stays stopped."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    forwarder: EventForwarder | None = None
    startup: asyncio.Task[None] | None = None
    qr: QrCode | None = None
    recoveries: list[float] = field(default_factory=list)
    """Oldest first; a few at most (a list: a deque is 760 bytes even when empty)."""
    last_probe_at: float = 0.0
    last_inbound_message_at: float | None = None
    recovering: bool = False
    offline_since: float | None = None
    """When the session last stopped being connected (None while connected or unknown)."""

    @property
    def status(self) -> SessionStatus:
        """The client's own state (always current, set before it publishes), unless the
        manager recorded a status for the stopped client, or recorded ``disconnected`` for a
        client that keeps retrying on its own."""
        if self._override_stands():
            assert self.override is not None
            return self.override
        return SessionStatus(self.client.state.value)

    def _override_stands(self) -> bool:
        state = self.client.state
        if self.override is None:
            return False
        if state is SessionState.STOPPED:
            return True
        return self.override is SessionStatus.DISCONNECTED and state in RETRYING_STATES

    def settle_override(self) -> None:
        """Drops the manager's status once the client moved past it."""
        if not self._override_stands():
            self.override = None

    @property
    def paired(self) -> bool:
        credentials = self.client.credentials
        return credentials is not None and credentials.is_paired

    def forget_old_recoveries(self, now: float) -> None:
        """Drops the recoveries older than an hour (the limit counts a sliding hour)."""
        while self.recoveries and now - self.recoveries[0] >= HOUR_S:
            del self.recoveries[0]


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as the API shows it: the stored row and the live evidence."""

    row: SessionRow
    status: SessionStatus
    phone_number: str | None
    jid: str | None
    lid: str | None
    socket_alive: bool
    liveness: Liveness
    recoveries_last_hour: int
    restrictions: tuple[Restriction, ...] = ()
    """Reachout time-lock / message cap as the service last announced them."""
    served_by: str | None = None
    """In a fleet: the daemon holding the session (None: no fleet, or nobody holds it)."""


@dataclass(frozen=True, slots=True)
class SessionCounts:
    total: int
    connected: int
    connecting: int
    disconnected: int


def phone_of(credentials: DeviceCredentials | None) -> str | None:
    if credentials is None or credentials.pn_jid is None:
        return None
    return credentials.pn_jid.split("@", 1)[0].split(":", 1)[0].split(".", 1)[0]


def session_view(
    handle: SessionHandle, row: SessionRow, now: float, socket_alive: bool
) -> SessionView:
    credentials = handle.client.credentials
    handle.forget_old_recoveries(now)
    return SessionView(
        row=row,
        status=handle.status,
        phone_number=phone_of(credentials),
        jid=None if credentials is None else credentials.pn_jid,
        lid=None if credentials is None else credentials.lid_jid,
        socket_alive=socket_alive,
        liveness=handle.client.liveness,
        recoveries_last_hour=len(handle.recoveries),
        restrictions=tuple(client.restrictions)
        if isinstance(client := handle.client, RestrictionSource)
        else (),
    )


async def drain_forwarder(handle: SessionHandle) -> None:
    """Lets the forwarder write the events a closed client published last, then makes sure
    it is gone."""
    if handle.forwarder is not None:
        await handle.forwarder.drain()


__all__ = [
    "HOUR_S",
    "SessionCounts",
    "SessionHandle",
    "SessionView",
    "drain_forwarder",
    "phone_of",
    "session_view",
]
