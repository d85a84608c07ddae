"""Media campaigns through the HTTP API of a real daemon against the sandbox.

An image campaign created with its file (multipart) reaches three sandbox phones byte-identical
with each recipient's caption, announced from ONE upload (the phones see one direct path) and
staged once; a document campaign whose file comes by ``url`` survives a ``kill -9`` mid-way:
every phone has exactly one message, with the file. Both staged files are gone once the
campaigns are done. A file over the limit is 413, a file that is not what ``type`` says is 415,
a media content without a file or with a bad campaign body is 400: nothing is created.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from daemon_harness import (
    ADMIN_KEY,
    DOCUMENT,
    TIMEOUT,
    Api,
    DaemonFactory,
    DaemonProcess,
    admin,
    create_account,
    pair,
)
from PIL import Image

from http_api.openapi_check import check_response
from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIENDS = ["15550004441", "15550004442", "15550004443"]
DOCUMENT_LIMIT = 300_000
SETTINGS: dict[str, dict[str, Any]] = {
    "outbox": {"rate_per_minute": 60000.0, "burst": 50},
    "media": {"max_document_bytes": DOCUMENT_LIMIT, "allow_private_urls": True},
}
CAMPAIGNS = "/sessions/alice/campaigns"


def png_bytes(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), color).save(out, "PNG")
    return out.getvalue()


IMAGE = png_bytes((20, 160, 90))
PDF = b"%PDF-1.7\n" + os.urandom(60_000)


@pytest.fixture
async def pdf_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A local HTTP server with one PDF, and the paths it served."""
    fetched: list[str] = []

    async def pdf(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(body=PDF, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/terms.pdf", pdf)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/terms.pdf", fetched
    await runner.cleanup()


async def create_with_file(
    daemon: DaemonProcess, campaign: dict[str, Any], content: bytes, name: str
) -> tuple[int, Any]:
    """``POST /campaigns`` as multipart: the campaign as JSON, then the file."""
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps(campaign), content_type="application/json")
    form.add_field("file", content, filename=name, content_type="application/octet-stream")
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
        http.post(daemon.url + CAMPAIGNS, data=form, headers={"x-api-key": ADMIN_KEY}) as reply,
    ):
        body = await reply.json(content_type=None)
        check_response(DOCUMENT, "POST", CAMPAIGNS, reply.status, reply.content_type, body)
        return reply.status, body


async def phone_media(sandbox: SandboxServer, phone: str) -> list[dict[str, Any]]:
    received = await admin(sandbox, "GET", f"/accounts/{phone}/messages")
    return [m for m in received if m["kind"] == "media"]


async def media_at_every_phone(sandbox: SandboxServer, kind: str) -> dict[str, dict[str, Any]]:
    """Each friend's one received media message of ``kind``, once all three have one."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            got = {
                phone: [m for m in await phone_media(sandbox, phone) if m["media"]["type"] == kind]
                for phone in FRIENDS
            }
            if all(got.values()):
                break
            await asyncio.sleep(0.1)
    for phone, messages in got.items():
        assert len(messages) == 1, f"{phone} has the {kind} {len(messages)} times"
    return {phone: messages[0] for phone, messages in got.items()}


async def add_and_start(api: Api, campaign_id: str) -> str:
    path = f"{CAMPAIGNS}/{campaign_id}"
    recipients = [
        {"to": f"+{FRIENDS[0]}", "variables": {"name": "Ann"}},
        {"to": FRIENDS[1], "variables": {"name": "Bo"}},
        f"{FRIENDS[2]}@s.whatsapp.net",
    ]
    added = await api.call("POST", f"{path}/recipients", {"recipients": recipients})
    assert added.status == 200 and added.body["added"] == 3, added.body
    started = await api.call("POST", f"{path}/start")
    assert started.status == 200, started.body
    return path


async def documents_received(sandbox: SandboxServer) -> int:
    found = 0
    for phone in FRIENDS:
        found += sum(m["media"]["type"] == "document" for m in await phone_media(sandbox, phone))
    return found


def staged(daemon: DaemonProcess) -> list[Path]:
    """Every file under the staging directory (single sends and campaigns)."""
    return sorted(p for p in (daemon.state_dir / "outgoing").rglob("*") if p.is_file())


async def test_an_image_campaign_arrives_byte_identical_from_one_upload_and_survives_a_kill(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, pdf_server: tuple[str, list[str]]
) -> None:
    pdf_url, fetched = pdf_server
    await create_account(sandbox, OWNER, "Owner")
    for phone in FRIENDS:
        await create_account(sandbox, phone, f"Friend {phone[-1]}")
    daemon = await daemon_factory(**SETTINGS)
    api = daemon.api()
    await pair(api, sandbox, "alice", OWNER)

    # An image campaign, its file uploaded with it.
    status, created = await create_with_file(
        daemon,
        {
            "name": "spring",
            "content": {"type": "image", "caption": "Spring offer for {{name}}"},
            "defaults": {"name": "you"},
            "ratePerMinute": 600,
        },
        IMAGE,
        "offer.png",
    )
    assert status == 201, created
    assert created["content"]["file"] == {
        "sha256": hashlib.sha256(IMAGE).hexdigest(),
        "size": len(IMAGE),
        "mimetype": "image/png",
    }
    # Staged once: the file and its thumbnail, under the campaign's id.
    assert [p.name for p in staged(daemon)] == [created["id"], f"{created['id']}.thumb"]
    path = await add_and_start(api, created["id"])
    done = await api.wait_for(path, lambda c: c["status"] == "completed", timeout=30)
    assert done["counts"]["failed"] == 0

    images = await media_at_every_phone(sandbox, "image")
    captions = {phone: message["text"] for phone, message in images.items()}
    assert captions == {
        FRIENDS[0]: "Spring offer for Ann",
        FRIENDS[1]: "Spring offer for Bo",
        FRIENDS[2]: "Spring offer for you",
    }
    for message in images.values():
        assert message["media"]["sha256"] == hashlib.sha256(IMAGE).hexdigest()
        assert message["media"]["length"] == len(IMAGE) and not message["media"]["error"]
    # One upload announced three times: the phones all downloaded the same blob.
    assert len({message["media"]["direct_path"] for message in images.values()}) == 1
    # The campaign is over: its staged file is gone (the media store keeps its own copy).
    assert staged(daemon) == []

    # A document campaign whose file comes by URL, slow enough to be killed mid-way.
    by_url = await api.call(
        "POST",
        CAMPAIGNS,
        {
            "name": "terms",
            "content": {
                "type": "document",
                "url": pdf_url,
                "fileName": "terms.pdf",
                "caption": "Terms for {{name}}",
            },
            "defaults": {"name": "you"},
            "ratePerMinute": 20,
        },
    )
    assert by_url.status == 201, by_url.body
    assert by_url.body["content"]["file"]["mimetype"] == "application/pdf"
    assert fetched == ["/terms.pdf"], "the campaign's URL is fetched once"
    assert "url" not in by_url.body["content"]
    path = await add_and_start(api, by_url.body["id"])
    async with asyncio.timeout(TIMEOUT):
        while not await documents_received(sandbox):
            await asyncio.sleep(0.1)
    await daemon.kill()  # SIGKILL mid-campaign
    assert await documents_received(sandbox) < 3, "the kill came before the campaign was done"
    assert len(staged(daemon)) == 1, "the file stays staged while the campaign runs"

    daemon = await daemon_factory(**SETTINGS)
    api = daemon.api()
    done = await api.wait_for(path, lambda c: c["status"] == "completed", timeout=60)
    assert done["counts"]["failed"] == 0 and done["counts"]["total"] == 3
    documents = await media_at_every_phone(sandbox, "document")
    for message in documents.values():
        assert message["media"]["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert message["media"]["file_name"] == "terms.pdf"
    assert documents[FRIENDS[1]]["text"] == "Terms for Bo"
    await asyncio.sleep(0.5)  # a late duplicate would have arrived by now
    assert (await media_at_every_phone(sandbox, "document")).keys() == set(FRIENDS)
    assert staged(daemon) == [] and fetched == ["/terms.pdf"]
    assert await daemon.stop() == 0


async def test_bad_media_campaigns_are_refused_and_nothing_is_created(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    daemon = await daemon_factory(**SETTINGS)
    api = daemon.api()
    await pair(api, sandbox, "alice", OWNER)

    document = {"name": "big", "content": {"type": "document"}}
    big = b"%PDF-1.7\n" + os.urandom(DOCUMENT_LIMIT + 1)
    status, problem = await create_with_file(daemon, document, big, "big.pdf")
    assert status == 413 and problem["type"].endswith("/media-too-large")
    image = {"name": "fake", "content": {"type": "image", "caption": "hi {{name}}"}}
    status, problem = await create_with_file(daemon, image, PDF, "fake.png")
    assert status == 415 and problem["type"].endswith("/unsupported-media-type")
    # The file is fine but the campaign is not: 400, and the staged file is removed.
    status, problem = await create_with_file(
        daemon, {**image, "ratePerMinute": 0, "defaults": {"name": "x"}}, IMAGE, "a.png"
    )
    assert status == 400 and "ratePerMinute" in problem["detail"]
    status, problem = await create_with_file(
        daemon, {"content": {"type": "text", "text": "hi"}}, IMAGE, "a.png"
    )
    assert status == 400
    no_file = await api.call("POST", CAMPAIGNS, {"content": {"type": "image", "caption": "x"}})
    assert no_file.status == 400 and "file" in no_file.body["detail"]
    internal = await api.call(
        "POST", CAMPAIGNS, {"content": {"type": "image", "url": "file:///etc/passwd"}}
    )
    assert internal.status == 400 and internal.body["type"].endswith("/url-not-allowed")

    listed = await api.call("GET", CAMPAIGNS)
    assert listed.status == 200 and listed.body["campaigns"] == []
    assert staged(daemon) == []
