"""``GET /metrics``: Prometheus exposition text (see :mod:`daemon.metrics`).

Who may read it (``x-api-key`` or ``Authorization: Bearer``): the admin key; the dedicated
``http.metrics_key`` (it opens nothing else);
or, with ``http.metrics_loopback``, anyone connecting from loopback without a key. The
authentication middleware leaves this path to this handler.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from daemon.metrics import CONTENT_TYPE
from http_api.auth import HEADER
from http_api.keys import services
from http_api.problems import Problem


def _from_loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _presented_key(request: web.Request) -> str | None:
    """``x-api-key``, or ``Authorization: Bearer`` (what Prometheus sends with
    ``authorization: {credentials_file: ...}``)."""
    key = request.headers.get(HEADER)
    if key:
        return key
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _allowed(request: web.Request) -> bool:
    svc = services(request)
    settings = svc.config.http
    presented = _presented_key(request)
    if not presented:
        return settings.metrics_loopback and _from_loopback(request)
    if settings.metrics_key and hmac.compare_digest(
        presented.encode(), settings.metrics_key.encode()
    ):
        return True
    found = await svc.keys.authenticate(presented)
    if found is None:
        raise Problem(
            401,
            "invalid-api-key",
            "the API key is not valid",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return found.is_admin


async def metrics(request: web.Request) -> web.Response:
    svc = services(request)
    if svc.metrics is None:
        raise Problem(404, "not-found", "no such resource")
    if not await _allowed(request):
        if not _presented_key(request):
            raise Problem(
                401,
                "missing-api-key",
                f"send the admin or metrics key in the {HEADER} header",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        raise Problem(403, "metrics-forbidden", "this key may not read metrics")
    body = await svc.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


__all__ = ["metrics"]
