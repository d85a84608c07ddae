"""The daemon's copy of one session's connection events: into the event log, onto its handle.

Messaging events, and state changes the client's sink recorded, are already in the log (the sink
wrote them in the transaction that committed them); the rest (QR codes, pairing, connects and
disconnects, alerts, sync progress) are appended here, and the handle's QR, offline time and
status override follow them.

A session is idle nearly all the time, so the forwarder holds no task while nothing happens:
the subscription calls it when an event is queued (messaging events are not even queued), and a
task runs only until what was queued is written. One runs at a time, so events are written in
the order they were published. A write that fails is logged and the next event still goes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from daemon.client.events import (
    Alert,
    Connected,
    Disconnected,
    Event,
    PairCode,
    Paired,
    QrCode,
    StateChanged,
    Subscription,
)
from daemon.client.state import SessionState
from daemon.event_records import MESSAGING_EVENTS, SYNC_EVENTS, from_client_event, from_sync_event
from daemon.session_handle import SessionHandle
from daemon.session_records import SessionRecorder

log = structlog.get_logger("daemon.manager")

DRAIN_S = 2.0
"""How long a closing session's last events get to be written."""


def _kept(event: Event) -> bool:
    return not isinstance(event, MESSAGING_EVENTS)


class EventForwarder:
    def __init__(
        self,
        session_id: str,
        handle: SessionHandle,
        events: Subscription,
        record: SessionRecorder,
        back_online: Callable[[str, SessionHandle], None],
    ) -> None:
        self._session_id = session_id
        self._handle = handle
        self._events = events
        self._record = record
        self._back_online = back_online
        self._task: asyncio.Task[None] | None = None
        events.drive(self._wake, accept=_kept)

    def _wake(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"wamd-events-{self._session_id}"
            )
            self._task.add_done_callback(self._finished)

    async def _run(self) -> None:
        try:
            while events := self._events.pending():
                for event in events:
                    await self._forward(event)
        finally:
            # Cleared before the task ends (no await after the last look at the queue), so an
            # event published from here on starts a new task.
            self._task = None

    def _finished(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            log.error("manager.event_forward_failed", session=self._session_id, error=repr(error))
            if not self._events.empty():
                self._wake()

    async def drain(self) -> None:
        """Lets the task write what a closed client published last, then makes sure it is
        gone, and stops listening."""
        task = self._task
        self._events.close()
        if task is None:
            return
        try:
            async with asyncio.timeout(DRAIN_S):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def _forward(self, event: Event) -> None:
        session_id, handle = self._session_id, self._handle
        if isinstance(event, MESSAGING_EVENTS):
            return  # not queued (``_kept``); the sink wrote them
        if isinstance(event, SYNC_EVENTS):
            synced = from_sync_event(event)
            if synced is not None:
                await self._record.append(session_id, synced.type, synced.data)
            return
        if isinstance(event, StateChanged):
            # The client's own state is the truth; a queued event from before the manager
            # recorded its status must not undo that status.
            handle.settle_override()
            if event.to_state is not SessionState.PAIRING:
                handle.qr = None
        elif isinstance(event, QrCode):
            handle.qr = event
        elif isinstance(event, Paired | Connected):
            handle.qr = None
        if isinstance(event, StateChanged) and event.from_state is SessionState.CONNECTED:
            handle.offline_since = event.at
        if isinstance(event, Connected):
            self._back_online(session_id, handle)
        if isinstance(event, Alert | Disconnected | PairCode):
            log.info("manager.client_event", session=session_id, kind=type(event).__name__)
        if isinstance(event, StateChanged) and event.recorded:
            return  # the client's sink wrote it with the transition itself
        record = from_client_event(event)
        await self._record.append(session_id, record.type, record.data)


__all__ = ["EventForwarder"]
