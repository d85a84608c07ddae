"""The one middleware every request goes through (:class:`ApiMiddleware`): problem+json
errors, the request time bound, authentication, a fleet's forwarding, the chat gate and the
write gate, in that order.

Errors come from one table from domain exception to problem (the polls demo's error
middleware): handlers translate nothing themselves, and an unexpected exception is logged with
its traceback and answered with a 500 that leaks no internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from daemon.campaigns.requests import CampaignInputError
from daemon.campaigns.service import CampaignConflict, CampaignNotFound
from daemon.client.errors import (
    AlreadyPaired,
    AuthStateError,
    ClientError,
    InvalidPhoneNumber,
    NotConnected,
    NotPaired,
    SessionBusy,
)
from daemon.client.sync_errors import MediaError, NotMediaMessage
from daemon.manager import ManagerError, NotPairing, SessionExists, SessionNotFound
from daemon.outbox import IdempotencyConflict, InvalidSendRequest
from daemon.webhooks import WebhookError
from http_api.auth import HEADER, Principal
from http_api.chat_access import refuse_restricted
from http_api.console.routes import is_console_path
from http_api.deadlines import RequestDeadlines
from http_api.keys import PRINCIPAL, Services
from http_api.problems import Problem
from storage.errors import AlreadyExists, DatabaseUnavailable, NotFound, StorageError

log = structlog.get_logger("http_api")

OPEN_PATHS = frozenset({"/health"})
"""API paths served without a key (everything else needs one, but the console's page and
assets, which carry no data)."""
SELF_AUTHENTICATED_PATHS = frozenset({"/metrics"})
"""Paths whose handler decides who may read them (``/metrics`` takes its own key)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ErrorMapper = Callable[[Exception], Problem]

# Checked in order: subclasses before their bases.
ERROR_TABLE: list[tuple[type[Exception], ErrorMapper]] = [
    (SessionNotFound, lambda e: Problem(404, "session-not-found", str(e))),
    (SessionExists, lambda e: Problem(409, "session-exists", str(e))),
    (NotPairing, lambda e: Problem(409, "not-pairing", str(e))),
    (ManagerError, lambda e: Problem(409, "session-conflict", str(e))),
    (IdempotencyConflict, lambda e: Problem(422, "idempotency-key-reused", str(e))),
    (InvalidSendRequest, lambda e: Problem(400, "invalid-message", str(e))),
    (CampaignInputError, lambda e: Problem(400, "invalid-campaign", str(e))),
    (CampaignNotFound, lambda e: Problem(404, "campaign-not-found", str(e))),
    (CampaignConflict, lambda e: Problem(409, "campaign-conflict", str(e))),
    (WebhookError, lambda e: Problem(400, "invalid-webhook", str(e))),
    (InvalidPhoneNumber, lambda e: Problem(400, "invalid-phone-number", str(e))),
    (NotPaired, lambda e: Problem(409, "not-paired", str(e))),
    (AlreadyPaired, lambda e: Problem(409, "already-paired", str(e))),
    (SessionBusy, lambda e: Problem(409, "session-busy", str(e))),
    (NotConnected, lambda e: Problem(409, "not-connected", str(e))),
    (AuthStateError, lambda e: Problem(409, "needs-attention", str(e))),
    (NotMediaMessage, lambda e: Problem(404, "no-media", str(e))),
    (MediaError, lambda e: Problem(502, "media-unavailable", str(e))),
    (ClientError, lambda e: Problem(502, "client-error", str(e))),
    (NotFound, lambda e: Problem(404, "not-found", str(e))),
    (AlreadyExists, lambda e: Problem(409, "exists", str(e))),
    (
        DatabaseUnavailable,
        lambda e: Problem(503, "database-unavailable", str(e), headers={"Retry-After": "5"}),
    ),
    (StorageError, lambda e: Problem(500, "storage-error", "a storage error occurred")),
]


def to_problem(exc: Exception) -> Problem | None:
    for kind, mapper in ERROR_TABLE:
        if isinstance(exc, kind):
            return mapper(exc)
    return None


def _from_http_exception(exc: web.HTTPException) -> Problem:
    slugs = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}
    headers = {}
    if "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    detail = exc.text or exc.reason
    if exc.status == 404:
        detail = "no such resource"
    return Problem(exc.status, slugs.get(exc.status, "http-error"), detail, headers=headers)


def _problem_of(request: web.Request, exc: Exception) -> Problem:
    """The problem an exception out of a handler is answered with (a 500 for the unexpected)."""
    if isinstance(exc, Problem):
        return exc
    mapped = to_problem(exc)
    if mapped is not None:
        if mapped.status >= 500:
            log.error(
                "http.server_error",
                method=request.method,
                path=request.path,
                status=mapped.status,
                error=type(exc).__name__,
            )
        return mapped
    log.exception("http.unhandled", method=request.method, path=request.path)
    return Problem(500, "internal-error", "an unexpected error occurred")


class RequestForwarder(Protocol):
    """Serves a request elsewhere (a fleet's owner of its session), or says it is ours."""

    async def forward(self, request: web.Request) -> web.StreamResponse | None:
        """The answer of the daemon that served it; None when this daemon serves it."""
        ...


class ApiMiddleware:
    """What every request goes through, in this order, as one middleware (one coroutine
    frame that each resumption of a handler passes through, where there were five):

    1. errors: a Problem, an HTTP error or a domain exception becomes problem+json;
    2. the time bound: every request but an event stream is answered within
       ``http.request_timeout_s``, reading its body included (503 ``request-timeout``);
    3. authentication by API key (:data:`OPEN_PATHS`, the console and unknown routes need none);
    4. in a fleet, forwarding to the session's owner (which applies the gates itself);
    5. the chat-restricted keys' gate (:func:`http_api.chat_access.refuse_restricted`);
    6. the shutdown write gate: no change once the daemon stops.
    """

    def __init__(self, services: Services, *, fleet: RequestForwarder | None = None) -> None:
        self._keys = services.keys
        self._gate = services.gate
        self._fleet = fleet
        self.deadlines = RequestDeadlines(services.config.http.request_timeout_s)

    async def close(self, _app: web.Application) -> None:
        self.deadlines.close()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        task = None if is_event_stream(request) else self.deadlines.enter()
        try:
            cancelling = 0 if task is None else task.cancelling()
            try:
                caller = await self._caller(request) if self._needs_key(request) else None
                if caller is not None:
                    request[PRINCIPAL] = caller
                if self._fleet is not None:
                    forwarded = await self._fleet.forward(request)
                    if forwarded is not None:
                        return forwarded
                if caller is not None and caller.restricted:
                    refuse_restricted(request)
                if request.method not in SAFE_METHODS and not self._gate.open:
                    raise Problem(
                        503,
                        "shutting-down",
                        "the daemon is stopping and accepts no changes; retry after it restarts",
                        headers={"Retry-After": "5"},
                    )
                return await handler(request)
            except asyncio.CancelledError:
                if task is None or not self.deadlines.timed_out(task, cancelling):
                    raise
                raise self._timed_out(request) from None
            except TimeoutError:
                if task is None:
                    raise
                raise self._timed_out(request) from None
            finally:
                if task is not None:
                    self.deadlines.leave(task)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _from_http_exception(exc).response(request.path)
        except Exception as exc:
            return _problem_of(request, exc).response(request.path)

    def _timed_out(self, request: web.Request) -> Problem:
        log.warning("http.request_timeout", method=request.method, path=request.path)
        return Problem(
            503,
            "request-timeout",
            f"the request was not done within {self.deadlines.limit_s:g} s",
            headers={"Retry-After": "5"},
        )

    def _needs_key(self, request: web.Request) -> bool:
        path = request.path
        if request.method in SAFE_METHODS and (path in OPEN_PATHS or is_console_path(path)):
            return False
        # No such route: 404 (or 405) whoever asks; there is nothing to protect.
        if request.match_info.http_exception is not None:
            return False
        return path not in SELF_AUTHENTICATED_PATHS

    async def _caller(self, request: web.Request) -> Principal:
        presented = request.headers.get(HEADER)
        if not presented:
            raise Problem(
                401,
                "missing-api-key",
                f"send an API key in the {HEADER} header",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        found = await self._keys.authenticate(presented)
        if found is None:
            log.warning("http.bad_api_key", method=request.method, path=request.path)
            raise Problem(
                401,
                "invalid-api-key",
                "the API key is not valid",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        return found


def is_event_stream(request: web.Request) -> bool:
    """An SSE or WebSocket request of the event log: it lasts as long as the client wants."""
    return request.path.endswith("/events") and (
        request.headers.get("Upgrade", "").lower() == "websocket"
        or "text/event-stream" in request.headers.get("Accept", "")
    )


__all__ = [
    "ERROR_TABLE",
    "OPEN_PATHS",
    "ApiMiddleware",
    "RequestForwarder",
    "is_event_stream",
    "to_problem",
]
