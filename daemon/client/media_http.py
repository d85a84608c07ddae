"""The HTTP side of media: one aiohttp client per session while it transfers, and the media
host URLs.

Upload (protocol-inventory §8.3): ``POST <scheme>://<host>/mms/<mms type>/<token>?auth=<auth>
&token=<token>`` with ``Origin: https://web.whatsapp.com``, ``token`` being the base64url
SHA-256 of the body (padding stripped, as Baileys sends it; the service takes both).

Download (§8.4): ``<scheme>://<host><direct path>&hash=<token>&mms-type=<type>&__wa-mms=``.
Real direct paths already carry a query (``/v/t62…enc?ccb=…``), hence the ``&``; one without
gets a ``?``. The hosts are media_conn's, in order; the message's own ``url`` host comes last.

The scheme is https against WhatsApp; a sandbox on plain ws:// serves its media over http on
the same origin, so the session derives the scheme from its websocket URL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import aiohttp
import structlog

from daemon.client.media_conn import MediaHost
from daemon.client.tls import trust_context

WEB_ORIGIN = "https://web.whatsapp.com"
DEFAULT_TIMEOUT_S = 60.0
CHUNK_BYTES = 64 * 1024
IDLE_CLOSE_S = 60.0
"""A session's HTTP client is closed once it has done nothing for this long."""
CLOSE_WAIT_S = 5.0

log = structlog.get_logger("daemon.client")


def file_token(file_enc_sha256: bytes) -> str:
    return base64.urlsafe_b64encode(file_enc_sha256).decode().rstrip("=")


def scheme_for(ws_url: str) -> str:
    """http for a ws:// endpoint (a local sandbox), https otherwise."""
    return "http" if ws_url.startswith("ws://") else "https"


@dataclass(frozen=True, slots=True)
class MediaHttpOptions:
    scheme: str = "https"
    ssl_context: ssl.SSLContext | None = None
    """TLS settings for https; None means a verifying context with the system's trust store."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Per request (connect, send and read together)."""


class MediaHttp:
    """Owns the aiohttp client session: made on first use, closed once it has been idle for
    ``idle_close_s`` (an idle WhatsApp session holds no HTTP client, its pool and its TLS
    context; the next transfer makes a new one) and by :meth:`close`."""

    def __init__(
        self, options: MediaHttpOptions | None = None, idle_close_s: float = IDLE_CLOSE_S
    ) -> None:
        self.options = options or MediaHttpOptions()
        self.idle_close_s = idle_close_s
        self._session: aiohttp.ClientSession | None = None
        self._busy = 0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def holds_session(self) -> bool:
        return self._session is not None

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[aiohttp.ClientSession]:
        """The client session for one transfer (requests made and read inside the block)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._busy += 1
        try:
            yield self._open()
        finally:
            self._busy -= 1
            if self._busy == 0 and self._session is not None:
                self._idle_timer = asyncio.get_running_loop().call_later(
                    self.idle_close_s, self._close_idle
                )

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.options.ssl_context or trust_context())
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.options.timeout_s),
                headers={"Origin": WEB_ORIGIN},
            )
        return self._session

    def _close_idle(self) -> None:
        self._idle_timer = None
        session, self._session = self._session, None
        if session is None:
            return
        task = asyncio.get_running_loop().create_task(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("client.media_http_close_failed", error=repr(task.exception()))

    async def close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._closing:
            await asyncio.wait(self._closing, timeout=CLOSE_WAIT_S)

    def upload_url(self, host: MediaHost, mms_type: str, auth: str, token: str) -> str:
        base = f"{self.options.scheme}://{host.hostname}/mms/{mms_type}/{token}"
        return f"{base}?auth={quote(auth, safe='')}&token={token}"

    def download_urls(
        self, hosts: Sequence[MediaHost], direct_path: str, token: str, mms_type: str, url: str
    ) -> list[str]:
        """The URLs to try, in order: every media_conn host, then the message's own host."""
        query = f"hash={token}&mms-type={mms_type}&__wa-mms="
        path = direct_path + ("&" if "?" in direct_path else "?") + query
        names = [h.hostname for h in hosts]
        if url:
            own = urlsplit(url).netloc
            if own and own not in names:
                names.append(own)
        return [f"{self.options.scheme}://{name}{path}" for name in names]
