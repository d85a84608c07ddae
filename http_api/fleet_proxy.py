"""In a fleet, a request about a session is served by the daemon that owns it.

Every daemon answers for every session: a request under ``/sessions/{id}`` reaching a daemon
that does not own the session is forwarded to its owner's API (method, path, query, body and
the caller's key unchanged) and the answer is streamed back. A session nobody owns is taken
here first (a new session to pair, a session no daemon connects). While a session changes
hands (its owner died and its lease has not expired yet) the answer is 503 with a
``Retry-After``. Event streams are the exception: they read the shared event log, so any
daemon serves them itself.

A forwarded request carries ``x-wamd-forwarded-by``; a daemon receiving one serves it if it
still owns the session and answers 503 otherwise, never forwarding again, so two daemons that
disagree for a moment cannot bounce a request forever.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

import aiohttp
import structlog
from aiohttp import web
from multidict import CIMultiDict

from daemon.fleet.coordinator import Route
from http_api.problems import Problem

log = structlog.get_logger("http_api.fleet")

__all__ = ["FORWARDED_HEADER", "FleetProxy", "FleetRouter", "session_of"]

FORWARDED_HEADER: Final = "x-wamd-forwarded-by"
_SESSION_PATH: Final = re.compile(r"^/sessions/([^/]+)(/.*)?$")
_LOCAL_SUFFIXES: Final = frozenset({"/events"})
# Headers that describe one connection, not the request (RFC 9110 §7.6.1), and those aiohttp
# sets itself for the new request or answer.
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)
FORWARD_TIMEOUT_S: Final = 120.0
RETRY_AFTER_S: Final = 2


class FleetRouter(Protocol):
    node_id: str

    async def route(self, session_id: str) -> Route: ...

    def owns(self, session_id: str) -> bool: ...


def session_of(path: str) -> str | None:
    """The session a path is about, unless the path is one every daemon serves itself."""
    match = _SESSION_PATH.match(path)
    if match is None:
        return None
    if (match.group(2) or "") in _LOCAL_SUFFIXES:
        return None
    return match.group(1)


class FleetProxy:
    """Forwarding (:meth:`forward`, a step of :class:`http_api.middlewares.ApiMiddleware`)
    and the client it forwards with (closed by :meth:`close`, an ``on_cleanup`` hook)."""

    def __init__(self, router: FleetRouter) -> None:
        self._router = router
        self._client: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None:
            self._client = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S), auto_decompress=False
            )
        return self._client

    async def close(self, _app: web.Application) -> None:
        if self._client is not None:
            await self._client.close()

    async def forward(self, request: web.Request) -> web.StreamResponse | None:
        """The owner's answer to a request about a session owned elsewhere; None when this
        daemon serves the request itself."""
        session_id = session_of(request.path)
        if session_id is None:
            return None
        if FORWARDED_HEADER in request.headers:
            # Sent here as the owner: serve it, unless the session left this daemon since
            # the sender looked (never forwarded again: the sender retries).
            if self._router.owns(session_id):
                return None
            raise _moving(session_id)
        route = await self._router.route(session_id)
        if route.local:
            return None
        if route.url is None:
            raise _moving(session_id)
        return await _forward(self._session(), request, route.url, self._router.node_id)


def _moving(session_id: str) -> Problem:
    return Problem(
        503,
        "session-moving",
        f"session {session_id!r} is changing daemons; retry in a few seconds",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _forward(
    client: aiohttp.ClientSession, request: web.Request, base_url: str, node_id: str
) -> web.StreamResponse:
    headers = CIMultiDict(
        (name, value) for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP
    )
    headers[FORWARDED_HEADER] = node_id
    body = await request.read()
    target = base_url.rstrip("/") + request.rel_url.path_qs
    try:
        upstream = await client.request(
            request.method, target, headers=headers, data=body or None, allow_redirects=False
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("fleet.forward_failed", owner=base_url, error=type(exc).__name__)
        raise Problem(
            503,
            "session-owner-unreachable",
            "the daemon that owns this session did not answer; retry in a few seconds",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    async with upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                response.headers.add(name, value)
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
    return response
