"""Middlewares, outermost first: errors → problem+json, authentication, the write gate.

The error middleware is a factory over one table from domain exception to problem (the polls
demo's ``create_error_middleware``): handlers translate nothing themselves, and an unexpected
exception is logged with its traceback and answered with a 500 that leaks no internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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
from http_api.auth import HEADER
from http_api.console.routes import is_console_path
from http_api.keys import PRINCIPAL, services
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


def create_error_middleware() -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as problem:
            return problem.response(request.path)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _from_http_exception(exc).response(request.path)
        except Exception as exc:
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
                return mapped.response(request.path)
            log.exception("http.unhandled", method=request.method, path=request.path)
            return Problem(500, "internal-error", "an unexpected error occurred").response(
                request.path
            )

    return errors


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    open_path = request.path in OPEN_PATHS or is_console_path(request.path)
    if open_path and request.method in SAFE_METHODS:
        return await handler(request)
    if request.match_info.http_exception is not None:
        # No such route: 404 (or 405) whoever asks; there is nothing to protect.
        return await handler(request)
    if request.path in SELF_AUTHENTICATED_PATHS:
        return await handler(request)
    presented = request.headers.get(HEADER)
    if not presented:
        raise Problem(
            401,
            "missing-api-key",
            f"send an API key in the {HEADER} header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    found = await services(request).keys.authenticate(presented)
    if found is None:
        log.warning("http.bad_api_key", method=request.method, path=request.path)
        raise Problem(
            401,
            "invalid-api-key",
            "the API key is not valid",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    request[PRINCIPAL] = found
    return await handler(request)


def is_event_stream(request: web.Request) -> bool:
    """An SSE or WebSocket request of the event log: it lasts as long as the client wants."""
    return request.path.endswith("/events") and (
        request.headers.get("Upgrade", "").lower() == "websocket"
        or "text/event-stream" in request.headers.get("Accept", "")
    )


@web.middleware
async def bound_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request but an event stream is answered within ``http.request_timeout_s``,
    reading its body included."""
    if is_event_stream(request):
        return await handler(request)
    limit = services(request).config.http.request_timeout_s
    try:
        async with asyncio.timeout(limit):
            return await handler(request)
    except TimeoutError:
        log.warning("http.request_timeout", method=request.method, path=request.path)
        raise Problem(
            503,
            "request-timeout",
            f"the request was not done within {limit:g} s",
            headers={"Retry-After": "5"},
        ) from None


@web.middleware
async def write_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in SAFE_METHODS and not services(request).gate.open:
        raise Problem(
            503,
            "shutting-down",
            "the daemon is stopping and accepts no changes; retry after it restarts",
            headers={"Retry-After": "5"},
        )
    return await handler(request)


__all__ = [
    "ERROR_TABLE",
    "OPEN_PATHS",
    "authenticate",
    "bound_time",
    "create_error_middleware",
    "is_event_stream",
    "to_problem",
    "write_gate",
]
