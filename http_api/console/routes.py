"""``GET /`` and ``/console`` (redirects), ``GET /console/`` (the page) and
``GET /console/assets/{name}``. These need no key: they carry no data, and every request the
page makes afterwards sends the key the operator signed in with."""

from __future__ import annotations

from string import Template

from aiohttp import web
from aiohttp.typedefs import Handler

from http_api.console.assets import assets, template, url
from http_api.openapi import VERSION
from http_api.problems import Problem

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # QR codes arrive as SVG over fetch (the key is a header) and are shown as blob: URLs.
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PAGE = "/console/"


def is_console_path(path: str) -> bool:
    return path in ("/", "/console") or path.startswith(PAGE)


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound(PAGE)


async def page(request: web.Request) -> web.Response:
    html = Template(template("console.html")).substitute(
        version=VERSION,
        css=url("console.css"),
        js=url("main.js"),
        icon=url("favicon.svg"),
    )
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


async def asset(request: web.Request) -> web.Response:
    found = assets().get(request.match_info["name"])
    if found is None:
        raise Problem(404, "not-found", "no such console asset")
    versioned = request.query.get("v") == found.digest
    etag = f'"{found.digest}"'
    headers = {
        **SECURITY_HEADERS,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache",
        "ETag": etag,
    }
    # Modules imported by name (without ?v=) are revalidated on every load: answer 304.
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, headers={**headers, "Content-Type": found.content_type})


CONSOLE_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/", root),
    ("GET", "/console", root),
    ("GET", PAGE, page),
    ("GET", "/console/assets/{name}", asset),
]


def setup_console(app: web.Application) -> None:
    for method, path, handler in CONSOLE_ROUTES:
        app.router.add_route(method, path, handler)


__all__ = ["CONSOLE_ROUTES", "CSP", "is_console_path", "setup_console"]
