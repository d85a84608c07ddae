"""Admin routes for the login record (:mod:`sandbox.logins`), for tests and benchmarks:

GET /admin/logins[?since=T]          {logins: [{device, at}]}: every companion login at or
                                     after unix time T (default: all kept), oldest first
GET /admin/devices/{jid}/logins      {device, logins: [at]}: one device's logins
GET /admin/logins/replaced           {replaced: [{device, at}]}: logins that pushed an open
                                     socket of the same device off (two clients at once)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from aiohttp import web

from daemon.binary import JID
from sandbox.admin import Handler, Problem, _guard, _ok

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

__all__ = ["login_routes"]


def login_routes(server: SandboxServer) -> list[web.RouteDef]:
    async def all_logins(request: web.Request) -> web.StreamResponse:
        text = request.query.get("since", "0")
        try:
            since = float(text)
        except ValueError:
            raise Problem(400, "bad request", "'since' must be unix seconds") from None
        if not math.isfinite(since):
            raise Problem(400, "bad request", "'since' must be unix seconds")
        logins = server.logins.since(since)
        return _ok({"logins": [{"device": str(login.device), "at": login.at} for login in logins]})

    async def device_logins(request: web.Request) -> web.StreamResponse:
        jid = JID.parse(request.match_info["jid"])
        return _ok({"device": str(jid), "logins": server.logins.of(jid)})

    async def replaced(request: web.Request) -> web.StreamResponse:
        pushes = server.logins.replaced()
        return _ok({"replaced": [{"device": str(p.device), "at": p.at} for p in pushes]})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/admin/logins", all_logins),
        ("GET", "/admin/logins/replaced", replaced),
        ("GET", "/admin/devices/{jid}/logins", device_logins),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
