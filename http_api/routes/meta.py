"""``GET /openapi.json``: the API's OpenAPI 3.1 document; ``GET /whoami``: who the key is."""

from __future__ import annotations

from aiohttp import web

from http_api.keys import principal
from http_api.openapi import document
from http_api.routes.common import json_response


async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


async def whoami(request: web.Request) -> web.Response:
    """Lets a client (the console) show only what the key may do, without trying."""
    caller = principal(request)
    return json_response({"role": caller.role.value, "sessionId": caller.session_id})


__all__ = ["openapi", "whoami"]
