"""Media end to end with a sandbox phone: images, a voice note and a document sent both ways,
the bytes equal after download on each side; eager download; a file the media host forgot is
asked for again from our own phone (media retry) and arrives intact."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from history_media_harness import admin, eventually, media_payload, paired_client
from sandbox_clients import next_event, phone

from daemon.client.media_http import MediaHttpOptions
from daemon.client.media_message import MediaKind, OutgoingMedia
from daemon.client.media_service import MediaOptions
from daemon.client.message_events import MessageReceived
from daemon.client.sync_events import MediaDownloaded
from daemon.client.sync_services import SyncOptions
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.network import PhoneMessage
from sandbox.phone import SimulatedPhone
from storage.message_values import ContentType
from storage.sync_values import MediaStatus
from waproto import wa_e2e_pb2

FILES = [
    ("image", os.urandom(150_000), "image/jpeg", {"caption": "a photo"}, ContentType.IMAGE),
    ("ptt", os.urandom(40_000), "audio/ogg; codecs=opus", {}, ContentType.AUDIO),
    (
        "document",
        b"%PDF-1.4 " + os.urandom(90_000),
        "application/pdf",
        {"file_name": "q3.pdf"},
        ContentType.DOCUMENT,
    ),
]


async def test_phone_to_wamd_with_eager_download(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    options = SyncOptions(
        media=MediaOptions(eager_download=True), media_http=MediaHttpOptions(scheme="http")
    )
    client = await paired_client(sandbox, ann, tmp_path / "ann.db", sync_options=options)
    try:
        for kind, data, mimetype, extra, content_type in FILES:
            sent = await admin(
                sandbox,
                "POST",
                f"/admin/accounts/{bob.phone_user}/messages",
                {"to": ann.phone_user, "media": media_payload(kind, data, mimetype, **extra)},
            )
            wanted = sent["id"]
            received = await next_event(
                client.events, MessageReceived, lambda e, i=wanted: e.message.message_id == i
            )
            assert received.message.content_type is content_type
            eager = await next_event(
                client.events, MediaDownloaded, lambda e, i=wanted: e.message_id == i
            )
            assert Path(eager.path).read_bytes() == data
            stored = await client.session.download_media(bob.pn, sent["id"])
            assert stored.path == Path(eager.path) and stored.path.read_bytes() == data
            assert stored.record.status is MediaStatus.DOWNLOADED
            phone_copy = await admin(
                sandbox, "GET", f"/admin/accounts/{bob.phone_user}/media/{sent['id']}"
            )
            assert phone_copy == data
    finally:
        await client.close()


async def test_wamd_to_phone(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        document = tmp_path / "q3.pdf"
        document.write_bytes(FILES[2][1])
        outgoing = [
            OutgoingMedia(MediaKind.IMAGE, "image/jpeg", data=FILES[0][1], caption="from wamd"),
            OutgoingMedia(MediaKind.VOICE, "audio/ogg; codecs=opus", data=FILES[1][1], seconds=3),
            OutgoingMedia(MediaKind.DOCUMENT, "application/pdf", path=document),
        ]
        bob_phone = phone(sandbox, bob)
        for media, phone_kind in zip(outgoing, ("image", "ptt", "document"), strict=True):
            sent = await client.session.send_media(bob.pn, media)
            expected = media.data if media.data is not None else document.read_bytes()
            assert sent.path.read_bytes() == expected
            message_id = sent.result.message_id
            got = await eventually(lambda i=message_id: _received(bob_phone, i))
            assert got.kind == "media" and got.media is not None
            # The phone downloaded and verified it as it arrived.
            assert (got.media.media_type, got.media.error) == (phone_kind, "")
            assert got.media.sha256 == hashlib.sha256(expected).hexdigest()
            phone_copy = await admin(
                sandbox,
                "GET",
                f"/admin/accounts/{bob.phone_user}/media/{sent.result.message_id}",
            )
            assert phone_copy == expected
            row = await client.session.messenger.store.messages.find_in_chat(
                client.sid, str(bob.pn), sent.result.message_id
            )
            assert row is not None and row.from_me and row.content_type is not ContentType.TEXT
    finally:
        await client.close()


async def test_expired_media_comes_back_through_media_retry(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        data = os.urandom(60_000)
        sent = await admin(
            sandbox,
            "POST",
            f"/admin/accounts/{bob.phone_user}/messages",
            {"to": ann.phone_user, "media": media_payload("image", data, "image/png")},
        )
        received = await next_event(
            client.events, MessageReceived, lambda e: e.message.message_id == sent["id"]
        )
        original_path = wa_e2e_pb2.Message.FromString(
            received.message.payload or b""
        ).imageMessage.directPath
        await admin(sandbox, "POST", "/admin/media/expire", {"direct_path": original_path})
        stored = await client.session.download_media(bob.pn, sent["id"])
        assert stored.path.read_bytes() == data
        assert stored.record.direct_path and stored.record.direct_path != original_path
        assert client.session.sync.media.retry_requests == 1
    finally:
        await client.close()


async def _received(receiver: SimulatedPhone, message_id: str) -> PhoneMessage | None:
    return next((m for m in receiver.messages_received if m.id == message_id), None)
