"""``GET /health`` (no key) and ``GET /health/deep`` (any key; a session key sees its session)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from daemon.event_format import iso_utc
from daemon.fleet.views import session_views
from http_api.health import HealthStatus
from http_api.keys import principal, services
from http_api.routes.common import json_response
from http_api.shapes import deep_session_json, fleet_json


def _now() -> str | None:
    return iso_utc(datetime.now(UTC))


def _code(status: HealthStatus) -> int:
    # Load balancers and uptime checks read the status code: only "error" is unavailable.
    return 503 if status is HealthStatus.ERROR else 200


async def health(request: web.Request) -> web.Response:
    svc = services(request)
    status, _database = await svc.health.status()
    counts = svc.manager.counts()
    return json_response(
        {
            "status": status.value,
            "timestamp": _now(),
            "uptime": svc.health.uptime,
            "sessions": {
                "total": counts.total,
                "connected": counts.connected,
                "connecting": counts.connecting,
                "disconnected": counts.disconnected,
            },
            "fleet": None if svc.fleet is None else fleet_json(svc.fleet.view),
        },
        status=_code(status),
    )


async def health_deep(request: web.Request) -> web.Response:
    svc = services(request)
    status, database = await svc.health.status()
    caller = principal(request)
    if database.connected:
        views = await session_views(svc.manager, svc.stores, svc.fleet, caller.may_access)
    else:
        ids = [sid for sid in svc.manager.ids() if caller.may_access(sid)]
        views = [svc.manager.cached_view(sid) for sid in ids]
    return json_response(
        {
            "status": status.value,
            "timestamp": _now(),
            "uptime": svc.health.uptime,
            "database": {"connected": database.connected, "latencyMs": database.latency_ms},
            "sessions": [deep_session_json(view) for view in views],
        },
        status=_code(status),
    )


__all__ = ["health", "health_deep"]
