"""What the manager writes down about a session: events in the event log, the statuses it
decides for a stopped client, and the time of the last status check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from daemon.event_format import EventType, iso_from_unix
from daemon.eventlog import EventLog
from daemon.session_handle import SessionHandle
from storage.errors import LeaseLost, NotFound, StorageError
from storage.stores import Stores
from storage.values import SessionStatus

log = structlog.get_logger("daemon.manager")

APPEND_ATTEMPTS = 3


class SessionRecorder:
    """``owned`` gives the stores a session's owner writes through (fenced by its lease in a
    fleet, see :meth:`storage.stores.Stores.owned_by`); by default the stores themselves."""

    def __init__(
        self,
        stores: Stores,
        events: EventLog,
        clock: Callable[[], float],
        owned: Callable[[str], Stores] | None = None,
    ) -> None:
        self._stores = stores
        self._sessions = stores.sessions
        self._events = events
        self._clock = clock
        self._owned = owned or (lambda _session_id: stores)

    async def append(self, session_id: str, event_type: EventType, data: dict[str, object]) -> None:
        """Appends an event, retrying a failing database a little before giving it up."""
        for attempt in range(APPEND_ATTEMPTS):
            try:
                async with self._owned(session_id).transaction():
                    await self._events.append(session_id, event_type, dict(data))
                return
            except LeaseLost:
                # Another daemon owns the session now: its own events tell the story.
                log.info("manager.event_fenced", session=session_id, type=event_type.value)
                return
            except StorageError as exc:
                log.warning(
                    "manager.event_append_failed",
                    session=session_id,
                    type=event_type.value,
                    attempt=attempt + 1,
                    error=str(exc),
                )
                await asyncio.sleep(0.5 * (attempt + 1))
        log.error("manager.event_lost", session=session_id, type=event_type.value)

    async def mark(
        self,
        session_id: str,
        handle: SessionHandle,
        status: SessionStatus,
        reason: str,
        *,
        error: str | None = None,
    ) -> None:
        """Records a status the manager decides (the client is stopped at this point)."""
        previous = handle.status
        try:
            async with self._owned(session_id).transaction():
                await self._sessions.update_status(session_id, status, reason, error=error)
        except NotFound:
            return
        except StorageError as exc:
            log.error("manager.status_not_saved", session=session_id, error=str(exc))
            return
        handle.override = status
        log.info(
            "manager.status",
            session=session_id,
            from_status=previous.value,
            to_status=status.value,
            reason=reason,
        )
        await self.append(
            session_id,
            EventType.CONNECTION_STATE,
            {
                "from": previous.value,
                "to": status.value,
                "trigger": "manager",
                "reason": reason,
                "at": iso_from_unix(self._clock()),
            },
        )

    async def record_check(self, session_id: str) -> None:
        with contextlib.suppress(NotFound):
            async with self._owned(session_id).transaction():
                await self._sessions.record_activity(session_id, status_check_at=self._stores.now())


__all__ = ["SessionRecorder"]
