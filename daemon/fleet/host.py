"""What the coordinator takes and lets go of sessions through: the session manager, plus the
outbox of a session taken over.

A session's open outbox rows may have been written while another daemon held it (accepted
there, or left unsent when that daemon died); this daemon's outbox has no worker for them until
something wakes it, so taking a session wakes its outbox. Rows the previous owner left in
``sending`` are requeued first, as a restart does for its own: whether the server got them is
unknown, so they go again under the same id. In a fleet this per-session requeue replaces the
outbox's requeue at start-up, which would take back rows another live daemon is sending.
"""

from __future__ import annotations

from typing import Protocol

import structlog

from daemon.fleet.coordinator import SessionHost
from daemon.startup_pacing import StartupRate

log = structlog.get_logger("daemon.fleet")

__all__ = ["FleetHost", "Requeue", "SendQueue"]


class SendQueue(Protocol):
    def wake(self, session_id: str) -> None: ...


class Requeue(Protocol):
    async def requeue_interrupted(self, session_id: str | None = None) -> int: ...


class FleetHost:
    """The coordinator's :class:`~daemon.fleet.coordinator.SessionHost` (see the module
    docstring)."""

    def __init__(self, sessions: SessionHost, outbox: SendQueue, rows: Requeue) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._rows = rows

    async def adopt(self, session_id: str) -> bool:
        adopted = await self._sessions.adopt(session_id)
        if adopted:
            requeued = await self._rows.requeue_interrupted(session_id)
            if requeued:
                log.warning("fleet.requeued_uncertain", session=session_id, messages=requeued)
            self._outbox.wake(session_id)
        return adopted

    async def relinquish(self, session_id: str, reason: str) -> None:
        await self._sessions.relinquish(session_id, reason)

    def retune_startup(self, rate: StartupRate) -> None:
        self._sessions.retune_startup(rate)
