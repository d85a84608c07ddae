"""Media through ``POST /sessions/{id}/messages`` of a real daemon against the sandbox: an
image, a voice note, a document, a video and a sticker as multipart uploads and by URL from a
local HTTP server arrive byte-identical at a sandbox phone; a location and a contact card
arrive; a file over the configured limit is 413 and nothing is queued; a file that is not what
its type says is 415."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from daemon_harness import ADMIN_KEY, TIMEOUT, DaemonFactory, admin, create_account, pair
from PIL import Image

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"
DOCUMENT_LIMIT = 300_000


def png_bytes(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), color).save(out, "PNG")
    return out.getvalue()


OGG = b"OggS\x00\x02" + os.urandom(6000)
MP4 = b"\x00\x00\x00\x20ftypisom" + os.urandom(20_000)
PDF = b"%PDF-1.7\n" + os.urandom(50_000)
IMAGE = png_bytes((200, 30, 30))


def webp_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (512, 512), (250, 200, 0, 255)).save(out, "WEBP")
    return out.getvalue()


STICKER = webp_bytes()
URL_IMAGE = png_bytes((30, 30, 200))


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """A local HTTP server with one image, and one redirect to it."""

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=URL_IMAGE, content_type="image/png")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/photo.png")

    app = web.Application()
    app.router.add_get("/photo.png", image)
    app.router.add_get("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def upload(
    url: str,
    fields: dict[str, str],
    content: bytes,
    name: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("file", content, filename=name, content_type="application/octet-stream")
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
        http.post(
            f"{url}/sessions/shop/messages",
            data=form,
            headers={"x-api-key": ADMIN_KEY, **(headers or {})},
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


async def phone_media(sandbox: SandboxServer, count: int) -> list[dict[str, Any]]:
    """The phone's received media and cards, once ``count`` of them arrived."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            received = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
            found = [m for m in received if m["kind"] in ("media", "location", "contact")]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)


async def test_media_location_and_contact_arrive_byte_identical(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, files: str
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    daemon = await daemon_factory(
        media={"max_document_bytes": DOCUMENT_LIMIT, "allow_private_urls": True}
    )
    api = daemon.api()
    await pair(api, sandbox, "shop", OWNER)

    status, image = await upload(
        daemon.url, {"to": FRIEND, "type": "image", "caption": "the red one"}, IMAGE, "red.png"
    )
    assert status == 202, image
    assert image["type"] == "image" and image["request"]["file"]["mimetype"] == "image/png"
    assert "path" not in image["request"]["file"]
    # The same upload under the same Idempotency-Key is the same message, queued once.
    once = {"Idempotency-Key": "form-42"}
    fields = {"to": FRIEND, "type": "document", "fileName": "form.pdf"}
    status, first = await upload(daemon.url, fields, PDF, "form.pdf", once)
    status_again, again = await upload(daemon.url, fields, PDF, "form.pdf", once)
    assert status == status_again == 202 and first["id"] == again["id"]
    status, voice = await upload(
        daemon.url, {"to": FRIEND, "type": "audio", "ptt": "true"}, OGG, "note.ogg"
    )
    assert status == 202, voice
    status, document = await upload(
        daemon.url,
        {"type": "document", "to": FRIEND, "fileName": "claim.pdf", "mimetype": "application/pdf"},
        PDF,
        "upload.bin",
    )
    assert status == 202, document
    by_url = await api.call(
        "POST",
        "/sessions/shop/messages",
        {"to": FRIEND, "type": "image", "url": f"{files}/moved", "caption": "blue"},
    )
    assert by_url.status == 202, by_url.body
    location = await api.call(
        "POST",
        "/sessions/shop/messages",
        {"to": FRIEND, "type": "location", "latitude": 52.52, "longitude": 13.405, "name": "HQ"},
    )
    assert location.status == 202, location.body
    status, video = await upload(
        daemon.url, {"to": FRIEND, "type": "video", "caption": "walkthrough"}, MP4, "v.mp4"
    )
    assert status == 202, video
    status, sticker = await upload(daemon.url, {"to": FRIEND, "type": "sticker"}, STICKER, "s")
    assert status == 202, sticker
    card = await api.call(
        "POST",
        "/sessions/shop/messages",
        {"to": FRIEND, "type": "contact", "contacts": [{"name": "Ann", "phone": "+1 555 0002222"}]},
    )
    assert card.status == 202, card.body

    received = await phone_media(sandbox, 9)
    media = {m["media"]["sha256"]: m for m in received if m["kind"] == "media"}
    for content in (IMAGE, OGG, PDF, URL_IMAGE, MP4, STICKER):
        assert hashlib.sha256(content).hexdigest() in media
    assert media[hashlib.sha256(MP4).hexdigest()]["media"]["type"] == "video"
    assert media[hashlib.sha256(STICKER).hexdigest()]["media"]["type"] == "sticker"
    sent_image = media[hashlib.sha256(IMAGE).hexdigest()]
    assert sent_image["media"]["type"] == "image" and sent_image["text"] == "the red one"
    voice_note = media[hashlib.sha256(OGG).hexdigest()]
    assert voice_note["media"]["type"] == "ptt"
    assert voice_note["media"]["mimetype"] == "audio/ogg; codecs=opus"
    pdf = media[hashlib.sha256(PDF).hexdigest()]
    assert pdf["media"]["file_name"] == "claim.pdf"
    assert pdf["media"]["mimetype"] == "application/pdf"
    places = [m["text"] for m in received if m["kind"] == "location"]
    assert places == ["52.52,13.405 HQ"]
    cards = [m["text"] for m in received if m["kind"] == "contact"]
    assert len(cards) == 1 and "waid=15550002222" in cards[0] and "FN:Ann" in cards[0]
    # Sent files leave the staging directory (the media store keeps its own copy).
    outbox = await api.wait_for(
        "/sessions/shop/outbox",
        lambda page: (
            page["counts"]["sent"]
            + page["counts"].get("delivered", 0)
            + page["counts"].get("read", 0)
            == 9
        ),
    )
    assert sum(outbox["counts"].values()) == 9
    assert not any((daemon.state_dir / "outgoing").iterdir())


async def test_too_large_or_wrong_files_are_refused_and_nothing_is_queued(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, files: str
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    daemon = await daemon_factory(media={"max_document_bytes": DOCUMENT_LIMIT})
    api = daemon.api()
    await pair(api, sandbox, "shop", OWNER)

    big = b"%PDF-1.7\n" + os.urandom(DOCUMENT_LIMIT + 1)
    status, problem = await upload(daemon.url, {"to": FRIEND, "type": "document"}, big, "big.pdf")
    assert status == 413 and problem["type"].endswith("/media-too-large")
    status, problem = await upload(daemon.url, {"to": FRIEND, "type": "image"}, PDF, "fake.png")
    assert status == 415 and problem["type"].endswith("/unsupported-media-type")
    status, problem = await upload(
        daemon.url, {"to": FRIEND, "type": "audio", "ptt": "true"}, IMAGE, "x.ogg"
    )
    assert status == 415
    # Loopback URLs are refused unless [media] allow_private_urls; other schemes always.
    for url in (f"{files}/photo.png", "file:///etc/passwd"):
        refused = await api.call(
            "POST", "/sessions/shop/messages", {"to": FRIEND, "type": "image", "url": url}
        )
        assert refused.status == 400 and refused.body["type"].endswith("/url-not-allowed")
    missing = await api.call(
        "POST", "/sessions/shop/messages", {"to": FRIEND, "type": "image", "caption": "x"}
    )
    assert missing.status == 400
    outbox = await api.call("GET", "/sessions/shop/outbox")
    assert sum(outbox.body["counts"].values()) == 0
    assert not any(Path(daemon.state_dir / "outgoing").iterdir())
