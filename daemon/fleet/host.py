"""What the coordinator takes and lets go of sessions through: the session manager, plus the
outbox of a session taken over.

A session's open outbox rows may have been written while another daemon held it (accepted
there, or left unsent when that daemon died); this daemon's outbox has no worker for them until
something wakes it, so taking a session wakes its outbox.
"""

from __future__ import annotations

from typing import Protocol

from daemon.fleet.coordinator import SessionHost
from daemon.startup_pacing import StartupRate

__all__ = ["FleetHost", "SendQueue"]


class SendQueue(Protocol):
    def wake(self, session_id: str) -> None: ...


class FleetHost:
    """The coordinator's :class:`~daemon.fleet.coordinator.SessionHost` (see the module
    docstring)."""

    def __init__(self, sessions: SessionHost, outbox: SendQueue) -> None:
        self._sessions = sessions
        self._outbox = outbox

    async def adopt(self, session_id: str) -> bool:
        adopted = await self._sessions.adopt(session_id)
        if adopted:
            self._outbox.wake(session_id)
        return adopted

    async def relinquish(self, session_id: str, reason: str) -> None:
        await self._sessions.relinquish(session_id, reason)

    def retune_startup(self, rate: StartupRate) -> None:
        self._sessions.retune_startup(rate)
