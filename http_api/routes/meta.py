"""``GET /openapi.json``: the API's OpenAPI 3.1 document."""

from __future__ import annotations

from aiohttp import web

from http_api.openapi import document
from http_api.routes.common import json_response


async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


__all__ = ["openapi"]
