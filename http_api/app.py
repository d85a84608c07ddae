"""The aiohttp application: ``create_app(services)`` (the polls demo's app factory).

The daemon (:mod:`daemon.service`) builds the services and owns their lifetime; tests build the
same app around their own. Middlewares, outermost first: the access log (when
``http.access_log`` is on), then :class:`http_api.middlewares.ApiMiddleware` (problem+json
errors, the request time bound, API-key authentication, a fleet's forwarding, the
chat-restricted keys' gate, the shutdown write gate). The console
(:mod:`http_api.console`) is served beside the API.
"""

from __future__ import annotations

from aiohttp import web

from http_api.access_log import access_log
from http_api.console import setup_console
from http_api.fleet_proxy import FleetProxy
from http_api.keys import SERVICES, Services
from http_api.middlewares import ApiMiddleware
from http_api.routes import setup_routes


def create_app(services: Services) -> web.Application:
    first = [access_log] if services.config.http.access_log else []
    # In a fleet, once the caller is known, a request about a session owned elsewhere goes to
    # its owner (which applies the chat gate and the write gate itself).
    proxy = None if services.fleet is None else FleetProxy(services.fleet)
    api = ApiMiddleware(services, fleet=proxy)
    app = web.Application(
        middlewares=[*first, api.middleware],
        client_max_size=services.config.http.max_body_bytes,
    )
    app.on_cleanup.append(api.close)
    app[SERVICES] = services
    if proxy is not None:
        app.on_cleanup.append(proxy.close)
    setup_routes(app)
    setup_console(app)
    return app


__all__ = ["create_app"]
