"""The WhatsApp Web version the sandbox serves and the oldest one it still lets in.

The real service publishes the current web client version in the page at its origin (the
``"client_revision":N,`` of ``https://web.whatsapp.com/``; whatsmeow update.go reads version
``2.3000.N`` from it) and refuses logins and registrations of versions it has retired with
``<failure reason=405>``. The sandbox does both: ``GET /`` serves a page with the current
revision, and the admin API can move the current version and demand a minimum
(``POST /admin/client-version``), so a test can age a running client out.
"""

from __future__ import annotations

from aiohttp import web

from daemon.client.payload import AppVersion
from daemon.config import REAL_CLIENT_VERSION

REFUSED_REASON = 405


WebVersion = AppVersion
"""``major.minor.revision``, as the ClientPayload's ``userAgent.appVersion`` carries it."""


def _order(version: AppVersion) -> tuple[int, int, int]:
    return (version.primary, version.secondary, version.tertiary)


class VersionPolicy:
    def __init__(self) -> None:
        self.current = WebVersion.parse(REAL_CLIENT_VERSION)
        """What ``GET /`` announces."""
        self.minimum: WebVersion | None = None
        """Logins and registrations below this get 405; None lets every version in."""

    def refuses(self, version: WebVersion) -> bool:
        return self.minimum is not None and _order(version) < _order(self.minimum)

    def json(self) -> dict[str, str | None]:
        return {
            "current": str(self.current),
            "minimum": str(self.minimum) if self.minimum is not None else None,
        }


def version_page(version: WebVersion) -> str:
    """A page shaped like the web client's bootstrap (only the revision matters)."""
    return (
        "<!DOCTYPE html><html><head><title>WhatsApp (sandbox)</title><script>"
        f'self.__SERVER_DATA={{"server_revision":{version.tertiary},'
        f'"client_revision":{version.tertiary},"version":"{version}"}};'
        "</script></head><body></body></html>"
    )


def version_routes(policy: VersionPolicy) -> list[web.RouteDef]:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text=version_page(policy.current), content_type="text/html")

    return [web.get("/", page)]
