"""Media of stored messages: download and record, deduplicate, media retry when the media host
forgot the file (success, refusal, silence), eager download, and sending a file."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from backends import OpenEngine
from media_fakes import MediaHost, media_host
from sync_fakes import OWN_PN, SID, FakeConnection, World, attach, make_world

from daemon.binary import JID, Node
from daemon.client.events import EventBus
from daemon.client.media_conn import MediaConnCache
from daemon.client.media_download import MediaDownloader
from daemon.client.media_http import MediaHttp, MediaHttpOptions
from daemon.client.media_message import MediaKind, OutgoingMedia, UploadedMedia, build_media_message
from daemon.client.media_rerequest import RetryAnswer, parse_retry_notification
from daemon.client.media_service import MediaOptions, MediaService
from daemon.client.media_store import MediaStore
from daemon.client.media_upload import MediaUploader
from daemon.client.message_events import MessageReceived
from daemon.client.send import SendResult
from daemon.client.sync_errors import MediaExpired, MediaUnavailable, NotMediaMessage
from daemon.client.sync_events import MediaDownloaded, MediaFailed
from daemon.crypto.media import MediaType, encrypt_media
from daemon.crypto.media_retry import (
    MediaRetryNotice,
    MediaRetryResult,
    SealedRetry,
    open_retry_request,
    seal_retry_notice,
)
from storage.message_values import ContentType, MessageRecord, MessageStatus
from storage.sync_values import MediaStatus
from waproto import wa_e2e_pb2

BOB = "15550003333@s.whatsapp.net"


class Rig:
    def __init__(self, world: World, host: MediaHost, root: Path, **options: object) -> None:
        self.world = world
        self.host = host
        self.connection = FakeConnection(self._answer)
        attach(world, self.connection)
        self.http = MediaHttp(MediaHttpOptions(scheme="http", timeout_s=10))
        conns = MediaConnCache()
        self.files = MediaStore(root)
        log = world.m.log
        self.service = MediaService(
            world.m,
            world.sync,
            self.files,
            MediaUploader(self.http, conns, self.files, log),
            MediaDownloader(self.http, conns, self.files, log),
            world.publish,
            MediaOptions(**options),  # type: ignore[arg-type]
        )

    async def _answer(self, request: Node) -> Node:
        return self.host.media_conn(request)

    async def stored_image(self, message_id: str, data: bytes) -> tuple[MessageRecord, str]:
        encrypted = encrypt_media(data, MediaType.IMAGE)
        path = self.host.put(encrypted.body)
        uploaded = UploadedMedia(
            "",
            path,
            "",
            encrypted.media_key,
            encrypted.info.file_sha256,
            encrypted.info.file_enc_sha256,
            encrypted.info.file_length,
        )
        media = OutgoingMedia(MediaKind.IMAGE, "image/jpeg", data=data, caption="pic")
        message = build_media_message(media, uploaded, timestamp=1_700_000_000)
        record = MessageRecord(
            chat=BOB,
            message_id=message_id,
            sender=BOB,
            from_me=False,
            sent_at=datetime.fromtimestamp(1_700_000_000, UTC),
            content_type=ContentType.IMAGE,
            status=MessageStatus.RECEIVED,
            text="pic",
            payload=message.SerializeToString(),
        )
        stored = await self.world.messages.messages.insert(SID, record)
        assert stored is not None
        return stored, path


@pytest.fixture
async def world(open_engine: OpenEngine) -> AsyncIterator[World]:
    made = await make_world(await open_engine())
    yield made
    await made.close()


@pytest.fixture
async def host() -> AsyncIterator[MediaHost]:
    async with media_host() as made:
        yield made


async def test_download_records_the_file_and_deduplicates(
    world: World, host: MediaHost, tmp_path: Path
) -> None:
    rig = Rig(world, host, tmp_path / "media")
    data = os.urandom(70_000)
    await rig.stored_image("IMG1", data)
    first = await rig.service.download(BOB, "IMG1")
    assert first.path.read_bytes() == data and not first.deduplicated
    assert first.record.status is MediaStatus.DOWNLOADED and first.record.file is not None
    assert first.record.file.mimetype == "image/jpeg"
    again = await rig.service.download(BOB, "IMG1")
    assert again.path == first.path and len(host.downloads) == 1
    # Another message carrying the same file (a forward): linked, not downloaded.
    await rig.stored_image("IMG2", data)
    second = await rig.service.download(BOB, "IMG2")
    assert second.deduplicated and second.path == first.path and len(host.downloads) == 1
    assert await world.sync.media.users_of(SID, first.record.file.sha256) == 2
    events = world.of(MediaDownloaded)
    assert [e.deduplicated for e in events] == [False, True]
    assert events[0].path == str(first.path)
    await world.messages.messages.insert(
        SID,
        MessageRecord(
            chat=BOB,
            message_id="TXT",
            sender=BOB,
            from_me=False,
            sent_at=datetime.fromtimestamp(1, UTC),
            content_type=ContentType.TEXT,
            status=MessageStatus.RECEIVED,
            text="hi",
            payload=wa_e2e_pb2.Message(conversation="hi").SerializeToString(),
        ),
    )
    with pytest.raises(NotMediaMessage):
        await rig.service.download(BOB, "TXT")
    with pytest.raises(NotMediaMessage):
        await rig.service.download(BOB, "NOPE")
    await rig.http.close()


async def phone_answers(rig: Rig, host: MediaHost, data: bytes, result: MediaRetryResult) -> None:
    """Plays the phone: waits for our server-error receipt, re-uploads, answers."""
    while not any(n.tag == "receipt" for n in rig.connection.sent):
        await asyncio.sleep(0.005)
    receipt = next(n for n in rig.connection.sent if n.tag == "receipt")
    message_id = receipt.attr_str("id") or ""
    payload = await rig.world.messages.messages.find_in_chat(SID, BOB, message_id)
    assert payload is not None and payload.payload is not None
    key = wa_e2e_pb2.Message.FromString(payload.payload).imageMessage.mediaKey
    encrypt = receipt.child("encrypt")
    assert encrypt is not None
    sealed = SealedRetry(
        (encrypt.child("enc_p") or Node("x")).content_bytes() or b"",
        (encrypt.child("enc_iv") or Node("x")).content_bytes() or b"",
    )
    assert open_retry_request(sealed, message_id, key) == message_id
    new_path = None
    if result is MediaRetryResult.SUCCESS:
        original = wa_e2e_pb2.Message.FromString(payload.payload).imageMessage
        new_path = host.put(host.blobs[original.directPath.split("?")[0]])
    notice = seal_retry_notice(MediaRetryNotice(message_id, result, new_path), key)
    node = Node(
        "notification",
        {"from": "s.whatsapp.net", "type": "mediaretry", "id": message_id},
        [
            Node("rmr", {"jid": BOB, "from_me": "false"}),
            Node(
                "encrypt", {}, [Node("enc_p", {}, notice.ciphertext), Node("enc_iv", {}, notice.iv)]
            ),
        ],
    )
    await rig.service.on_retry_notification(rig.connection, node)


async def test_expired_media_is_asked_for_again(
    world: World, host: MediaHost, tmp_path: Path
) -> None:
    rig = Rig(world, host, tmp_path / "media", retry_timeout_s=5.0)
    data = os.urandom(20_000)
    _, path = await rig.stored_image("OLD1", data)
    host.status_for[path.split("?")[0]] = 404
    phone = asyncio.create_task(phone_answers(rig, host, data, MediaRetryResult.SUCCESS))
    stored = await rig.service.download(BOB, "OLD1")
    await phone
    assert stored.path.read_bytes() == data
    assert stored.record.direct_path != path and stored.record.status is MediaStatus.DOWNLOADED
    receipt = next(n for n in rig.connection.sent if n.tag == "receipt")
    assert (receipt.attrs["type"], str(receipt.attrs["to"])) == ("server-error", OWN_PN)
    rmr = receipt.child("rmr")
    assert rmr is not None and rmr.attrs == {"jid": JID.parse(BOB), "from_me": "false"}
    assert rig.connection.sent[-1].tag == "ack"  # the notification was acked
    row = await world.sync.media.get_message_media(SID, BOB, BOB, "OLD1")
    assert row is not None and row.direct_path == stored.record.direct_path
    await rig.http.close()


async def test_a_phone_without_the_file_and_a_silent_phone(
    world: World, host: MediaHost, tmp_path: Path
) -> None:
    rig = Rig(world, host, tmp_path / "media", retry_timeout_s=0.3)
    _, path = await rig.stored_image("GONE", os.urandom(5000))
    host.status_for[path.split("?")[0]] = 410
    phone = asyncio.create_task(phone_answers(rig, host, b"", MediaRetryResult.NOT_FOUND))
    with pytest.raises(MediaUnavailable, match="not_found"):
        await rig.service.download(BOB, "GONE")
    await phone
    row = await world.sync.media.get_message_media(SID, BOB, BOB, "GONE")
    assert row is not None and row.status is MediaStatus.UNAVAILABLE and row.error

    _, path = await rig.stored_image("SILENT", os.urandom(5000))
    host.status_for[path.split("?")[0]] = 410
    with pytest.raises(MediaUnavailable, match="did not answer"):
        await rig.service.download(BOB, "SILENT")
    row = await world.sync.media.get_message_media(SID, BOB, BOB, "SILENT")
    assert row is not None and row.status is MediaStatus.RETRY_REQUESTED
    assert [e.status for e in world.of(MediaFailed)] == [
        MediaStatus.UNAVAILABLE,
        MediaStatus.RETRY_REQUESTED,
    ]
    assert rig.service.retries.waiting == 0
    # An error answer from the phone reads as "not on the phone".
    answer = parse_retry_notification(
        Node("notification", {"id": "X"}, [Node("rmr"), Node("error", {"code": "2"})])
    )
    assert answer == RetryAnswer("X", None, 2)
    await rig.http.close()


async def test_without_media_retry_expiry_is_reported(
    world: World, host: MediaHost, tmp_path: Path
) -> None:
    rig = Rig(world, host, tmp_path / "media", retry_on_expiry=False)
    _, path = await rig.stored_image("EXP", os.urandom(5000))
    host.status_for[path.split("?")[0]] = 410
    with pytest.raises(MediaExpired):
        await rig.service.download(BOB, "EXP")
    row = await world.sync.media.get_message_media(SID, BOB, BOB, "EXP")
    assert row is not None and row.status is MediaStatus.EXPIRED
    assert not any(n.tag == "receipt" for n in rig.connection.sent)
    await rig.http.close()


async def test_eager_download_and_sending(world: World, host: MediaHost, tmp_path: Path) -> None:
    rig = Rig(world, host, tmp_path / "media", eager_download=True)
    bus = EventBus()
    eager = asyncio.create_task(rig.service.eager(bus.subscribe()))
    data = os.urandom(9000)
    record, _ = await rig.stored_image("EAGER", data)
    bus.publish(MessageReceived(SID, record))
    async with asyncio.timeout(5):
        while not world.of(MediaDownloaded):
            await asyncio.sleep(0.01)
    eager.cancel()

    sent: list[tuple[JID, wa_e2e_pb2.Message]] = []

    async def send(to: JID, message: wa_e2e_pb2.Message) -> SendResult:
        sent.append((to, message))
        return SendResult("OUT1", BOB, 1_700_000_100, 2)

    document = tmp_path / "invoice.pdf"
    document.write_bytes(b"%PDF" + os.urandom(30_000))
    result = await rig.service.send(
        JID.parse(BOB),
        OutgoingMedia(MediaKind.DOCUMENT, "application/pdf", path=document),
        send,
    )
    ((to, message),) = sent
    assert str(to) == BOB and message.documentMessage.fileName == "invoice.pdf"
    assert result.path.read_bytes() == document.read_bytes()
    row = await world.sync.media.get_message_media(SID, BOB, OWN_PN, "OUT1")
    assert row is not None and row.status is MediaStatus.DOWNLOADED and row.file is not None
    await rig.http.close()


async def test_a_reused_upload_is_announced_again_without_uploading(
    world: World, host: MediaHost, tmp_path: Path
) -> None:
    rig = Rig(world, host, tmp_path / "media")
    sent: list[wa_e2e_pb2.Message] = []

    async def send(to: JID, message: wa_e2e_pb2.Message) -> SendResult:
        sent.append(message)
        return SendResult(f"OUT{len(sent)}", BOB, 1_700_000_100, 2)

    photo = tmp_path / "offer.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(20_000))
    media = OutgoingMedia(MediaKind.IMAGE, "image/jpeg", path=photo, caption="for Ann")
    first = await rig.service.send(JID.parse(BOB), media, send)
    again = OutgoingMedia(MediaKind.IMAGE, "image/jpeg", path=photo, caption="for Bo")
    second = await rig.service.send(JID.parse(BOB), again, send, first.upload)
    assert len(host.uploads) == 1
    one, two = (message.imageMessage for message in sent)
    assert (one.caption, two.caption) == ("for Ann", "for Bo")
    for field in ("mediaKey", "directPath", "fileEncSHA256", "fileSHA256", "mediaKeyTimestamp"):
        assert getattr(one, field) == getattr(two, field)
    assert second.upload == first.upload and second.path == first.path
    await rig.http.close()
