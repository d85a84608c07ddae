"""What a session tells the world: typed, frozen events, and the bus that fans them out.

Every state transition is persisted before its ``StateChanged`` is published, so a subscriber
that sees an event can rely on the database agreeing. Each subscriber has its own unbounded
queue: a slow reader never makes the client wait, and never makes another reader miss events.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType

from daemon.client.call_events import CallEnded, CallOffered
from daemon.client.disconnect import Decision
from daemon.client.message_events import (
    ChatStateChanged,
    ChatUpdated,
    GroupUpdated,
    MessageReceived,
    MessageUpdated,
    PresenceChanged,
    ReceiptReceived,
    RestrictionChanged,
    Undecryptable,
)
from daemon.client.slim_queue import SlimQueue
from daemon.client.state import SessionState, Trigger
from daemon.client.sync_events import (
    AppStateRefused,
    AppStateSynced,
    ChatSettingsChanged,
    HistorySyncFailed,
    HistorySyncProgress,
    MediaDownloaded,
    MediaFailed,
)


@dataclass(frozen=True, slots=True)
class StateChanged:
    session_id: str
    from_state: SessionState
    to_state: SessionState
    trigger: Trigger
    reason: str
    """Why, in words (also stored with the transition row)."""
    at: float
    """Unix seconds of the transition, as persisted."""
    recorded: bool = False
    """True when the session's event sink wrote this change in the transaction that persisted
    the transition (so whoever forwards events to a log must not append it again)."""


@dataclass(frozen=True, slots=True)
class QrCode:
    session_id: str
    code: str
    """The string to render as a QR (``https://wa.me/settings/linked_devices#…``)."""
    index: int
    """0 for the first ref; the server sends six."""
    expires_at: float
    """Unix seconds after which this QR no longer pairs."""


@dataclass(frozen=True, slots=True)
class PairCode:
    session_id: str
    code: str
    """The code to type on the phone, shown as ``XXXX-XXXX``."""
    phone: str
    """The phone number (digits) the code was requested for."""
    expires_at: float


@dataclass(frozen=True, slots=True)
class Paired:
    session_id: str
    jid: str
    """Our device JID on the phone-number side, ``<phone>:<device>@s.whatsapp.net``."""
    lid: str | None
    platform: str | None
    """The platform name the phone gave in pair-success."""


@dataclass(frozen=True, slots=True)
class Connected:
    session_id: str
    jid: str
    lid: str | None
    server_time: float | None
    """The server's clock from ``<success t=…>``."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    session_id: str
    decision: Decision
    """The disconnect-table verdict: action, code and reason."""
    retry_in: float | None
    """Seconds until the next attempt; None when the session will not reconnect by itself."""


class AlertKind(enum.Enum):
    CLIENT_OUTDATED = "client_outdated"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    BANNED = "banned"
    AUTH_STATE = "auth_state"
    PAIRING_FAILED = "pairing_failed"
    QR_EXPIRED = "qr_expired"
    PREKEYS = "prekeys"
    RECONNECT_LOOP = "reconnect_loop"
    PASSKEY_REQUIRED = "passkey_required"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a person should know about (an operator alert, not a state change)."""

    session_id: str
    kind: AlertKind
    message: str


Event = (
    StateChanged
    | QrCode
    | PairCode
    | Paired
    | Connected
    | Disconnected
    | Alert
    | MessageReceived
    | MessageUpdated
    | ReceiptReceived
    | Undecryptable
    | ChatUpdated
    | GroupUpdated
    | PresenceChanged
    | ChatStateChanged
    | RestrictionChanged
    | HistorySyncProgress
    | HistorySyncFailed
    | AppStateSynced
    | AppStateRefused
    | ChatSettingsChanged
    | MediaDownloaded
    | MediaFailed
    | CallOffered
    | CallEnded
)


class Subscription:
    """One subscriber's view of the bus: ``async for event in sub`` or ``await sub.next()``."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._queue: SlimQueue[Event | None] = SlimQueue()
        self._closed = False
        self._accept: Callable[[Event], bool] | None = None
        self._on_put: Callable[[], None] | None = None

    def drive(
        self, on_put: Callable[[], None], accept: Callable[[Event], bool] | None = None
    ) -> None:
        """Consumed by callback instead of by a waiting task: ``on_put`` is called after each
        event is queued (only those ``accept`` lets through are), and the consumer takes them
        with :meth:`pending`. A subscriber that is idle most of the time (the daemon's copy of
        a session's connection events) then holds no task while nothing happens."""
        self._accept = accept
        self._on_put = on_put

    def _put(self, event: Event) -> None:
        if self._closed or (self._accept is not None and not self._accept(event)):
            return
        self._queue.put_nowait(event)
        if self._on_put is not None:
            self._on_put()

    async def next(self, timeout: float | None = None) -> Event:
        """The next event; raises TimeoutError after ``timeout`` seconds, StopAsyncIteration
        once the subscription or the bus is closed."""
        async with asyncio.timeout(timeout):
            event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    def empty(self) -> bool:
        return self._queue.empty()

    def pending(self) -> list[Event]:
        """Every event already queued, without waiting."""
        events: list[Event] = []
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is not None:
                events.append(event)
        return events

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._drop(self)
            self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.next()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscribers.append(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            subscription._put(event)

    def close(self) -> None:
        for subscription in list(self._subscribers):
            subscription.close()

    def _drop(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)
