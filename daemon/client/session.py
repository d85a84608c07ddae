"""One linked-device session: the library API the daemon and the HTTP layer use.

::

    session = await Session.open(stores, "sales", config)
    with session.events() as events:
        await session.pair()                    # QR codes arrive as QrCode events
        ...                                     # Paired, then Connected
    await session.connect()                     # later starts: log in with the stored identity
    await session.disconnect() / logout() / close()

Theory of operation
-------------------
A session owns at most one *supervisor* task, and the supervisor owns at most one socket at a
time: it dials, runs the :class:`~daemon.client.connection.Connection` until it ends, asks the
disconnect table what the end means, and either dials again (at once, or after a full-jitter
backoff) or stops in a terminal state. ``connect()``/``pair()`` on a running session do not start
a second attempt, and a second ``Session`` for the same database and id in one process is
refused, so two sockets never compete for one device (the server would answer with 440).

Every state change goes through :meth:`Session._transition`: the state table decides, the
session row, its transition row and (through the event sink, in the daemon) its
``connection.state`` event row are written in one transaction, and only then is the
``StateChanged`` event published and the decision logged (with its code and reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import ClassVar

import structlog

from daemon.binary import JID, Node
from daemon.client.acks import build_ack
from daemon.client.app_state_sync import SyncOutcome
from daemon.client.backoff import Backoff
from daemon.client.connection import Connection, Dialer, HandlerFailed, transport_dialer
from daemon.client.context import ClientCounters, ClientOptions, SessionContext
from daemon.client.credentials import credentials_for_pairing, load_credentials
from daemon.client.disconnect import Decision, DisconnectAction
from daemon.client.errors import (
    AuthStateError,
    ClientError,
    IqError,
    IqTimeout,
    NotConnected,
    NotPaired,
    SessionBusy,
    StanzaError,
)
from daemon.client.events import (
    Alert,
    AlertKind,
    Connected,
    Disconnected,
    EventBus,
    PairCode,
    StateChanged,
    Subscription,
)
from daemon.client.iq import build_iq
from daemon.client.keepalive import Keepalive, Liveness
from daemon.client.login import LidWriter, LoginFlow, LoginSuccess
from daemon.client.media_message import OutgoingMedia
from daemon.client.media_service import ReusableUpload, SentMedia, StoredMedia
from daemon.client.message_content import Media
from daemon.client.messenger import Messenger
from daemon.client.pair_code import CodePairing, normalize_phone
from daemon.client.pairing import PairingFlow
from daemon.client.passkey import NOTIFICATION_TYPE as PASSKEY_NOTIFICATION
from daemon.client.passkey import describe as passkey_describe
from daemon.client.passkey import parse_passkey_request
from daemon.client.payload import AppVersion, build_login_payload, build_registration_payload
from daemon.client.peer_data import BackfillResult
from daemon.client.prekeys import PreKeyManager, parse_low_count_notification
from daemon.client.restrictions import Restriction
from daemon.client.router import IGNORED_KINDS, Router, stanza_kind
from daemon.client.send import OutgoingMessage, SendResult
from daemon.client.sinks import EventSink, NoEventSink
from daemon.client.state import SessionState, Trigger, transition
from daemon.client.stream_errors import (
    connection_lost,
    parse_failure,
    parse_stream_error,
    stream_end,
)
from daemon.client.sync_services import SyncOptions, SyncServices
from daemon.client.sync_services import sync_options as sync_options_for
from daemon.client.tls import trust_context
from daemon.config import SyncConfig, WhatsAppConfig
from daemon.crypto.appstate import ALL_COLLECTIONS
from daemon.crypto.curve import KeyPair as CurveKeyPair
from daemon.log import UnknownKinds
from daemon.wire.certs import WA_ROOT_PUBLIC_KEY
from daemon.wire.errors import TransportClosed, TransportTimeout, WireError
from daemon.wire.transport import TransportConfig
from storage.errors import CorruptAuthState, LeaseLost, NotFound, StorageError
from storage.interfaces import AuthStore
from storage.message_interfaces import MessageStore
from storage.stores import ClientStores
from storage.sync_interfaces import SyncStore
from storage.values import DeviceCredentials, SessionStatus
from waproto import wa_e2e_pb2

LOGOUT_TIMEOUT_S = 10.0
VERSION_CHECK_TIMEOUT_S = 30.0
MEDIA_DIRECTORY = "media"
# Immediate (515) restarts allowed in a row before they are treated like any other failure.
MAX_RESTARTS_IN_ROW = 3
# Consecutive failed attempts after which a "reconnect loop" alert is raised (once per streak).
LOOP_ALERT_AFTER = 10

_ALERTS = {
    DisconnectAction.LOGGED_OUT: AlertKind.LOGGED_OUT,
    DisconnectAction.REPLACED: AlertKind.REPLACED,
    DisconnectAction.OUTDATED: AlertKind.CLIENT_OUTDATED,
    DisconnectAction.BANNED: AlertKind.BANNED,
    DisconnectAction.PASSKEY_REQUIRED: AlertKind.PASSKEY_REQUIRED,
}
# States a previous process may have left behind while a socket was open.
_LIVE_STATES = frozenset(
    {
        SessionState.PAIRING,
        SessionState.CONNECTING,
        SessionState.CONNECTED,
        SessionState.BACKING_OFF,
    }
)


VersionCheck = Callable[[], Awaitable[str]]
"""Asked once after a 405: the service's current client version (``daemon.client_version``)."""


class Mode(Enum):
    LOGIN = "login"
    PAIR_QR = "pair_qr"
    PAIR_CODE = "pair_code"


def _state_of(status: SessionStatus) -> SessionState:
    # "disconnected" is a storage status the client never writes; it rests like "stopped".
    if status is SessionStatus.DISCONNECTED:
        return SessionState.STOPPED
    return SessionState(status.value)


def default_transport(config: WhatsAppConfig) -> TransportConfig:
    root = bytes.fromhex(config.root_public_key) if config.root_public_key else WA_ROOT_PUBLIC_KEY
    secure = config.ws_url.startswith("wss://")
    return TransportConfig(
        url=config.ws_url,
        origin=config.origin,
        root_key=root,
        connect_timeout=config.connect_timeout_s,
        handshake_timeout=config.connect_timeout_s,
        ssl_context=trust_context(config.ca_file) if secure else None,
    )


class Session:
    # (database file, session id) of every Session open in this process; reserved before the
    # first await of open(), so two concurrent opens cannot both get through.
    _open: ClassVar[set[tuple[str, str]]] = set()

    def __init__(
        self,
        session_id: str,
        store: AuthStore,
        lids: LidWriter,
        config: WhatsAppConfig,
        *,
        options: ClientOptions | None = None,
        dialer: Dialer | None = None,
        clock: Callable[[], float] = time.time,
        registry_key: tuple[str, str] | None = None,
        messages: MessageStore | None = None,
        sync_store: SyncStore | None = None,
        media_root: Path | None = None,
        sync_options: SyncOptions | None = None,
        version_check: VersionCheck | None = None,
        owner_check: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        opts = options or ClientOptions()
        self._owner_check = owner_check
        log = structlog.get_logger("daemon.client").bind(session=session_id)
        self._bus = EventBus()
        self._ctx = SessionContext(
            session_id=session_id,
            store=store,
            config=config,
            options=opts,
            bus=self._bus,
            log=log,
            prekeys=PreKeyManager(store, session_id, log),
            clock=clock,
        )
        self._lids = lids
        self._version_check = version_check
        self._version_rechecked = False
        """A 405 made us ask for the service's version once since the last login."""
        self._unknown = UnknownKinds(log, "client.unhandled_stanza")
        """Stanza kinds nobody handles, logged once per session (the next protocol change)."""
        self._messenger = Messenger(self._ctx, messages) if messages is not None else None
        self._sync: SyncServices | None = None
        resolved_sync = sync_options or sync_options_for(SyncConfig(), config)
        self._require_full_sync = resolved_sync.history.full_history
        if self._messenger is not None and sync_store is not None and media_root is not None:
            self._sync = SyncServices(
                self._messenger,
                sync_store,
                media_root,
                self._bus.publish,
                self._bus,
                resolved_sync,
                clock=clock,
            )
        self._dialer = dialer or transport_dialer(default_transport(config), clock)
        self._registry_key = registry_key
        self._state = SessionState.NEW
        self._transition_lock = asyncio.Lock()
        # Commands (connect, pair, disconnect, logout) run one at a time: two concurrent
        # connect() calls must not both pass the "already running?" check.
        self._command_lock = asyncio.Lock()
        self._dial_lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None
        self._mode = Mode.LOGIN
        self._code_phone: str | None = None
        self._connection: Connection | None = None
        self._last_liveness = Liveness()
        self._stop_requested = False
        self._logged_in = False
        self._restarts_in_row = 0
        self._loop_alerted = False
        self._backoff = Backoff(
            base=opts.backoff_base,
            cap=opts.backoff_cap,
            stable_after=opts.stable_after,
            uniform=opts.uniform,
        )
        self.sockets_open = 0
        """Sockets open right now (0 or 1)."""
        self.max_sockets_open = 0
        """The most sockets this session ever had open at once (must stay 1)."""
        self.connect_attempts = 0
        self.delays: list[float] = []
        """Every backoff delay waited, in order (for tests and diagnostics)."""

    # ------------------------------------------------------------------ opening

    @classmethod
    async def open(
        cls,
        stores: ClientStores,
        session_id: str,
        config: WhatsAppConfig | None = None,
        *,
        options: ClientOptions | None = None,
        dialer: Dialer | None = None,
        clock: Callable[[], float] = time.time,
        create: bool = True,
        name: str = "",
        sync_options: SyncOptions | None = None,
        version_check: VersionCheck | None = None,
    ) -> Session:
        """Opens (creating when ``create``) the session ``session_id`` kept in ``stores``.

        A session left in a live state by a previous process is recorded as stopped; a stored
        identity that is damaged or vanished puts it in ``needs_attention`` (see ``state``).
        Raises SessionBusy if this process already has it open, NotFound if it does not exist
        and ``create`` is False. Downloaded media go to ``media/`` in ``stores.files_dir``.
        """
        key = (stores.location, session_id)
        if key in cls._open:
            raise SessionBusy(f"session {session_id!r} is already open in this process")
        cls._open.add(key)
        try:
            store = stores.auth
            row = await store.sessions.get(session_id)
            if row is None:
                if not create:
                    raise NotFound(f"session {session_id!r} does not exist")
                row = await store.sessions.create(session_id, name=name)
            session = cls(
                session_id,
                store,
                stores.device_lids,
                config or WhatsAppConfig(),
                options=options,
                dialer=dialer,
                clock=clock,
                registry_key=key,
                messages=stores.messages,
                sync_store=stores.sync,
                media_root=stores.files_dir / MEDIA_DIRECTORY,
                sync_options=sync_options,
                version_check=version_check,
                owner_check=stores.ensure_owned,
            )
            session._state = _state_of(row.status)
            await session._restore()
        except BaseException:
            cls._open.discard(key)
            raise
        return session

    async def _restore(self) -> None:
        ctx = self._ctx
        if self._state in _LIVE_STATES:
            await self._transition(
                Trigger.STOP, f"process restarted while {self._state.value}; not connected"
            )
        try:
            ctx.credentials = await ctx.store.credentials.load(ctx.session_id)
        except CorruptAuthState as exc:
            await self._auth_broken(AuthStateError(ctx.session_id, f"damaged credentials: {exc}"))
            return
        if ctx.credentials is None and self._state is not SessionState.NEEDS_ATTENTION:
            try:
                await load_credentials(ctx.store, ctx.session_id)
            except AuthStateError as exc:
                await self._auth_broken(exc)
            except NotPaired:
                pass  # never paired (or logged out): nothing is missing

    # ------------------------------------------------------------------ properties

    @property
    def session_id(self) -> str:
        return self._ctx.session_id

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def credentials(self) -> DeviceCredentials | None:
        return self._ctx.credentials

    @property
    def config(self) -> WhatsAppConfig:
        return self._ctx.config

    @property
    def running(self) -> bool:
        return self._supervisor is not None and not self._supervisor.done()

    @property
    def liveness(self) -> Liveness:
        """Evidence of life of the current connection (or the last one)."""
        if self._connection is not None:
            return self._connection.keepalive.liveness()
        return self._last_liveness

    async def ping(self, timeout: float) -> float:
        """A ping over the live, logged-in socket (a status check): the round trip in
        seconds, recorded in :attr:`liveness`. Raises NotConnected or IqTimeout."""
        connection = self._connection
        if connection is None or connection.ended or not self._logged_in:
            raise NotConnected(f"session {self.session_id!r} is {self._state.value}")
        return await connection.ping(timeout)

    @property
    def counters(self) -> ClientCounters:
        """Frames, decrypt failures and retry receipts since the process started."""
        return self._ctx.counters

    @property
    def prekey_uploads(self) -> int:
        return self._ctx.prekeys.uploads

    @property
    def messenger(self) -> Messenger:
        """Sending, read receipts and groups (see ``daemon.client.messenger``)."""
        if self._messenger is None:
            raise ClientError(f"session {self.session_id!r} was opened without a message store")
        return self._messenger

    @property
    def restrictions(self) -> list[Restriction]:
        """What the service last announced about this account (time-lock, message cap)."""
        if self._messenger is None:
            return []
        return self._messenger.context.restrictions.current()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """``messenger.send``: returns after the server's ack (see Messenger.send)."""
        return await self.messenger.send(message)

    async def mark_read(self, chat: JID, message_ids: Sequence[str]) -> int:
        return await self.messenger.mark_read(chat, message_ids)

    @property
    def sync(self) -> SyncServices:
        """History sync, app state, media and peer requests (``daemon.client.sync_services``)."""
        if self._sync is None:
            raise ClientError(f"session {self.session_id!r} was opened without a sync store")
        return self._sync

    async def send_media(
        self,
        to: JID,
        media: OutgoingMedia,
        *,
        message_id: str | None = None,
        reuse: ReusableUpload | None = None,
    ) -> SentMedia:
        """Uploads the file (or reuses an earlier upload of it), then sends the message
        announcing it (see Messenger.send). Raises MediaError (upload), or what
        Messenger.send raises."""
        messenger = self.messenger

        async def send(target: JID, message: wa_e2e_pb2.Message) -> SendResult:
            content = Media(message.SerializeToString())
            return await messenger.send(OutgoingMessage(target, content, message_id))

        return await self.sync.media.send(to, media, send, reuse)

    async def download_media(self, chat: JID, message_id: str) -> StoredMedia:
        """The file of a stored media message, downloaded (or asked for again) if needed."""
        canonical = (
            chat if chat.is_group else (await self.messenger.context.prepare()).account(chat)
        )
        return await self.sync.media.download(str(canonical), message_id)

    async def request_history(
        self,
        chat: JID,
        *,
        count: int = 50,
        wait: bool = True,
        timeout: float = 60.0,
        newest: bool = False,
    ) -> BackfillResult:
        """Asks the phone for older messages of ``chat`` (on-demand history backfill), or
        with ``newest`` for its most recent ones (a backfill after a long disconnection)."""
        return await self.sync.peer_data.request_history(
            chat, count=count, wait=wait, timeout=timeout, newest=newest
        )

    async def archive_chat(self, chat: JID, archived: bool = True) -> int:
        """Archives (or unarchives) ``chat`` on every device, through app state."""
        return await self.sync.app_state.archive_chat(self._chat(chat), archived)

    async def mark_chat_read(self, chat: JID, read: bool = True) -> int:
        """Marks ``chat`` read (or unread) on every device, through app state."""
        return await self.sync.app_state.mark_chat_read(self._chat(chat), read)

    async def pin_chat(self, chat: JID, pinned: bool = True) -> int:
        return await self.sync.app_state.pin_chat(self._chat(chat), pinned)

    async def mute_chat(self, chat: JID, muted_until: int | None) -> int:
        """``muted_until``: unix ms, ``MUTED_FOREVER``, or None to unmute."""
        return await self.sync.app_state.mute_chat(self._chat(chat), muted_until)

    async def star_message(self, chat: JID, message_id: str, starred: bool = True) -> int:
        return await self.sync.app_state.star_message(self._chat(chat), message_id, starred)

    async def sync_app_state(self, *, full: bool = False) -> list[SyncOutcome]:
        """Fetches every app-state collection now (``full``: from scratch)."""
        return await self.sync.app_state.sync([str(c) for c in ALL_COLLECTIONS], full=full)

    def _chat(self, chat: JID) -> JID:
        if chat.is_group or self._messenger is None:
            return chat
        return self._messenger.context.addressing.account(chat)

    def events(self) -> Subscription:
        """A new subscription to this session's events (close it, or use ``with``)."""
        return self._bus.subscribe()

    def set_client_version(self, version: str) -> None:
        """Changes the WhatsApp Web version announced from the next connection on."""
        AppVersion.parse(version)
        self._ctx.config = dataclasses.replace(self._ctx.config, client_version=version)
        self._ctx.log.info("client.version_changed", version=version)

    # ------------------------------------------------------------------ commands

    async def connect(self) -> None:
        """Logs in with the stored identity and stays connected (in the background).
        Idempotent while running. Raises NotPaired or AuthStateError."""
        async with self._command_lock:
            if self.running:
                return
            ctx = self._ctx
            try:
                ctx.credentials = await load_credentials(ctx.store, ctx.session_id)
            except AuthStateError as exc:
                await self._auth_broken(exc)
                raise
            await self._transition(Trigger.CONNECT, "connect requested")
            self._backoff.reset()
            self._start(Mode.LOGIN)

    async def pair(self) -> None:
        """Starts QR pairing; QR codes arrive as ``QrCode`` events (six, then ``qr_expired``).
        Idempotent while QR pairing runs. Raises AlreadyPaired, SessionBusy or AuthStateError."""
        async with self._command_lock:
            if self.running:
                if self._mode is Mode.PAIR_QR and self._state is SessionState.PAIRING:
                    return
                raise SessionBusy(f"session {self.session_id!r} is {self._state.value}")
            await self._begin_pairing(Mode.PAIR_QR, None)

    async def pair_with_code(self, phone: str, timeout: float | None = None) -> str:
        """Starts pairing by phone number and returns the code to type on that phone
        (``XXXX-XXXX``). Raises InvalidPhoneNumber, AlreadyPaired, SessionBusy,
        AuthStateError, or ClientError when no code could be obtained."""
        digits = normalize_phone(phone)
        limit = timeout if timeout is not None else self._ctx.iq_timeout + 30.0
        with self.events() as events:
            async with self._command_lock:
                if self.running:
                    raise SessionBusy(f"session {self.session_id!r} is {self._state.value}")
                await self._begin_pairing(Mode.PAIR_CODE, digits)
            try:
                async with asyncio.timeout(limit):
                    async for event in events:
                        if isinstance(event, PairCode):
                            return event.code
                        if isinstance(event, StateChanged) and event.to_state not in (
                            SessionState.PAIRING,
                            SessionState.BACKING_OFF,
                        ):
                            raise ClientError(f"pairing ended: {event.reason}")
            except TimeoutError:
                raise ClientError(f"no pair code within {limit:g} s") from None
        raise ClientError("the event stream closed before a pair code arrived")

    async def _begin_pairing(self, mode: Mode, phone: str | None) -> None:
        ctx = self._ctx
        try:
            ctx.credentials = await credentials_for_pairing(ctx.store, ctx.session_id)
        except AuthStateError as exc:
            await self._auth_broken(exc)
            raise
        reason = "pairing by QR requested" if phone is None else "pairing by code requested"
        await self._transition(Trigger.START_PAIRING, reason)
        self._code_phone = phone
        self._backoff.reset()
        self._start(mode)

    async def disconnect(self, reason: str = "disconnect requested") -> None:
        """Closes the connection and stops reconnecting; the session rests in ``stopped``."""
        async with self._command_lock:
            await self._stop_supervisor()
            if not self._state.is_terminal and self._state is not SessionState.STOPPED:
                await self._transition(Trigger.STOP, reason)

    async def logout(self) -> None:
        """Tells the server to remove this companion (when connected), retires the identity
        (kept for forensics, never reused) and ends in ``logged_out``."""
        async with self._command_lock:
            await self._logout()

    async def _logout(self) -> None:
        ctx = self._ctx
        connection = self._connection
        self._stop_requested = True
        told_server = False
        if connection is not None and self._logged_in and ctx.credentials is not None:
            own = ctx.credentials.pn_jid or ""
            request = build_iq(
                "md",
                "set",
                [
                    Node(
                        "remove-companion-device",
                        {"jid": JID.parse(own), "reason": "user_initiated"},
                    )
                ],
            )
            try:
                await connection.query(request, timeout=LOGOUT_TIMEOUT_S)
                told_server = True
            except (IqError, IqTimeout) as exc:
                ctx.log.warning("client.logout_not_confirmed", error=str(exc))
        await self._stop_supervisor()
        reason = "logged out by request" + ("" if told_server else " (server not told)")
        with contextlib.suppress(NotFound):
            await ctx.store.credentials.retire(ctx.session_id, reason)
        ctx.credentials = None
        if self._state is not SessionState.LOGGED_OUT:
            await self._transition(Trigger.LOGGED_OUT, reason)

    async def close(self) -> None:
        """Disconnects, closes every event subscription and releases the session."""
        try:
            await self.disconnect("session closed")
        finally:
            if self._sync is not None:
                await self._sync.close()
            self._bus.close()
            if self._registry_key is not None:
                Session._open.discard(self._registry_key)

    # ------------------------------------------------------------------ state

    async def _transition(self, trigger: Trigger, reason: str, *, error: str | None = None) -> None:
        """The only way the state changes: decide, persist (with its event), then publish."""
        async with self._transition_lock:
            ctx = self._ctx
            step = transition(self._state, trigger, reason, ctx.now())
            change = StateChanged(
                ctx.session_id, step.from_state, step.to_state, trigger, reason, step.at
            )
            async with ctx.store.transaction():
                await ctx.store.sessions.update_status(
                    ctx.session_id, SessionStatus(step.to_state.value), reason, error=error
                )
                recorded = await self._sink().record_state(change)
            self._state = step.to_state
            ctx.log.info(
                "client.state",
                from_state=step.from_state.value,
                to_state=step.to_state.value,
                trigger=trigger.value,
                reason=reason,
            )
            ctx.publish(dataclasses.replace(change, recorded=recorded))

    def _sink(self) -> EventSink:
        if self._messenger is None:
            return NoEventSink()
        return self._messenger.context.sink

    async def _auth_broken(self, exc: AuthStateError) -> None:
        ctx = self._ctx
        ctx.log.error("client.auth_state_broken", detail=exc.detail)
        if self._state is not SessionState.NEEDS_ATTENTION:
            await self._transition(Trigger.AUTH_STATE_BROKEN, exc.detail, error=exc.detail)
        ctx.publish(Alert(ctx.session_id, AlertKind.AUTH_STATE, str(exc)))

    # ------------------------------------------------------------------ supervisor

    def _start(self, mode: Mode) -> None:
        self._mode = mode
        self._stop_requested = False
        self._supervisor = asyncio.create_task(
            self._supervise(), name=f"wamd-session-{self.session_id}"
        )

    async def _stop_supervisor(self) -> None:
        self._stop_requested = True
        task = self._supervisor
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._supervisor = None

    async def _supervise(self) -> None:
        ctx = self._ctx
        try:
            while not self._stop_requested:
                decision: Decision | None
                try:
                    decision = await self._attempt()
                except HandlerFailed as failed:
                    decision = await self._handler_failure(failed)
                if decision is None:
                    return
                if self._stop_requested:
                    return
                if not await self._follow(decision):
                    return
        except asyncio.CancelledError:
            raise
        except LeaseLost as exc:
            # Another daemon of the fleet owns the session now: stop without a word (nothing
            # may be written for it any more; its owner tells the story from here).
            ctx.log.warning("client.lease_lost", error=str(exc))
        except AuthStateError as exc:
            await self._auth_broken(exc)
        except StorageError as exc:
            await self._auth_broken(AuthStateError(ctx.session_id, f"storage failed: {exc}"))
        except Exception as exc:
            # A bug must not leave the session looking alive: say so and stop.
            ctx.log.exception("client.supervisor_crashed")
            ctx.publish(Alert(ctx.session_id, AlertKind.INTERNAL, f"client stopped: {exc!r}"))
            if not self._state.is_terminal and self._state is not SessionState.STOPPED:
                await self._transition(Trigger.STOP, f"internal error: {exc!r}", error=repr(exc))

    async def _handler_failure(self, failed: HandlerFailed) -> Decision | None:
        ctx = self._ctx
        cause = failed.cause
        if isinstance(cause, AuthStateError):
            await self._auth_broken(cause)
            return None
        if isinstance(cause, StorageError):
            await self._auth_broken(AuthStateError(ctx.session_id, f"storage failed: {cause}"))
            return None
        if isinstance(cause, StanzaError | IqError | IqTimeout):
            return connection_lost(f"protocol error: {cause}")
        if isinstance(cause, TransportClosed | TransportTimeout):
            # A handler was sending when the socket went away: that is the connection ending
            # (the reader would have said so a moment later), not a bug worth an alert.
            return connection_lost(f"connection lost while sending: {cause}")
        ctx.log.error("client.handler_failed", error=repr(cause))
        ctx.publish(Alert(ctx.session_id, AlertKind.INTERNAL, f"handler failed: {cause!r}"))
        return connection_lost(f"internal error: {cause!r}")

    async def _attempt(self) -> Decision:
        """Dials once and runs the connection until it ends."""
        ctx = self._ctx
        if self._owner_check is not None:
            # In a fleet, a daemon that lost the session's lease (it was paused, or cut off)
            # must not log in again: that would push the new owner's socket off the server.
            await self._owner_check()
        credentials = ctx.require_credentials()
        registering = not credentials.is_paired
        config = ctx.config
        if registering:
            full = self._require_full_sync

            def payload() -> bytes:
                return build_registration_payload(
                    credentials.keys, config, config.push_name, require_full_sync=full
                )

        else:
            device = JID.parse(credentials.pn_jid or "")
            push_name = credentials.push_name or config.push_name

            def payload() -> bytes:
                return build_login_payload(device, config, push_name)

        noise = CurveKeyPair(
            private=credentials.keys.noise.private, public=credentials.keys.noise.public
        )
        async with self._dial_lock:
            if self.sockets_open:
                raise RuntimeError("a second socket for one session")  # the lock forbids it
            self.connect_attempts += 1
            ctx.log.info(
                "client.connecting",
                mode="register" if registering else "login",
                attempt=self.connect_attempts,
            )
            try:
                socket = await self._dialer(noise, payload)
            except WireError as exc:
                return connection_lost(f"connect failed: {exc}")
            self.sockets_open += 1
            self.max_sockets_open = max(self.max_sockets_open, self.sockets_open)
            try:
                connection = Connection(
                    socket,
                    Router(),
                    clock=ctx.clock,
                    keepalive=Keepalive(
                        interval_min=ctx.options.keepalive_min,
                        interval_max=ctx.options.keepalive_max,
                        answer_timeout=ctx.options.keepalive_timeout,
                        uniform=ctx.options.uniform,
                    ),
                    iq_timeout=ctx.iq_timeout,
                    log=ctx.log,
                    counters=ctx.counters,
                )
                self._logged_in = False
                self._wire(connection, registering)
                self._connection = connection
                try:
                    return await connection.run()
                finally:
                    if self._messenger is not None:
                        self._messenger.on_disconnected()
                    self._last_liveness = connection.keepalive.liveness()
                    self._connection = None
                    self._logged_in = False
            finally:
                self.sockets_open -= 1

    def _wire(self, connection: Connection, registering: bool) -> None:
        """Fills the connection's handler table for this mode (the inbound table of contents)."""
        ctx = self._ctx
        router = connection.router

        async def on_stream_error(node: Node) -> None:
            connection.end(parse_stream_error(node))

        async def on_failure(node: Node) -> None:
            connection.end(parse_failure(node))

        async def on_stream_end(node: Node) -> None:
            connection.end(stream_end())

        async def on_other(node: Node) -> None:
            kind = stanza_kind(node)
            if kind not in IGNORED_KINDS:
                self._unknown.note(kind)
            if node.tag == "notification":
                await connection.send(build_ack(node))

        router.by_tag["stream:error"] = on_stream_error
        router.by_tag["failure"] = on_failure
        router.by_tag["xmlstreamend"] = on_stream_end
        router.fallback = on_other

        if registering:
            show_qr = self._mode is not Mode.PAIR_CODE
            code: CodePairing | None = None

            def on_refs(expires_at: float) -> None:
                if code is not None:
                    connection.spawn(code.start(expires_at))

            pairing = PairingFlow(ctx, connection, show_qr=show_qr, on_refs=on_refs)
            router.iq_by_child["pair-device"] = pairing.on_pair_device
            router.iq_by_child["pair-success"] = pairing.on_pair_success
            if self._mode is Mode.PAIR_CODE and self._code_phone is not None:
                code = CodePairing(ctx, connection, pairing, self._code_phone)
                router.notification_by_type["link_code_companion_reg"] = code.on_notification

            async def on_passkey_request(node: Node) -> None:
                await connection.send(build_ack(node))
                request = parse_passkey_request(node)
                ctx.log.warning(
                    "client.passkey_required", rp_id=request.rp_id, readable=request.readable
                )
                connection.end(
                    Decision(DisconnectAction.PASSKEY_REQUIRED, None, passkey_describe(request))
                )

            router.notification_by_type[PASSKEY_NOTIFICATION] = on_passkey_request
            return

        login = LoginFlow(ctx, connection, self._lids, self._on_logged_in)
        router.by_tag["success"] = login.on_success
        if self._messenger is not None:
            self._messenger.install(connection)
        if self._sync is not None:
            self._sync.install(connection)

        async def on_encrypt_notification(node: Node) -> None:
            await connection.send(build_ack(node))
            changed_user = node.attr_jid("from") if node.child("identity") is not None else None
            if changed_user is not None and self._messenger is not None:
                await self._messenger.on_identity_change(changed_user)
            count = parse_low_count_notification(node)
            if count is not None:
                ctx.log.info("client.prekeys_low", server=count)
                connection.spawn(self._replenish(connection))

        router.notification_by_type["encrypt"] = on_encrypt_notification

    async def _replenish(self, connection: Connection) -> None:
        ctx = self._ctx
        try:
            await ctx.prekeys.ensure(ctx.require_credentials(), connection.query)
        except (IqError, IqTimeout) as exc:
            ctx.log.warning("client.prekey_upload_failed", error=str(exc))
            ctx.publish(Alert(ctx.session_id, AlertKind.PREKEYS, f"prekey upload failed: {exc}"))

    async def _on_logged_in(self, success: LoginSuccess) -> None:
        ctx = self._ctx
        credentials = ctx.require_credentials()
        self._logged_in = True
        self._version_rechecked = False
        self._restarts_in_row = 0
        self._loop_alerted = False
        if self._messenger is not None:
            await self._messenger.on_connected()
        await self._transition(Trigger.LOGGED_IN, "logged in")
        self._backoff.on_connected(ctx.now())
        ctx.publish(
            Connected(
                ctx.session_id, credentials.pn_jid or "", credentials.lid_jid, success.server_time
            )
        )
        if self._sync is not None and self._connection is not None:
            await self._sync.on_connected(self._connection)

    async def _newer_version(self) -> bool:
        """After a 405: asks once (per login) whether the service announces a newer version
        than ours, and takes it. False when there is nothing newer to try."""
        ctx = self._ctx
        if self._version_check is None or self._version_rechecked:
            return False
        self._version_rechecked = True
        refused = ctx.config.client_version
        try:
            async with asyncio.timeout(VERSION_CHECK_TIMEOUT_S):
                latest = await self._version_check()
        except TimeoutError:
            ctx.log.warning("client.version_recheck_timed_out", refused=refused)
            return False
        ctx.log.info("client.version_rechecked", refused=refused, latest=latest)
        if latest == refused:
            return False
        self.set_client_version(latest)
        return True

    async def _follow(self, decision: Decision) -> bool:
        """Acts on how a connection ended; False when the session stops here."""
        ctx = self._ctx
        action = decision.action
        paired = ctx.credentials is not None and ctx.credentials.is_paired
        ctx.log.info(
            "client.disconnect_decision",
            code=decision.code,
            action=action.value,
            reason=decision.reason,
            state=self._state.value,
        )
        if action is DisconnectAction.OUTDATED and await self._newer_version():
            decision = Decision(
                DisconnectAction.BACK_OFF,
                decision.code,
                f"{decision.reason}; retrying with client_version {ctx.config.client_version}",
            )
            action = decision.action
        if action is DisconnectAction.RECONNECT_NOW:
            self._restarts_in_row += 1
            if self._restarts_in_row > MAX_RESTARTS_IN_ROW:
                decision = Decision(
                    DisconnectAction.BACK_OFF,
                    decision.code,
                    f"{decision.reason}; {self._restarts_in_row} restarts without a login",
                )
                action = decision.action
        if action is DisconnectAction.RECONNECT_NOW:
            ctx.publish(Disconnected(ctx.session_id, decision, 0.0))
            if self._state is SessionState.PAIRING and not paired:
                return True  # a restart before anyone scanned: register again at once
            await self._transition(Trigger.PAIRED_RESTART, f"{decision.code}: {decision.reason}")
            return True
        if action is DisconnectAction.BACK_OFF:
            now = ctx.now()
            self._backoff.on_disconnected(now)
            delay = self._backoff.next_delay()
            self.delays.append(delay)
            await self._transition(
                Trigger.CONNECTION_LOST, _describe(decision), error=decision.reason
            )
            ctx.log.info("client.backing_off", delay=round(delay, 3), attempt=self._backoff.attempt)
            ctx.publish(Disconnected(ctx.session_id, decision, delay))
            if self._backoff.attempt >= LOOP_ALERT_AFTER and not self._loop_alerted:
                self._loop_alerted = True
                message = (
                    f"{self._backoff.attempt} failed attempts in a row; last: {decision.reason}"
                )
                ctx.log.warning("client.reconnect_loop", attempts=self._backoff.attempt)
                ctx.publish(Alert(ctx.session_id, AlertKind.RECONNECT_LOOP, message))
            await asyncio.sleep(delay)
            if paired:
                await self._transition(Trigger.RETRY_DUE, f"retrying after {delay:.3f} s")
            else:
                await self._transition(Trigger.START_PAIRING, f"pairing again after {delay:.3f} s")
            return True
        ctx.publish(Disconnected(ctx.session_id, decision, None))
        if action is DisconnectAction.LOGGED_OUT:
            with contextlib.suppress(NotFound):
                await ctx.store.credentials.retire(ctx.session_id, _describe(decision))
            ctx.credentials = None
        if action in _ALERTS:
            message = _describe(decision)
            if action is DisconnectAction.OUTDATED:
                message += (
                    f"; client_version {ctx.config.client_version} was refused"
                    f"{' even after re-checking the service' if self._version_rechecked else ''}."
                    ' Set whatsapp.client_version to "auto" (or to the current WhatsApp Web'
                    " version), restart wamd, then reconnect the session"
                    f" (POST /sessions/{ctx.session_id}/reconnect)"
                )
            elif action is DisconnectAction.REPLACED:
                message += "; not reconnecting automatically (another client took over)"
            ctx.publish(Alert(ctx.session_id, _ALERTS[action], message))
        await self._transition(decision.trigger, _describe(decision), error=decision.reason)
        return False


def _describe(decision: Decision) -> str:
    code = f"{decision.code}: " if decision.code is not None else ""
    return f"{code}{decision.reason}"


__all__ = ["Mode", "Session", "default_transport"]
