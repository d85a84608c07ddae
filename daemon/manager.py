"""Many sessions in one process: start-up auto-connect, commands, recovery, shutdown.

Theory of operation
-------------------
The manager opens one client (:class:`~daemon.client.session.Session`) per stored session and
keeps a :class:`~daemon.session_handle.SessionHandle` beside it: what copies the client's
events into the event log (:mod:`daemon.session_events`; a task only while there are some),
the status the session shows (mirrored from those events, so ``/health`` never needs a query),
the current QR, and the times of recent automatic recoveries.

*Start-up.* Every active session that has a paired identity and ``auto_connect`` is connected,
each under the retry schedule of :mod:`daemon.session_startup` (5, 15, 45 s, then the client's
own backoff; a terminal answer ends it at once). Every attempt waits its turn at one
:class:`~daemon.startup_gate.StartupGate`: a burst at once, then ``startup_connects_per_s``
with jitter, at most ``startup_max_concurrent`` under way (:mod:`daemon.startup_pacing`).
:meth:`SessionManager.start_sessions` and :meth:`SessionManager.retune_startup` are what a
fleet daemon uses to start the sessions it takes over at its share of the rate.

*Recovery.* :mod:`daemon.session_recovery` checks every connected session against evidence
(frames, a ping probe after a quiet spell) and reconnects dead ones, at most ``max_per_hour``
times a sliding hour; the next one puts the session in ``needs_attention`` and leaves it for
a person (``POST /sessions/{id}/reconnect``).

*Shutdown.* Start-up schedules and the recovery loop are cancelled, every client is closed
(its socket closed cleanly), and sessions that were live are recorded as ``disconnected``.

Commands on one session (connect, reconnect, recovery, logout, delete) are serialised by the
handle's lock, so a recovery never races a person's reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import structlog

from daemon.client.context import ClientOptions
from daemon.client.errors import ClientError
from daemon.client.events import (
    Connected,
    PairCode,
    QrCode,
    StateChanged,
)
from daemon.client.state import SessionState
from daemon.config import ClientTimingsConfig, Config
from daemon.event_format import EventType
from daemon.eventlog import EventLog
from daemon.linked_device import (
    BackOnline,
    LinkedDevice,
    Prober,
    SessionOpener,
    ping_probe,
)
from daemon.log import mask_phone
from daemon.session_events import EventForwarder
from daemon.session_handle import (
    HOUR_S,
    SessionCounts,
    SessionHandle,
    SessionView,
    drain_forwarder,
    phone_of,
    session_view,
)
from daemon.session_records import SessionRecorder
from daemon.session_recovery import Recovery
from daemon.session_startup import connect_at_startup
from daemon.startup_gate import GateCounts, StartupGate
from daemon.startup_pacing import StartupRate, configured_rate
from storage.errors import NotFound, StorageError
from storage.stores import Stores
from storage.values import SessionRow, SessionStatus

log = structlog.get_logger("daemon.manager")

SHUTDOWN_CONCURRENCY = 32
"""Clients closed at once when the daemon stops (each closes its socket cleanly)."""
# Statuses a daemon start does not auto-connect: a person must act first (a replaced session
# would start a ping-pong with the other client; banned and needs_attention need a look).
NO_AUTOCONNECT = frozenset(
    {
        SessionStatus.LOGGED_OUT,
        SessionStatus.REPLACED,
        SessionStatus.BANNED,
        SessionStatus.NEEDS_ATTENTION,
        SessionStatus.PASSKEY_REQUIRED,
    }
)
CONNECTING_STATUSES = frozenset(
    {SessionStatus.PAIRING, SessionStatus.CONNECTING, SessionStatus.BACKING_OFF}
)
# What a stop records as ``disconnected``: sessions that were (or were getting) connected.
MARKED_AT_SHUTDOWN = frozenset(
    {
        SessionStatus.PAIRING,
        SessionStatus.CONNECTING,
        SessionStatus.CONNECTED,
        SessionStatus.BACKING_OFF,
        SessionStatus.STOPPED,
        SessionStatus.DISCONNECTED,
    }
)


class ManagerError(Exception):
    """A session command the manager refuses (the message says why)."""


class SessionNotFound(ManagerError):
    pass


class SessionExists(ManagerError):
    pass


class NotPairing(ManagerError):
    """No QR to show: the session is not pairing by QR."""


@dataclass(frozen=True, slots=True)
class ReconnectResult:
    success: bool
    message: str


def client_options(
    timings: ClientTimingsConfig, base: ClientOptions | None = None
) -> ClientOptions:
    """The client timings from the config (unset values keep the protocol defaults)."""
    options = base or ClientOptions()

    def pick(value: float | None, default: float) -> float:
        return default if value is None else value

    return dataclasses.replace(
        options,
        keepalive_min=pick(timings.keepalive_min_s, options.keepalive_min),
        keepalive_max=pick(timings.keepalive_max_s, options.keepalive_max),
        keepalive_timeout=pick(timings.keepalive_timeout_s, options.keepalive_timeout),
        backoff_base=pick(timings.backoff_base_s, options.backoff_base),
        backoff_cap=pick(timings.backoff_cap_s, options.backoff_cap),
        stable_after=pick(timings.stable_after_s, options.stable_after),
        qr_first_ttl=pick(timings.qr_first_ttl_s, options.qr_first_ttl),
        qr_later_ttl=pick(timings.qr_later_ttl_s, options.qr_later_ttl),
    )


class SessionManager:
    def __init__(
        self,
        config: Config,
        stores: Stores,
        events: EventLog,
        opener: SessionOpener,
        *,
        prober: Prober = ping_probe,
        on_back_online: BackOnline | None = None,
        clock: Callable[[], float] = time.time,
        owned: Callable[[str], Stores] | None = None,
        fleet: bool = False,
    ) -> None:
        """``fleet``: sessions are opened only when this daemon takes their lease
        (:meth:`adopt`), never all at start-up; ``owned`` gives the fenced stores an owner
        writes a session's records through."""
        self._config = config
        self._fleet = fleet
        self._claim: Callable[[str], Awaitable[bool]] | None = None
        self._events = events
        self._open = opener
        self._probe = prober
        self._on_back_online = on_back_online
        self._clock = clock
        self._sessions = stores.sessions
        self._record = SessionRecorder(stores, events, clock, owned)
        self._recovery = Recovery(config, self._record, prober, clock)
        self._handles: dict[str, SessionHandle] = {}
        self._recovery_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._startup = StartupGate(configured_rate(config.manager))

    # ------------------------------------------------------------------ lifecycle

    async def open_all(self) -> None:
        """Opens the client of every stored session (no connecting yet). In a fleet, none:
        the coordinator adopts the sessions whose lease this daemon takes."""
        if self._fleet:
            return
        for row in await self._sessions.list_all():
            try:
                await self._attach(row)
            except (ClientError, StorageError) as exc:
                log.error("manager.session_open_failed", session=row.id, error=str(exc))

    async def start(self) -> None:
        """Connects the auto-connect sessions (paced) and starts the recovery loop."""
        if self._fleet:
            self._recovery_task = self._spawn(self._recovery.loop(self._handles), "wamd-recovery")
            log.info("manager.started", sessions=0, auto_connecting=0, fleet=True)
            return
        if self._config.manager.connect_stagger_s is not None:
            log.warning(
                "config.deprecated",
                key="manager.connect_stagger_s",
                instead="manager.startup_connects_per_s and manager.startup_burst",
            )
        scheduled = self.start_sessions(self._handles)
        rate = self._startup.rate
        log.info(
            "manager.started",
            sessions=len(self._handles),
            auto_connecting=scheduled,
            connects_per_s=rate.connects_per_s,
            burst=rate.burst,
            max_concurrent=rate.max_concurrent,
        )
        self._recovery_task = self._spawn(self._recovery.loop(self._handles), "wamd-recovery")

    def start_sessions(self, session_ids: Iterable[str]) -> int:
        """Connects those of ``session_ids`` that should auto-connect (open, active, paired,
        not waiting for a person, not already starting or running), each under the start-up retry
        schedule and paced by the start-up gate, in the order given. Returns how many were
        scheduled; unknown ids are skipped."""
        scheduled = 0
        for session_id in list(session_ids):
            handle = self._handles.get(session_id)
            if handle is None or not self._should_autoconnect(handle.row, handle):
                continue
            starting = handle.startup is not None and not handle.startup.done()
            if starting or handle.client.running:
                continue
            handle.startup = self._spawn(
                connect_at_startup(
                    session_id,
                    self._startup,
                    self._handles.get,
                    self._config,
                    self._record,
                    self._clock,
                ),
                f"wamd-startup-{session_id}",
            )
            scheduled += 1
        return scheduled

    def retune_startup(self, rate: StartupRate) -> None:
        """Paces start-up connects at ``rate`` from now on (a fleet daemon's share)."""
        self._startup.retune(rate)
        log.info(
            "manager.startup_retuned",
            connects_per_s=rate.connects_per_s,
            burst=rate.burst,
            max_concurrent=rate.max_concurrent,
        )

    @property
    def startup_rate(self) -> StartupRate:
        return self._startup.rate

    def startup_counts(self) -> GateCounts:
        """Start-up connects queued, under way, and started so far."""
        return self._startup.counts()

    @property
    def failure(self) -> str | None:
        """Why the recovery loop died, if it did (health reports it as an error)."""
        task = self._recovery_task
        if task is not None and task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                return f"recovery loop died: {exc!r}"
        return None

    def _should_autoconnect(self, row: SessionRow, handle: SessionHandle) -> bool:
        if not row.active or not row.auto_connect:
            return False
        credentials = handle.client.credentials
        if credentials is None or not credentials.is_paired:
            return False
        if handle.status in NO_AUTOCONNECT:
            log.info(
                "manager.autoconnect_skipped",
                session=row.id,
                status=handle.status.value,
                reason="waits for a person",
            )
            return False
        return True

    async def shutdown(self) -> None:
        """Stops everything and records live sessions as ``disconnected``."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        gate = asyncio.Semaphore(SHUTDOWN_CONCURRENCY)

        async def stop_one(session_id: str, handle: SessionHandle) -> None:
            async with gate:
                was = handle.status
                try:
                    await handle.client.close()
                except (ClientError, StorageError) as exc:
                    log.warning("manager.close_failed", session=session_id, error=str(exc))
                await drain_forwarder(handle)
                if was in MARKED_AT_SHUTDOWN and handle.paired:
                    await self._record.mark(
                        session_id, handle, SessionStatus.DISCONNECTED, "daemon stopped"
                    )

        await asyncio.gather(*(stop_one(sid, h) for sid, h in list(self._handles.items())))
        log.info("manager.stopped", sessions=len(self._handles))

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def run() -> None:
            await coro

        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _attach(self, row: SessionRow) -> SessionHandle:
        client = await self._open(row.id, row.name)
        handle = SessionHandle(
            client=client, row=row, auto_connect=row.auto_connect, active=row.active
        )
        if client.state is SessionState.STOPPED and row.status is SessionStatus.DISCONNECTED:
            handle.override = SessionStatus.DISCONNECTED
        if row.last_message_at is not None:
            handle.last_inbound_message_at = row.last_message_at.timestamp()
        # Offline since the previous process recorded the session's last status (a process
        # that died while connected left the row's last update as the best evidence).
        if row.last_connected_at is not None:
            last_seen = row.updated_at if row.status is SessionStatus.CONNECTED else None
            handle.offline_since = (last_seen or row.status_changed_at).timestamp()
        handle.recoveries.extend(await self._recent_recoveries(row.id))
        handle.forwarder = EventForwarder(
            row.id, handle, client.events(), self._record, self._back_online
        )
        self._handles[row.id] = handle
        return handle

    async def _recent_recoveries(self, session_id: str) -> list[float]:
        """Recoveries of the last hour from the event log, oldest first, so a restart does not
        reset the hourly limit."""
        since = self._clock() - HOUR_S
        latest = await self._events.repo.latest_recoveries(
            session_id, self._config.recovery.max_per_hour + 1
        )
        return sorted(
            event.created_at.timestamp()
            for event in latest
            if event.data.get("action") == "reconnect" and event.created_at.timestamp() >= since
        )

    # ------------------------------------------------------------------ events

    def _back_online(self, session_id: str, handle: SessionHandle) -> None:
        since, handle.offline_since = handle.offline_since, None
        if since is None or self._on_back_online is None:
            return
        self._on_back_online(session_id, handle.client, max(0.0, self._clock() - since))

    # ------------------------------------------------------------------ queries

    def _handle(self, session_id: str) -> SessionHandle:
        handle = self._handles.get(session_id)
        if handle is None:
            raise SessionNotFound(f"session {session_id!r} does not exist")
        return handle

    def recoveries_started(self, session_id: str) -> int:
        """Automatic recoveries of the session since this process started."""
        return self._recovery.started(session_id)

    def socket_alive(self, handle: SessionHandle, now: float | None = None) -> bool:
        """Evidence, not a flag: a running client, connected, with a recent frame."""
        return self._recovery.socket_alive(handle, now)

    async def check_liveness(self, session_id: str, handle: SessionHandle) -> None:
        """One recovery check of one session (see ``daemon.session_recovery``)."""
        await self._recovery.check_liveness(session_id, handle)

    def has(self, session_id: str) -> bool:
        return session_id in self._handles

    def ids(self) -> list[str]:
        return list(self._handles)

    def client(self, session_id: str) -> LinkedDevice:
        return self._handle(session_id).client

    def status_of(self, session_id: str) -> SessionStatus:
        return self._handle(session_id).status

    def is_connected(self, session_id: str) -> bool:
        handle = self._handles.get(session_id)
        return handle is not None and handle.client.state is SessionState.CONNECTED

    def counts(self) -> SessionCounts:
        connected = connecting = 0
        for handle in self._handles.values():
            if handle.status is SessionStatus.CONNECTED:
                connected += 1
            elif handle.status in CONNECTING_STATUSES:
                connecting += 1
        total = len(self._handles)
        return SessionCounts(total, connected, connecting, total - connected - connecting)

    def all_expected_connected(self) -> bool:
        """True when every active auto-connect session with a paired identity is connected
        (the in-memory view, so ``/health`` answers without a query)."""
        return all(
            handle.status is SessionStatus.CONNECTED
            for handle in self._handles.values()
            if handle.active and handle.auto_connect and handle.paired
        )

    async def view(self, session_id: str, row: SessionRow | None = None) -> SessionView:
        handle = self._handle(session_id)
        if row is None:
            row = await self._sessions.get(session_id)
            if row is None:
                raise SessionNotFound(f"session {session_id!r} does not exist")
        handle.row = row
        return self._view(handle, row)

    def cached_view(self, session_id: str) -> SessionView:
        """The view from the last row read (no query: for when the database is down)."""
        handle = self._handle(session_id)
        return self._view(handle, handle.row)

    def _view(self, handle: SessionHandle, row: SessionRow) -> SessionView:
        now = self._clock()
        return session_view(handle, row, now, self.socket_alive(handle, now))

    async def views(self, session_ids: Iterable[str] | None = None) -> list[SessionView]:
        rows = {row.id: row for row in await self._sessions.list_all()}
        wanted = list(rows) if session_ids is None else [s for s in session_ids if s in rows]
        return [await self.view(sid, rows[sid]) for sid in wanted if sid in self._handles]

    async def check(self, session_id: str) -> SessionView:
        """A real status check: a ping over the socket when connected; records the time."""
        handle = self._handle(session_id)
        if handle.client.state is SessionState.CONNECTED and not handle.recovering:
            timeout = min(self._config.recovery.probe_timeout_s, 5.0)
            try:
                await self._probe(handle.client, timeout)
                handle.last_probe_at = self._clock()
            except (ClientError, TimeoutError, ConnectionError) as exc:
                # The answer must not say ``connected`` about a socket that just failed to
                # answer: recover now (counted against the hourly limit), then show that.
                log.warning("manager.status_check_failed", session=session_id, error=str(exc))
                await self._record.record_check(session_id)
                await self._recovery.recover(session_id, handle, f"status check failed: {exc}")
                return await self.view(session_id)
        await self._record.record_check(session_id)
        return await self.view(session_id)

    def current_qr(self, session_id: str) -> QrCode | None:
        handle = self._handle(session_id)
        qr = handle.qr
        if qr is None or qr.expires_at <= self._clock():
            return None
        return qr

    def note_inbound_message(self, session_id: str, at: float | None = None) -> None:
        """Called by the message path: a message arrived (pushes the probe timer back)."""
        handle = self._handles.get(session_id)
        if handle is not None:
            handle.last_inbound_message_at = self._clock() if at is None else at

    # ------------------------------------------------------------------ commands

    async def create(
        self, session_id: str, *, name: str = "", auto_connect: bool = True
    ) -> SessionView:
        if session_id in self._handles or await self._sessions.get(session_id) is not None:
            raise SessionExists(f"session {session_id!r} already exists")
        row = await self._sessions.create(session_id, name=name, auto_connect=auto_connect)
        if self._claim is None:
            await self._attach(row)
        elif not await self._claim(session_id):
            raise ManagerError(f"session {session_id!r} was taken by another daemon")
        await self._record.append(session_id, EventType.SESSION_CREATED, {"name": name})
        log.info("manager.session_created", session=session_id)
        return await self.view(session_id, row)

    async def update(
        self,
        session_id: str,
        *,
        name: str | None = None,
        auto_connect: bool | None = None,
        active: bool | None = None,
    ) -> SessionView:
        handle = self._handle(session_id)
        row = await self._sessions.update_settings(
            session_id, name=name, auto_connect=auto_connect, active=active
        )
        handle.auto_connect, handle.active = row.auto_connect, row.active
        return await self.view(session_id, row)

    async def delete(self, session_id: str) -> bool:
        """Logs the device out (telling the server when connected), then deletes the session
        and all its state. Idempotent: False when there was nothing to delete."""
        handle = self._handles.get(session_id)
        if handle is None:
            row = await self._sessions.get(session_id)
            if row is None:
                return False
            handle = await self._attach(row)
        async with handle.lock:
            self._cancel_startup(handle)
            if handle.client.credentials is not None:
                try:
                    await handle.client.logout()
                except ClientError as exc:
                    log.warning("manager.logout_failed", session=session_id, error=str(exc))
            await handle.client.close()
            await drain_forwarder(handle)
            self._handles.pop(session_id, None)
            with contextlib.suppress(NotFound):
                await self._sessions.delete(session_id)
        await self._record.append(session_id, EventType.SESSION_DELETED, {})
        log.info("manager.session_deleted", session=session_id)
        return True

    # ------------------------------------------------------------------ fleet

    def use_fleet(self, claim: Callable[[str], Awaitable[bool]]) -> None:
        """A session created here is taken through its lease (``claim``) before it opens."""
        self._claim = claim

    async def adopt(self, session_id: str) -> bool:
        """Opens a session whose lease this daemon just took and connects it if it should
        auto-connect (its start-up schedule runs in the background, paced like a start-up).
        False when the session no longer exists."""
        if session_id in self._handles:
            return True
        row = await self._sessions.get(session_id)
        if row is None:
            return False
        await self._attach(row)
        # Through the start-up gate: a daemon taking over a dead peer's sessions connects
        # them at its rate, not all at once.
        self.start_sessions([session_id])
        log.info("manager.session_adopted", session=session_id)
        return True

    async def relinquish(self, session_id: str, reason: str) -> None:
        """Lets a session go (its lease was handed back or lost): closes its socket and forgets
        it, writing nothing: its next owner records what happens next."""
        handle = self._handles.get(session_id)
        if handle is None:
            return
        async with handle.lock:
            self._cancel_startup(handle)
            try:
                await handle.client.close()
            except (ClientError, StorageError) as exc:
                log.warning("manager.close_failed", session=session_id, error=str(exc))
            await drain_forwarder(handle)
            self._handles.pop(session_id, None)
        log.info("manager.session_relinquished", session=session_id, reason=reason)

    def _cancel_startup(self, handle: SessionHandle) -> None:
        """A person took over: no start-up schedule, no status the manager recorded."""
        if handle.startup is not None and not handle.startup.done():
            handle.startup.cancel()
        handle.startup = None
        handle.override = None

    async def connect(self, session_id: str) -> None:
        handle = self._handle(session_id)
        async with handle.lock:
            self._cancel_startup(handle)
            await handle.client.connect()

    async def disconnect(self, session_id: str) -> None:
        handle = self._handle(session_id)
        async with handle.lock:
            self._cancel_startup(handle)
            await handle.client.disconnect("disconnect requested through the API")

    async def logout(self, session_id: str) -> None:
        handle = self._handle(session_id)
        async with handle.lock:
            self._cancel_startup(handle)
            await handle.client.logout()

    async def reconnect(self, session_id: str, wait: float = 10.0) -> ReconnectResult:
        """Closes the socket and connects again (a person asked: the recovery counter is
        cleared). Waits up to ``wait`` seconds for the login."""
        handle = self._handle(session_id)
        async with handle.lock:
            self._cancel_startup(handle)
            client = handle.client
            credentials = client.credentials
            if credentials is None or not credentials.is_paired:
                return ReconnectResult(False, "the session is not paired; pair it first")
            handle.recoveries.clear()
            await client.disconnect("reconnect requested through the API")
            with client.events() as events:
                try:
                    await client.connect()
                except ClientError as exc:
                    return ReconnectResult(False, f"cannot connect: {exc}")
                try:
                    async with asyncio.timeout(wait):
                        async for event in events:
                            if isinstance(event, Connected):
                                return ReconnectResult(
                                    True, f"connected as {mask_phone(event.jid)}"
                                )
                            if isinstance(event, StateChanged) and (
                                event.to_state.is_terminal or event.to_state is SessionState.STOPPED
                            ):
                                return ReconnectResult(
                                    False, f"{event.to_state.value}: {event.reason}"
                                )
                except TimeoutError:
                    pass
            return ReconnectResult(
                False, f"not connected within {wait:g} s; status {handle.status.value}"
            )

    async def start_pairing(self, session_id: str, wait: float = 10.0) -> QrCode | None:
        """Starts QR pairing (idempotent while it runs) and returns the current QR, waiting up
        to ``wait`` seconds for the first one."""
        handle = self._handle(session_id)
        async with handle.lock:
            self._cancel_startup(handle)
            existing = self.current_qr(session_id)
            if existing is not None:
                return existing
            with handle.client.events() as events:
                await handle.client.pair()
                existing = self.current_qr(session_id)
                if existing is not None:
                    return existing
                try:
                    async with asyncio.timeout(wait):
                        async for event in events:
                            if isinstance(event, QrCode):
                                handle.qr = event
                                return event
                            if isinstance(event, StateChanged) and event.to_state not in (
                                SessionState.PAIRING,
                                SessionState.BACKING_OFF,
                            ):
                                raise NotPairing(f"pairing ended: {event.reason}")
                except TimeoutError:
                    return None
        return None

    async def request_pair_code(self, session_id: str, phone: str) -> PairCode:
        """Starts pairing by phone number; the code to type on that phone, with its expiry."""
        handle = self._handle(session_id)
        async with handle.lock:
            self._cancel_startup(handle)
            with handle.client.events() as events:
                code = await handle.client.pair_with_code(phone)
                for event in events.pending():
                    if isinstance(event, PairCode) and event.code == code:
                        return event
        raise ManagerError("the client returned a pair code without announcing it")


__all__ = [
    "BackOnline",
    "LinkedDevice",
    "ManagerError",
    "NotPairing",
    "Prober",
    "ReconnectResult",
    "SessionCounts",
    "SessionExists",
    "SessionManager",
    "SessionNotFound",
    "SessionOpener",
    "SessionView",
    "client_options",
    "phone_of",
    "ping_probe",
]
