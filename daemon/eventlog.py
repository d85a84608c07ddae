"""The event log: every event of every session, with a stable id and a per-session sequence.

Theory of operation
-------------------
Events are rows first (ARCHITECTURE principle 5). :meth:`EventLog.append` writes one row and
joins the caller's transaction when there is one, so an event commits together with what it
reports (a received message and its ``message.received`` event, an outbox row and its status
event) or not at all. Consumers see exactly the committed events, in order, again after a
restart: the webhook dispatcher, the campaign tracker and the CLI read the table after a cursor
(a session's ``seq`` or the global ``position``); the SSE/WebSocket stream reads it to catch
up, then takes the events this daemon commits from memory once their commit is durable (never
those of a unit rolled back), and reads again only for what memory cannot vouch for: another
daemon's commits, a gap, a follower fallen too far behind (:mod:`daemon.event_feed`).

An append wakes the waiting readers once the transaction holding it has committed (and is on
disk), so a reader reads once per commit — a batch of every event the commit holds — and never
forces a commit that is still gathering units. A periodic re-read covers any wake-up that is
missed. Nothing reads the log when nobody follows it: the stream reads only while one is open,
the webhook dispatcher only while an enabled webhook exists (``daemon.webhooks``), and the
campaign tracker only while an event may move a campaign.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog

from daemon.client import events as client_events
from daemon.client import message_events
from daemon.event_feed import FeedHub
from daemon.event_format import EventType, new_event_id
from daemon.event_records import (
    EventRecord,
    from_client_event,
    from_messaging_event,
)
from storage.event_values import NewEvent, StoredEvent
from storage.message_values import ContentType
from storage.stores import Stores
from storage.webhook_values import WEBHOOK_DISPATCH_CURSOR

log = structlog.get_logger("daemon.eventlog")

FOLLOW_POLL_S = 1.0
"""A follower re-reads the log after this long without a wake-up (within two of these)."""
DISPATCH_CURSOR = WEBHOOK_DISPATCH_CURSOR


class _Notifier:
    """Wakes the followers waiting for new rows: every one, or only those that wait for the
    type appended (a campaign tracker must not wake, and force a commit with its read, for
    each message of a backlog that it has no use for)."""

    def __init__(self) -> None:
        self._waiters: dict[asyncio.Future[None], frozenset[str] | None] = {}

    def waiter(self, types: frozenset[str] | None = None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[future] = types
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: asyncio.Future[None]) -> None:
        self._waiters.pop(future, None)

    def notify(self, event_type: str) -> None:
        for future, types in list(self._waiters.items()):
            if (types is None or event_type in types) and not future.done():
                future.set_result(None)

    def wake_all(self) -> None:
        for future in list(self._waiters):
            if not future.done():
                future.set_result(None)


class EventLog:
    """Append events and follow them. One per database."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores
        self.repo = stores.events
        self._notifier = _Notifier()
        self._feeds = FeedHub(FOLLOW_POLL_S)
        self.stream_reads = 0
        """Reads of the log by :meth:`follow` (for tests and metrics)."""

    async def append(
        self, session_id: str, event_type: EventType | str, data: dict[str, Any]
    ) -> StoredEvent:
        """Append an event; inside ``stores.transaction()`` it commits with the transaction.
        ``data`` is the event's from now on: the caller hands over a dict it no longer
        changes (local followers get this very object)."""
        kind = str(event_type)
        stored = await self.repo.append(session_id, kind, data, new_event_id())
        self._stores.after_commit(functools.partial(self._notifier.notify, kind))
        self._stores.on_commit(functools.partial(self._feeds.publish, session_id, (stored,)))
        return stored

    async def append_record(self, session_id: str, record: EventRecord) -> StoredEvent:
        return await self.append(session_id, record.type, record.data)

    async def append_records(self, session_id: str, records: Sequence[EventRecord]) -> None:
        """Appends ``records`` in order, like :meth:`append_record` each, without reading the
        rows back (the receive path appends a unit's events this way)."""
        if not records:
            return
        stored = await self.repo.append_many(
            session_id, [NewEvent(str(r.type), r.data, new_event_id()) for r in records]
        )
        for kind in {str(r.type) for r in records}:
            self._stores.after_commit(functools.partial(self._notifier.notify, kind))
        self._stores.on_commit(functools.partial(self._feeds.publish, session_id, stored))

    def waiter(self, types: frozenset[str] | None = None) -> asyncio.Future[None]:
        """A future that completes at the next append (of one of ``types``, when given) once
        it is committed; register it before reading."""
        return self._notifier.waiter(types)

    def committed_elsewhere(self) -> None:
        """Another daemon of the fleet committed events: every follower reads again."""
        self._feeds.mark_stale()
        self._notifier.wake_all()

    async def read(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        types: frozenset[str] | None = None,
    ) -> list[StoredEvent]:
        return await self.repo.read_session(
            session_id, after_seq=after_seq, limit=limit, types=types
        )

    async def follow(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        types: frozenset[str] | None = None,
        batch: int = 100,
    ) -> AsyncIterator[StoredEvent]:
        """The session's events after ``after_seq``, then every new one as it commits; ends
        only when the consumer stops iterating. Reads the log to catch up, then takes this
        daemon's commits from memory (see the module docstring)."""
        cursor = after_seq
        # Subscribed before the first read: whatever commits from now on reaches the feed,
        # whatever committed before is in the read.
        feed = self._feeds.subscribe(session_id)
        try:
            read = True
            while True:
                end = 0
                if read:
                    feed.take()  # committed before this read: the read has it
                    self.stream_reads += 1
                    if types is not None:
                        # Only the wanted rows are read (a client resuming a filtered stream
                        # must not decode every other event); once the read is complete the
                        # cursor passes the log's end as it was before it, since whatever
                        # commits later reaches the feed.
                        end = await self.repo.last_seq(session_id)
                    events = await self.read(session_id, after_seq=cursor, limit=batch, types=types)
                    read = len(events) >= batch
                    if read:
                        end = 0
                else:
                    taken = feed.take()
                    if taken is None:
                        read = True
                        continue
                    events = []
                    for event in taken:
                        if event.seq <= cursor:
                            continue  # also in the read that caught up
                        if event.seq != cursor + 1 + len(events):
                            read = True  # a gap only the log can fill
                            break
                        events.append(event)
                for event in events:
                    cursor = event.seq
                    if types is None or event.type in types:
                        yield event
                cursor = max(cursor, end)
                if read:
                    continue
                # Bounded by the hub's poll: an idle feed goes stale, and the log is read
                # for what no wake-up announced (a notification missed).
                await feed.wait()
        finally:
            self._feeds.unsubscribe(session_id, feed)

    async def prune(self, retention: timedelta) -> int:
        """Delete old events that nothing needs any more."""
        cursor = await self.repo.dispatch_horizon(DISPATCH_CURSOR)
        removed = await self.repo.prune(self._stores.now() - retention, up_to_position=cursor)
        if removed:
            log.info("eventlog.pruned", events=removed)
        return removed


class EventLogSink:
    """The daemon's :class:`~daemon.client.sinks.EventSink`: messaging events become event-log
    rows inside the client's persist-before-ack transaction. Beside each row it keeps what the
    daemon derives from the event in the same transaction: a received message moves the
    session's ``last_message_at``. (Receipts need nothing here: a sent message's status lives
    in its message row only, which the outbox reads.)"""

    def __init__(
        self,
        log: EventLog,
        stores: Stores,
        *,
        on_inbound: Callable[[str, float], None] = lambda _session, _at: None,
    ) -> None:
        self._log = log
        self._sessions = stores.sessions
        self._on_inbound = on_inbound

    async def record(
        self, session_id: str, events: Sequence[message_events.MessagingEvent]
    ) -> None:
        records: list[EventRecord] = []
        for event in events:
            if (
                isinstance(event, message_events.MessageReceived)
                and event.message.content_type is ContentType.PROTOCOL
            ):
                # A protocol message between our own devices (history notification, key
                # share) is handled by the client, not a message anyone received.
                continue
            records.append(from_messaging_event(event))
            if isinstance(event, message_events.MessageReceived) and not event.message.from_me:
                at = event.message.sent_at
                await self._sessions.record_activity(session_id, message_at=at)
                self._on_inbound(session_id, at.timestamp())
        await self._log.append_records(session_id, records)

    async def record_state(self, change: client_events.StateChanged) -> bool:
        await self._log.append_record(change.session_id, from_client_event(change))
        return True


__all__ = [
    "DISPATCH_CURSOR",
    "FOLLOW_POLL_S",
    "EventLog",
    "EventLogSink",
]
