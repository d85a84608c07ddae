"""Which WhatsApp Web version the sessions announce, kept fresh.

The service refuses retired client versions with 405, and any version built into a release ages
out. With ``whatsapp.client_version = "auto"`` (the default) the daemon reads the current web
client version from the service at start-up and once a day — the ``"client_revision":N,`` in the
page at the service's web origin is version ``2.3000.N`` (whatsmeow update.go) — and falls back to
the built-in version when that fails. A configured version (three dotted numbers) is used as is.
Every change is logged with where the version came from.

When a session is refused with 405 it asks :meth:`VersionKeeper.recheck` once before it stops as
``outdated``: if the service announces a newer version by then, it dials again with that one.
"""

from __future__ import annotations

import asyncio
import enum
import re
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import structlog

from daemon.config import AUTO_CLIENT_VERSION, REAL_CLIENT_VERSION, WhatsAppConfig

log = structlog.get_logger("daemon.client_version")

REFRESH_EVERY_S = 86_400.0
FETCH_TIMEOUT_S = 10.0
MAX_PAGE_BYTES = 4 * 1024 * 1024
_REVISION = re.compile(rb'"client_revision":(\d+),')
# The service serves its page to browsers; a bare client gets a different answer.
_BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/148.0.0.0 Safari/537.36",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
}


class VersionSource(enum.StrEnum):
    CONFIGURED = "configured"
    SERVICE = "service"
    BUILTIN = "builtin"


class VersionUnavailable(Exception):
    """The service's current version could not be read."""


class VersionUser(Protocol):
    def set_client_version(self, version: str) -> None: ...


Fetch = Callable[[str], Awaitable[str]]


def parse_web_version(page: bytes) -> str | None:
    """The version the web client page announces (pure)."""
    match = _REVISION.search(page)
    return f"2.3000.{int(match.group(1))}" if match else None


def version_url(config: WhatsAppConfig) -> str:
    """``whatsapp.version_url``, else the web origin of the websocket endpoint."""
    if config.version_url:
        return config.version_url
    parts = urlsplit(config.ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "/", "", ""))


async def fetch_web_version(url: str) -> str:
    """Reads the current web client version from the page at ``url``."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)) as http,
            http.get(url, headers=_BROWSER_HEADERS) as response,
        ):
            if response.status != 200:
                raise VersionUnavailable(f"{url} answered {response.status}")
            page = await response.content.read(MAX_PAGE_BYTES)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise VersionUnavailable(f"{url}: {exc!r}") from None
    version = parse_web_version(page)
    if version is None:
        raise VersionUnavailable(f"{url} names no client_revision")
    return version


class VersionKeeper:
    def __init__(self, config: WhatsAppConfig, fetch: Fetch = fetch_web_version) -> None:
        self._auto = config.client_version == AUTO_CLIENT_VERSION
        self._url = version_url(config)
        self._fetch = fetch
        self.current = REAL_CLIENT_VERSION if self._auto else config.client_version
        self.source = VersionSource.BUILTIN if self._auto else VersionSource.CONFIGURED
        self._users: weakref.WeakSet[VersionUser] = weakref.WeakSet()
        self._lock = asyncio.Lock()

    def attach(self, user: VersionUser) -> None:
        """``user`` (a session) gets every later change of version."""
        self._users.add(user)

    async def refresh(self, why: str) -> str:
        """Reads the service's version (``auto`` only); returns the version in use."""
        if not self._auto:
            log.info("daemon.client_version", version=self.current, source=self.source, why=why)
            return self.current
        async with self._lock:
            try:
                found = await self._fetch(self._url)
            except VersionUnavailable as exc:
                log.warning(
                    "daemon.client_version_unavailable",
                    error=str(exc),
                    keeping=self.current,
                    source=self.source,
                )
                return self.current
            changed = found != self.current
            self.current, self.source = found, VersionSource.SERVICE
            log.info("daemon.client_version", version=found, source=self.source, why=why)
            if changed:
                for user in list(self._users):
                    user.set_client_version(found)
            return found

    async def recheck(self) -> str:
        """After a 405: the version to try again with (the same one when nothing newer)."""
        return await self.refresh("refused with 405")

    async def run(self, every: float = REFRESH_EVERY_S) -> None:
        """Refreshes once a day until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh("daily")
            except Exception:
                log.exception("daemon.client_version_refresh_failed")
