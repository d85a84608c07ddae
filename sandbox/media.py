"""The media host: encrypted blobs uploaded and downloaded over HTTP(S) on the sandbox's origin.

Clients ask ``media_conn`` (``iq xmlns=w:m``) for an auth token and hosts, upload with
``POST /mms/<type>/<token>?auth=..&token=..`` (``token`` = base64url of the SHA-256 of the body,
checked here as a real server does) and download the ``direct_path`` the upload answered. The
direct path carries a ``?`` query because whatsmeow appends its own parameters with ``&``.

Media expiry (fault injection): an expired blob answers 410 (or 404) to downloads, as WhatsApp's
CDN does for old media, until the sender's phone uploads it again under a new direct path
(media retry, ``sandbox.phone.media``). The bytes stay stored: the phone still "has the file".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.network import Network
    from sandbox.state import SandboxState

MEDIA_AUTH_TTL = 21600
MEDIA_TTL = 300
MAX_UPLOAD_BYTES = 64 * 1024 * 1024

_BLOB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    direct_path: str


def direct_path_for(blob_id: str) -> str:
    return f"/v/t62.7118-24/{blob_id}.enc?ccb=11-4&oh=sandbox&oe=0"


def blob_id_from_path(path: str) -> str | None:
    """The blob id in a direct path (``/v/.../<id>.enc``), query ignored."""
    last = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    blob_id = last.removesuffix(".enc")
    return blob_id if _BLOB_ID.match(blob_id) else None


def token_matches(token: str, body: bytes) -> bool:
    """``token`` is base64url(SHA-256(body)); whatsmeow keeps the ``=`` padding, Baileys
    strips it, so both forms are accepted."""
    expected = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")
    return hmac.compare_digest(token.rstrip("="), expected)


EXPIRY_STATUSES = (404, 410)


class MediaStore:
    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.auth = secrets.token_urlsafe(24)
        """The media_conn auth token uploads must present."""
        self.origin = "http://127.0.0.1"
        """scheme://host:port of the media host (the server sets it once it listens); the
        simulated phones upload and download there like any client."""
        self._expire_next: list[tuple[str, int]] = []
        """(mms type, status) of uploads to store already expired (``expire_next``)."""

    async def put(
        self, mms_type: str, body: bytes, now: int, *, blob_id: str | None = None
    ) -> StoredBlob:
        """Stores ``body``; ``blob_id`` (32 hex digits) gives a deterministic direct path
        (seeded history media), else a random one is drawn."""
        if blob_id is None:
            blob_id = secrets.token_hex(16)
        elif not _BLOB_ID.match(blob_id):
            raise ValueError(f"a blob id is 32 lowercase hex digits, got {blob_id!r}")
        await self._state.put_blob(blob_id, mms_type, body, now)
        wanted = next((i for i, (t, _) in enumerate(self._expire_next) if t == mms_type), None)
        if wanted is not None:
            _, status = self._expire_next.pop(wanted)
            await self.expire(blob_id, status)
        return StoredBlob(blob_id, direct_path_for(blob_id))

    def expire_next(self, mms_type: str, count: int, status: int = 410) -> None:
        """The next ``count`` uploads of ``mms_type`` are expired as soon as they are stored
        (a companion that comes too late for a blob, without waiting for the real hours)."""
        if status not in EXPIRY_STATUSES:
            raise ValueError(f"an expired blob answers 404 or 410, not {status}")
        if not 1 <= count <= 1000:
            raise ValueError("count is 1..1000")
        self._expire_next.extend([(mms_type, status)] * count)

    async def get(self, blob_id: str) -> bytes | None:
        """The stored bytes, expired or not (the server's own view)."""
        found = await self._state.get_blob(blob_id)
        return None if found is None else found[1]

    async def expiry(self, blob_id: str) -> int | None:
        """The status downloads of an expired blob get; None while it is served."""
        return await self._state.store.blob_expiry(blob_id)

    async def expire(self, blob_id: str | None, status: int = 410) -> int:
        """Expires one blob (or every stored one); returns how many."""
        if status not in EXPIRY_STATUSES:
            raise ValueError(f"an expired blob answers 404 or 410, not {status}")
        return await self._state.store.expire_blobs(blob_id, status)


def media_routes(network: Network) -> list[web.RouteDef]:
    async def upload(request: web.Request) -> web.StreamResponse:
        auth = request.query.get("auth", "")
        if not hmac.compare_digest(auth, network.media.auth):
            return _json({"error": "bad auth"}, 401)
        body = await request.read()
        token = request.match_info["token"]
        if not token_matches(request.query.get("token", token), body):
            return _json({"error": "token does not match the body's SHA-256"}, 400)
        stored = await network.media.put(request.match_info["mms_type"], body, network.now())
        origin = f"{request.scheme}://{request.host}"
        return _json(
            {
                "url": origin + stored.direct_path,
                "direct_path": stored.direct_path,
                "handle": stored.blob_id,
                "object_id": stored.blob_id,
            }
        )

    async def download(request: web.Request) -> web.StreamResponse:
        blob_id = blob_id_from_path(request.path)
        body = await network.media.get(blob_id) if blob_id else None
        if blob_id is None or body is None:
            return web.Response(status=404, text="no such media")
        expired = await network.media.expiry(blob_id)
        if expired is not None:
            return web.Response(status=expired, text="media expired")
        return web.Response(body=body, content_type="application/octet-stream")

    async def delete(request: web.Request) -> web.StreamResponse:
        # whatsmeow deletes a history blob after downloading it; the blob itself is kept so a
        # test can download it again.
        return web.Response(status=200)

    return [
        web.post("/mms/{mms_type}/{token}", upload),
        web.delete("/mms/{mms_type}/{token}", delete),
        web.get("/v/{tail:.*}", download),
        web.get("/mms/{tail:.*}", download),
    ]


def _json(payload: dict[str, object], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")
