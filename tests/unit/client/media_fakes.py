"""A media host on loopback (aiohttp) that behaves like WhatsApp's for uploads and downloads,
with knobs for failures, and the media_conn answer that points at it (test helper)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from sync_fakes import iq_result

from daemon.binary import Node

AUTH = "media-auth-token"


def token_of(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")


@dataclass
class MediaHost:
    port: int = 0
    auth: str = AUTH
    blobs: dict[str, bytes] = field(default_factory=dict)
    status_for: dict[str, int] = field(default_factory=dict)
    """direct path (without query) -> HTTP status to answer downloads with."""
    fail_uploads: list[int] = field(default_factory=list)
    """Statuses the next uploads get, one per upload, before uploads succeed again."""
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    origins: list[str | None] = field(default_factory=list)

    @property
    def hostname(self) -> str:
        return f"127.0.0.1:{self.port}"

    def put(self, body: bytes) -> str:
        path = f"/v/t62.7118-24/{secrets.token_hex(16)}.enc"
        self.blobs[path] = body
        return path + "?ccb=11-4&oh=test"

    def media_conn(
        self,
        request: Node,
        *,
        hosts: list[str] | None = None,
        ttl: int = 300,
        auth: str | None = None,
    ) -> Node:
        names = hosts if hosts is not None else [self.hostname]
        conn = Node(
            "media_conn",
            {
                "auth": self.auth if auth is None else auth,
                "ttl": str(ttl),
                "auth_ttl": "21600",
                "max_buckets": "12",
            },
            [Node("host", {"hostname": name}) for name in names],
        )
        return iq_result(request, [conn])

    def app(self) -> web.Application:
        async def upload(request: web.Request) -> web.StreamResponse:
            self.origins.append(request.headers.get("Origin"))
            body = await request.read()
            if self.fail_uploads:
                return web.Response(status=self.fail_uploads.pop(0))
            if request.query.get("auth") != self.auth:
                return web.Response(status=401)
            token = request.match_info["token"]
            if token != token_of(body) or request.query.get("token") != token:
                return web.Response(status=400)
            path = self.put(body)
            self.uploads.append((request.match_info["mms_type"], path, body))
            return web.json_response(
                {"url": f"http://{self.hostname}{path}", "direct_path": path, "handle": "h"}
            )

        async def download(request: web.Request) -> web.StreamResponse:
            self.downloads.append(request.path_qs)
            status = self.status_for.get(request.path)
            if status is not None:
                return web.Response(status=status)
            body = self.blobs.get(request.path)
            if body is None:
                return web.Response(status=404)
            response = web.StreamResponse()
            await response.prepare(request)
            for start in range(0, len(body), 50_000):  # several chunks, as a CDN streams
                await response.write(body[start : start + 50_000])
            await response.write_eof()
            return response

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/mms/{mms_type}/{token}", upload)
        app.router.add_get("/v/{tail:.*}", download)
        return app


@asynccontextmanager
async def media_host() -> AsyncIterator[MediaHost]:
    host = MediaHost()
    runner = web.AppRunner(host.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    host.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield host
    finally:
        await runner.cleanup()
