"""History sync, app-state sync, media and peer requests of one session, wired together.

The session makes one :class:`SyncServices` next to its messenger and calls three things:
:meth:`SyncServices.install` for every new connection (it registers the ``server_sync`` and
``mediaretry`` notification handlers and, when eager download is on, the task that fetches the
files of incoming messages), :meth:`SyncServices.on_connected` once logged in (it resumes
unfinished history chunks and catches up on app state), and :meth:`SyncServices.close`.

Protocol messages from our phone (history sync notifications, app-state key shares) reach the
services through the messenger's protocol hooks, after the receive path stored them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daemon.client.app_state_recovery import AppStateRecovery
from daemon.client.app_state_sync import AppStateSync
from daemon.client.connection import Connection
from daemon.client.events import EventBus
from daemon.client.history_sync import HistorySync, HistorySyncOptions
from daemon.client.media_conn import MediaConnCache
from daemon.client.media_download import MediaDownloader
from daemon.client.media_http import MediaHttp, MediaHttpOptions, scheme_for
from daemon.client.media_service import MediaOptions, MediaService
from daemon.client.media_store import MediaStore
from daemon.client.media_upload import MediaUploader
from daemon.client.messenger import Messenger
from daemon.client.peer_data import PeerData
from daemon.client.peer_messages import PeerMessages
from daemon.client.placeholder_resend import PlaceholderResend
from daemon.client.sync_events import SyncEvent
from daemon.client.tls import trust_context
from daemon.config import SyncConfig, WhatsAppConfig
from storage.sync_interfaces import SyncStore


@dataclass(frozen=True, slots=True)
class SyncOptions:
    history: HistorySyncOptions = field(default_factory=HistorySyncOptions)
    media: MediaOptions = field(default_factory=MediaOptions)
    media_http: MediaHttpOptions = field(default_factory=MediaHttpOptions)


def sync_options(config: SyncConfig, whatsapp: WhatsAppConfig) -> SyncOptions:
    """The options of the ``[sync]`` configuration section; media go over http when the
    endpoint is a plain ws:// one (a local sandbox serves its media host on that origin), else
    over https trusting what the websocket trusts (``whatsapp.ca_file``)."""
    scheme = scheme_for(whatsapp.ws_url)
    return SyncOptions(
        history=HistorySyncOptions(
            full_history=config.full_history,
            since_days=config.history_days,
            dry_run=config.history_dry_run,
        ),
        media=MediaOptions(
            eager_download=config.eager_media,
            eager_max_bytes=config.eager_media_max_bytes,
            retry_on_expiry=config.media_retry,
        ),
        media_http=MediaHttpOptions(
            scheme=scheme,
            ssl_context=trust_context(whatsapp.ca_file) if scheme == "https" else None,
        ),
    )


class SyncServices:
    def __init__(
        self,
        messenger: Messenger,
        store: SyncStore,
        media_root: Path,
        publish: Callable[[SyncEvent], None],
        bus: EventBus,
        options: SyncOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or SyncOptions()
        self.store = store
        """The sync tables (chat settings, contact names, collections, media, chunks)."""
        m = messenger.context
        self._bus = bus
        self.http = MediaHttp(self.options.media_http)
        self.media_conn = MediaConnCache(clock)
        self.files = MediaStore(media_root)
        log = m.log
        self.uploader = MediaUploader(self.http, self.media_conn, self.files, log)
        self.downloader = MediaDownloader(self.http, self.media_conn, self.files, log)
        self.peers = PeerMessages(m, messenger.device_sessions)
        self.history = HistorySync(m, store, self.downloader, publish, self.options.history)
        self.app_state = AppStateSync(m, store, self.downloader, self.peers, publish)
        self.media = MediaService(
            m, store, self.files, self.uploader, self.downloader, publish, self.options.media
        )
        self.peer_data = PeerData(m, store, self.peers, self.history)
        self.placeholders = PlaceholderResend(messenger, self.peers)
        self.recovery = AppStateRecovery(m, self.peers, self.app_state)
        self.app_state.on_unrecoverable = self.recovery.request
        messenger.protocol_hooks.append(self.app_state.on_protocol)
        messenger.protocol_hooks.append(self.history.on_protocol)
        messenger.protocol_hooks.append(self.placeholders.on_protocol)
        messenger.protocol_hooks.append(self.recovery.on_protocol)
        messenger.missing_hooks.append(self.placeholders.request)

    def install(self, connection: Connection) -> None:
        """Registers the handlers of a new connection (after the messenger's)."""
        router = connection.router
        app_state, media = self.app_state, self.media

        router.notification_by_type["server_sync"] = lambda node: app_state.on_server_sync(
            connection, node
        )
        router.notification_by_type["mediaretry"] = lambda node: media.on_retry_notification(
            connection, node
        )
        if self.options.media.eager_download:
            connection.spawn(media.eager(self._bus.subscribe()))

    async def on_connected(self, connection: Connection) -> None:
        """Logged in: resume history chunks left pending, catch up on app state."""
        if connection.ended:
            return  # a task spawned on an ended connection would never run
        connection.spawn(self._resume(connection))
        await self.app_state.on_connected(connection)

    async def _resume(self, connection: Connection) -> None:
        await self.history.resume(connection)

    async def close(self) -> None:
        await self.http.close()
