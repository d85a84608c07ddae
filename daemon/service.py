"""``wamd run``: the daemon process.

Start-up, in order: open the database (migrating it), open every session's client, start the
webhook dispatcher and deliverer, requeue the outbox, serve the HTTP API, connect the
auto-connect sessions (staggered), then tell systemd READY. The process then waits for SIGTERM
or SIGINT while a TaskGroup runs its housekeeping (watchdog pings, event-log retention, the
health supervisor).

Shutdown (bounded by ``manager.shutdown_timeout_s``): STOPPING to systemd, the API stops
accepting writes and event streams end, the outbox lets in-flight sends finish, webhook
deliveries in flight finish, every client closes its socket and live sessions are recorded as
``disconnected``, the HTTP server and the database close. Exit status 0.

This module also holds the adapters between the daemon and ``daemon.client``: the outbox's
sender (:class:`ClientSender`) and the session
opener that wires each client's messaging events into the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import structlog
from aiohttp import web

from daemon import event_loop
from daemon.backfill import Backfill
from daemon.binary import JID
from daemon.campaigns.dispatcher import CAMPAIGNS_ROLE, CampaignDispatcher
from daemon.campaigns.files import CampaignFiles
from daemon.campaigns.service import CampaignService
from daemon.client.errors import ClientError, NotConnected
from daemon.client.media_message import MediaContentError
from daemon.client.message_content import (
    Content,
    ContentError,
    Edit,
    Media,
    Reaction,
    Reply,
    Revoke,
    Text,
)
from daemon.client.messaging_errors import (
    NewChatsRestricted,
    NoRecipientDevices,
    NotGroupMember,
    SendRefused,
    SendTimeout,
    TargetNotFound,
)
from daemon.client.send import OutgoingMessage
from daemon.client.session import Session
from daemon.client.sync_errors import MediaError
from daemon.client.sync_services import sync_options
from daemon.client.tls import TrustError, trust_context
from daemon.client_version import VersionKeeper
from daemon.config import Config, ConfigError
from daemon.eventlog import EventLog, EventLogSink
from daemon.fleet.coordinator import FleetCoordinator, node_name
from daemon.fleet.host import FleetHost
from daemon.linked_device import LinkedDevice, MediaSending, MessageSending
from daemon.manager import SessionManager, client_options
from daemon.media_reuse import ReuseKey, UploadReuse
from daemon.metrics import DaemonMetrics
from daemon.outbox import (
    HeldError,
    MessageKind,
    MessageSender,
    Outbox,
    PermanentSendError,
    QueuedMessage,
    RestrictedError,
    SendRequest,
    ServerAck,
    TransientSendError,
)
from daemon.send_content import MediaAttachment, card_message, outgoing_media
from daemon.state_dir import prepare_state_dir
from daemon.state_lock import StateLock
from daemon.systemd import Notifier
from daemon.webhooks import WEBHOOKS_ROLE, WebhookService
from daemon.wire.errors import WireError
from http_api.app import create_app
from http_api.auth import KeyStore, generate_admin_key
from http_api.health import HealthChecker
from http_api.keys import Services
from storage.backend import open_stores
from storage.errors import StorageError
from storage.fleet_interfaces import CommitWatch
from storage.stores import Stores

log = structlog.get_logger("daemon.service")

ADMIN_KEY_FILE = "admin-api-key"
MIN_ADMIN_KEY = 16
RETENTION_EVERY_S = 3600.0
SUPERVISE_EVERY_S = 5.0
DB_CLOSE_RESERVE_S = 1.0
"""Of ``shutdown_timeout_s``, what is kept for closing the database (at most a quarter)."""
# Server error codes that mean "this account is sending too much": the outbox pauses the
# session instead of retrying (user-asks §15). 463 is not one of them: it is about one contact
# (no privacy token for a new chat), so only that message fails, with the reason, and the
# client issues its token for recovery; retrying would count as another reach-out.
RESTRICTION_CODES = frozenset({429})
NO_PRIVACY_TOKEN = 463
NO_PRIVACY_TOKEN_REASON = (
    "463: the service refused this message to this contact (no privacy token for a new chat; "
    "the account may be restricted from starting chats). Not retried: a retry counts as "
    "another reach-out. Other chats are not affected."
)


# ---------------------------------------------------------------------------- client adapters


def content_of(request: SendRequest) -> Content:
    """The client's content value for an outbox request."""
    try:
        if request.location is not None or request.contacts:
            return Media(card_message(request).SerializeToString())
        if request.kind is MessageKind.TEXT:
            return Text(request.text or "")
        if request.kind is MessageKind.REPLY:
            return Reply(request.text or "", request.quoted_id or "")
        if request.kind is MessageKind.REACTION:
            return Reaction(request.target_id or "", request.emoji or "")
        if request.kind is MessageKind.EDIT:
            return Edit(request.target_id or "", request.text or "")
        return Revoke(request.target_id or "")
    except ContentError as exc:
        raise PermanentSendError(str(exc)) from exc


class ClientSender:
    """The outbox's :class:`~daemon.outbox.MessageSender` over the sessions' messengers."""

    def __init__(self, manager: SessionManager) -> None:
        self._manager = manager
        self._uploads = UploadReuse()

    def is_connected(self, session_id: str) -> bool:
        return self._manager.is_connected(session_id)

    async def send(self, message: QueuedMessage) -> ServerAck:
        client = self._manager.client(message.session_id)
        request = message.request
        if request.media is not None:
            return await self._send_media(client, message, request.media)
        out = OutgoingMessage(
            JID.parse(request.to),
            content_of(request),
            message.id,
            message.on_written,
            message.stage_attempt,
            message.record_done,
        )
        if not isinstance(client, MessageSending):
            raise PermanentSendError("this session's client cannot send messages")
        with _send_errors():
            result = await client.send(out)
        return ServerAck(result.timestamp)

    async def _send_media(
        self, client: LinkedDevice, message: QueuedMessage, attachment: MediaAttachment
    ) -> ServerAck:
        """Uploads the staged file and sends the message announcing it (the outbox removes
        the staged copy once the row is sent; the media store keeps its own). A campaign's
        shared file is uploaded once and that upload announced to every recipient."""
        if not isinstance(client, MediaSending):
            raise PermanentSendError("this session's client cannot send media")
        path = Path(attachment.file.path)
        if not path.is_file():
            raise PermanentSendError("the staged file of this message is gone")
        try:
            media = outgoing_media(attachment)
        except MediaContentError as exc:
            raise PermanentSendError(str(exc)) from exc
        key = (
            ReuseKey(message.session_id, str(path), attachment.file.sha256, media.kind.value)
            if attachment.shared
            else None
        )
        if message.stage_attempt is not None:
            await message.stage_attempt()  # committed before the upload and the send
        with _send_errors():
            try:
                sent = await client.send_media(
                    JID.parse(message.request.to),
                    media,
                    message_id=message.id,
                    reuse=None if key is None else self._uploads.get(key),
                )
            except MediaError as exc:
                raise TransientSendError(f"upload failed: {exc}") from exc
        if key is not None:
            self._uploads.put(key, sent.upload)
        return ServerAck(sent.result.timestamp)


@contextlib.contextmanager
def _send_errors() -> Iterator[None]:
    """The client's send errors as the outbox's SendFailed kinds."""
    try:
        yield
    except (NotConnected, SendTimeout) as exc:
        raise TransientSendError(str(exc)) from exc
    except NewChatsRestricted as exc:
        raise HeldError(exc.until, exc.reason) from exc
    except SendRefused as exc:
        if exc.code == NO_PRIVACY_TOKEN:
            raise PermanentSendError(NO_PRIVACY_TOKEN_REASON) from exc
        if exc.code in RESTRICTION_CODES:
            raise RestrictedError(exc.code, str(exc)) from exc
        if exc.code >= 500 or exc.code == 408:
            raise TransientSendError(str(exc)) from exc
        raise PermanentSendError(str(exc)) from exc
    except (NoRecipientDevices, NotGroupMember, TargetNotFound, ContentError) as exc:
        raise PermanentSendError(str(exc)) from exc
    except ClientError as exc:
        raise TransientSendError(str(exc)) from exc
    except (WireError, ConnectionError) as exc:
        # The socket went away somewhere in the send: a connection loss, retried later.
        raise TransientSendError(f"connection lost: {exc}") from exc


# ---------------------------------------------------------------------------- the process


def admin_key(config: Config, state_dir: Path) -> str:
    """The configured admin key, else the one kept in the state directory (made on first
    start, mode 0600)."""
    if config.http.api_key:
        if len(config.http.api_key) < MIN_ADMIN_KEY:
            raise ConfigError(
                f"http.api_key: expected at least {MIN_ADMIN_KEY} characters (or leave it "
                "empty: wamd then generates one in the state directory)"
            )
        return config.http.api_key
    path = state_dir / ADMIN_KEY_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    key = generate_admin_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    log.warning("daemon.admin_key_generated", path=str(path))
    return key


@dataclass(slots=True)
class Daemon:
    """The running parts, for the process and for tests that run a daemon in-process."""

    config: Config
    stores: Stores
    services: Services
    outbox: Outbox
    webhooks: WebhookService
    manager: SessionManager
    runner: web.AppRunner
    url: str
    versions: VersionKeeper
    backfill: Backfill
    lock: StateLock
    campaigns: CampaignDispatcher
    fleet: FleetCoordinator | None = None
    watch: CommitWatch | None = None
    """In a fleet: wakes this daemon's event followers when another daemon commits events."""

    async def stop(self) -> None:
        """Every part stops in order; one that fails or hangs is logged and the rest still
        stop, and the whole stop takes at most ``manager.shutdown_timeout_s`` (the database
        is closed last, whatever happened before)."""
        grace = self.config.manager.shutdown_timeout_s
        reserve = min(DB_CLOSE_RESERVE_S, grace / 4)
        log.info("daemon.stopping", grace_s=grace)
        fleet = self.fleet
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if fleet is not None:
            # The others stop counting this daemon at once; its leases are released only
            # once its sessions are closed, so their last writes still pass the fence.
            steps.append(("fleet-leaving", fleet.leaving))
        steps += [
            ("api-gate", self.services.gate.close),
            ("campaigns", lambda: self.campaigns.stop(grace / 8)),
            ("outbox", lambda: self.outbox.stop(grace / 2)),
            # A delivery cut short here is attempted again after the restart (at least once).
            ("webhooks", lambda: self.webhooks.stop(grace / 8)),
            ("backfill", self.backfill.stop),
            ("sessions", self.manager.shutdown),
        ]
        if fleet is not None:
            steps.append(("fleet", fleet.stop))
        if self.watch is not None:
            steps.append(("event-watch", self.watch.close))
        steps.append(("http", self.runner.cleanup))
        try:
            async with asyncio.timeout(grace - reserve):
                for name, step in steps:
                    try:
                        await step()
                    except Exception:
                        log.exception("daemon.stop_step_failed", step=name)
        except TimeoutError:
            log.error("daemon.stop_timed_out", step=name, grace_s=grace)
        finally:
            try:
                async with asyncio.timeout(reserve):
                    await self.stores.close()
            except Exception:
                log.exception("daemon.stop_step_failed", step="database")
            finally:
                self.lock.release()
        log.info("daemon.stopped")


async def start_daemon(config: Config) -> Daemon:
    """Starts every part (see the module docstring) and returns once the API listens."""
    if config.whatsapp.ws_url.startswith("wss://"):
        try:
            trust_context(config.whatsapp.ca_file)
        except TrustError as exc:
            raise ConfigError(f"whatsapp.ca_file: {exc}") from None
    state_dir = Path(config.storage.state_dir)
    for tightened in prepare_state_dir(state_dir, config.storage.database_path):
        log.warning(
            "daemon.directory_tightened",
            path=str(tightened.path),
            previous_mode=f"{tightened.previous_mode:04o}",
            mode=f"{tightened.path.stat().st_mode & 0o777:04o}",
        )
    lock = StateLock(config.storage.database_path)
    lock.acquire()
    try:
        stores = await open_stores(
            config.storage.database_path,
            url=config.storage.url,
            pool_size=config.storage.pool_size,
        )
    except BaseException:
        lock.release()
        raise
    watch: CommitWatch | None = None
    try:
        key = admin_key(config, state_dir)
        events = EventLog(stores)
        manager_ref: list[SessionManager] = []

        def on_inbound(session_id: str, at: float) -> None:
            if manager_ref:
                manager_ref[0].note_inbound_message(session_id, at)

        metrics = DaemonMetrics(stores)
        sink = EventLogSink(events, stores, on_inbound=on_inbound)
        versions = VersionKeeper(config.whatsapp)
        await versions.refresh("start-up")
        options = dataclasses.replace(
            client_options(config.client), auto_reject_calls=config.calls.auto_reject
        )

        fleet_repo = stores.fleet
        coordinator = (
            None
            if fleet_repo is None
            else FleetCoordinator(
                stores, fleet_repo, config, node_name(config, config.http.port), ""
            )
        )

        def owned(session_id: str) -> Stores:
            return stores if coordinator is None else coordinator.owned(session_id)

        async def open_session(session_id: str, name: str) -> LinkedDevice:
            session = await Session.open(
                owned(session_id),
                session_id,
                dataclasses.replace(config.whatsapp, client_version=versions.current),
                options=options,
                name=name,
                sync_options=sync_options(config.sync, config.whatsapp),
                version_check=versions.recheck,
            )
            session.messenger.set_sink(sink)
            versions.attach(session)
            session.counters.persist_observer = metrics.inbound_persist.observe
            return session

        backfill = Backfill(config.sync, stores.messages.chats, events.append)
        manager = SessionManager(
            config,
            stores,
            events,
            open_session,
            on_back_online=backfill.on_back_online,
            owned=owned,
            fleet=coordinator is not None,
        )
        if coordinator is not None:
            manager.use_fleet(coordinator.claim)
        manager_ref.append(manager)
        metrics.watch(manager)
        sender: MessageSender = ClientSender(manager)

        def own_user(session_id: str) -> str | None:
            if not manager.has(session_id):
                return None
            credentials = manager.client(session_id).credentials
            if credentials is None or credentials.pn_jid is None:
                return None
            return credentials.pn_jid.split("@", 1)[0].split(":", 1)[0]

        outbox = Outbox(
            stores,
            events,
            sender,
            config.outbox,
            own_user=own_user,
            on_sent=metrics.send_latency.observe,
        )
        if coordinator is not None:
            coordinator.bind(FleetHost(manager, outbox, stores.outbox))
        webhooks = WebhookService(stores, events, config.webhooks)
        campaign_store = stores.campaigns
        campaign_files = CampaignFiles(Path(config.storage.state_dir), campaign_store)
        dispatcher = CampaignDispatcher(
            campaign_store,
            events,
            outbox,
            manager,
            campaign_files,
            fleet=coordinator is not None,
        )
        campaigns = CampaignService(
            campaign_store, events, config.campaigns, campaign_files, on_change=dispatcher.wake
        )
        keys = KeyStore(stores, key, leases=coordinator)
        health = HealthChecker(stores, manager, timeout=config.http.health_db_timeout_s)
        services = Services(
            config=config,
            stores=stores,
            manager=manager,
            outbox=outbox,
            events=events,
            webhooks=webhooks,
            keys=keys,
            health=health,
            messages=stores.messages,
            metrics=metrics,
            campaigns=campaigns,
            fleet=coordinator,
        )
        await manager.open_all()
        if fleet_repo is not None:
            watch = fleet_repo.watch_events(events.committed_elsewhere)
        if coordinator is None:
            await webhooks.start()
        else:
            await webhooks.prepare()
            coordinator.want_role(WEBHOOKS_ROLE, webhooks)
            coordinator.want_role(CAMPAIGNS_ROLE, dispatcher)
        if coordinator is None:
            await outbox.start()
        # In a fleet this daemon holds no session yet: each one's rows are requeued and its
        # worker woken when it is taken (daemon/fleet/host.py).
        await dispatcher.start()
        runner = web.AppRunner(
            create_app(services),
            shutdown_timeout=1.0,
            access_log=None,
            handle_signals=False,
            # aiohttp closes a connection that has not sent a whole request within the
            # keep-alive timeout of opening or of its last answer: the header-read timeout.
            keepalive_timeout=config.http.header_timeout_s,
        )
        await runner.setup()
        site = web.TCPSite(runner, config.http.host, config.http.port)
        await site.start()
        port = config.http.port
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                port = int(address[1])
        url = f"http://{config.http.host}:{port}"
        lock.announce(url)
        await manager.start()
        if coordinator is not None:
            coordinator.node_id = node_name(config, port)
            coordinator.url = config.fleet.advertise_url or url
            coordinator.start()
    except BaseException:
        if watch is not None:
            await watch.close()
        await stores.close()
        lock.release()
        raise
    return Daemon(
        config,
        stores,
        services,
        outbox,
        webhooks,
        manager,
        runner,
        url,
        versions,
        backfill,
        lock,
        dispatcher,
        coordinator,
        watch,
    )


async def _housekeeping(daemon: Daemon) -> None:
    """Retention of old events and the health supervisor (a dead component is reported)."""
    retention = timedelta(days=daemon.config.events.retention_days)
    next_prune = time.monotonic() + 60.0
    while True:
        await asyncio.sleep(SUPERVISE_EVERY_S)
        failure = daemon.webhooks.failure or daemon.manager.failure
        if daemon.fleet is not None:
            failure = failure or daemon.fleet.failure
        daemon.services.health.critical = failure
        if time.monotonic() >= next_prune:
            next_prune = time.monotonic() + RETENTION_EVERY_S
            with contextlib.suppress(StorageError):
                await daemon.services.events.prune(retention)


async def run_daemon(config: Config, notifier: Notifier | None = None) -> int:
    """Runs until SIGTERM/SIGINT; returns the exit status."""
    systemd = notifier or Notifier()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    systemd.status("starting")
    daemon = await start_daemon(config)
    counts = daemon.manager.counts()
    log.info(
        "daemon.ready",
        http_url=daemon.url,
        sessions=counts.total,
        pid=os.getpid(),
        event_loop=event_loop.running_kind().value,
    )
    systemd.ready(f"serving {daemon.url}; {counts.total} sessions")
    try:
        async with asyncio.TaskGroup() as group:
            chores = [
                group.create_task(systemd.run_watchdog(), name="wamd-watchdog"),
                group.create_task(_housekeeping(daemon), name="wamd-housekeeping"),
                group.create_task(daemon.versions.run(), name="wamd-client-version"),
            ]
            await stop.wait()
            for chore in chores:
                chore.cancel()
    finally:
        systemd.stopping()
        await daemon.stop()
    return 0


__all__ = [
    "ClientSender",
    "Daemon",
    "admin_key",
    "content_of",
    "run_daemon",
    "start_daemon",
]
