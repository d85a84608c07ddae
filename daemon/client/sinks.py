"""Where messaging events and connection-state changes are made durable: the seam between the
client and the daemon's event log (ARCHITECTURE principles 2, 3 and 5).

The client calls :meth:`EventSink.record` **inside** the storage transaction that commits the
rows the events describe (a received message, its advanced Signal state and its chat preview;
a receipt's status change; ...). An implementation writes its own rows through a repository on
the same database, so they join that transaction: either the message and its event row are both
committed, or neither is. Only after the commit is the stanza acknowledged to the server and the
event published on the session's in-memory bus. ``record`` must not commit, must not start its
own task, and must not wait on anything but the database.

A state transition works the same way: the session row, its transition row and the
``connection.state`` event row commit together (:meth:`EventSink.record_state`), so a crash can
lose neither the change nor its event without the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from daemon.client.events import StateChanged
from daemon.client.message_events import MessagingEvent


class EventSink(Protocol):
    async def record(self, session_id: str, events: Sequence[MessagingEvent]) -> None:
        """Writes ``events`` inside the caller's open transaction (raising rolls it back)."""
        ...

    async def record_state(self, change: StateChanged) -> bool:
        """Writes ``change`` inside the caller's open transaction (the one persisting the
        transition); True when it was written, False when this sink keeps no log."""
        ...


class NoEventSink:
    """The sink of a client used as a library without a durable event log."""

    async def record(self, session_id: str, events: Sequence[MessagingEvent]) -> None:
        return None

    async def record_state(self, change: StateChanged) -> bool:
        return False
