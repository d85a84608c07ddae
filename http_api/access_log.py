"""An access log in the daemon's own structured log (``http.access_log = true``).

One ``http.request`` line per request: method, path, status and duration. The query string is
left out, and so are headers (the API key) and bodies; phone numbers in the path (a chat's JID)
keep only their last four digits.
"""

from __future__ import annotations

import re
import time

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

log = structlog.get_logger("http_api.access")
_DIGITS = re.compile(r"\d{5,}")


def masked_path(path: str) -> str:
    return _DIGITS.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], path)


@web.middleware
async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        log.info(
            "http.request",
            method=request.method,
            path=masked_path(request.path),
            status=status,
            ms=round((time.monotonic() - started) * 1000, 1),
        )


__all__ = ["access_log", "masked_path"]
