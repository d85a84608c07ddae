"""Committed events handed to this daemon's followers from memory.

A follower of a session's events (an SSE or WebSocket stream) reads the log once to catch up,
then takes what this daemon commits for the session from its :class:`Feed` instead of reading
again: the event log publishes a unit's events once the commit holding them is durable (never
those of a unit rolled back: ``Stores.on_commit``). What a feed cannot vouch for is read from
the database: events another daemon of a fleet committed (the feed goes *stale* at each of their
notifications), a feed that overflowed behind a slow follower, and any gap in the sequence
numbers (an event this daemon did not publish, such as one whose unit went on after its insert
failed). So a follower sees exactly the committed events, in order, as the database has them.

A follower waits on its feed without a timer of its own: the hub looks at every feed once a
period, and a feed nothing reached for a whole period sends its follower to the database
(whatever no wake-up announced is read within two periods). One timer for all feeds, instead
of one per wait of each follower (several waits per send on a busy stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from storage.event_values import StoredEvent

__all__ = ["FEED_CAPACITY", "Feed", "FeedHub"]

FEED_CAPACITY = 1000
"""Events a feed holds for a follower that is busy; past that it reads the database again."""


class Feed:
    """One follower's events committed since it last took them (see the module docstring)."""

    __slots__ = ("_capacity", "_events", "_pushed", "_signal", "_stale")

    def __init__(self, capacity: int = FEED_CAPACITY) -> None:
        self._capacity = capacity
        self._events: list[StoredEvent] = []
        self._stale = False
        self._pushed = False
        self._signal = asyncio.Event()

    def push(self, events: Sequence[StoredEvent]) -> None:
        self._pushed = True
        if not self._stale:
            if len(self._events) + len(events) > self._capacity:
                self.mark_stale()
                return
            self._events.extend(events)
        self._signal.set()

    def mark_stale(self) -> None:
        """What is committed can no longer be told from the feed: read the database."""
        self._events = []
        self._stale = True
        self._signal.set()

    def take(self) -> list[StoredEvent] | None:
        """The events pushed since the last take, oldest first; None when the follower must
        read the database instead."""
        self._signal.clear()
        events, self._events = self._events, []
        if self._stale:
            self._stale = False
            return None
        return events

    def poll(self) -> None:
        """The hub's periodic look: a feed that nothing reached since the last one (and that
        holds nothing) sends its follower to the database."""
        if not self._pushed and not self._events:
            self.mark_stale()
        self._pushed = False

    async def wait(self) -> None:
        """Returns once something was pushed (or the feed went stale) since the last take;
        bounded by the hub's poll, which makes an idle feed stale."""
        await self._signal.wait()


class FeedHub:
    """The feeds of every session's local followers."""

    def __init__(self, poll_s: float) -> None:
        self._feeds: dict[str, set[Feed]] = {}
        self._poll_s = poll_s
        self._poller: asyncio.TimerHandle | None = None
        self._poller_loop: asyncio.AbstractEventLoop | None = None

    def subscribe(self, session_id: str) -> Feed:
        feed = Feed()
        self._feeds.setdefault(session_id, set()).add(feed)
        loop = asyncio.get_running_loop()
        if self._poller is None or self._poller_loop is not loop:
            # (A follower left behind on a loop that ended never unsubscribed: arm anew.)
            if self._poller is not None:
                self._poller.cancel()
            self._poller = loop.call_later(self._poll_s, self._poll)
            self._poller_loop = loop
        return feed

    def unsubscribe(self, session_id: str, feed: Feed) -> None:
        feeds = self._feeds.get(session_id)
        if feeds is not None:
            feeds.discard(feed)
            if not feeds:
                del self._feeds[session_id]
        if not self._feeds and self._poller is not None:
            self._poller.cancel()
            self._poller = None

    def _poll(self) -> None:
        for feeds in self._feeds.values():
            for feed in feeds:
                feed.poll()
        loop = asyncio.get_running_loop()
        self._poller = loop.call_later(self._poll_s, self._poll)
        self._poller_loop = loop

    def publish(self, session_id: str, events: Sequence[StoredEvent]) -> None:
        for feed in self._feeds.get(session_id, ()):
            feed.push(events)

    def mark_stale(self) -> None:
        for feeds in self._feeds.values():
            for feed in feeds:
                feed.mark_stale()
