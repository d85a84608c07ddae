"""Uploads and downloads against a media host on loopback: streaming, tokens, auth refresh,
fallback hosts, expiry, integrity failures, size bounds."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from media_fakes import AUTH, MediaHost, media_host

from daemon.binary import Node
from daemon.client.media_conn import MediaConnCache
from daemon.client.media_download import MediaDownloader, MediaRef
from daemon.client.media_http import MediaHttp, MediaHttpOptions
from daemon.client.media_message import MediaKind, OutgoingMedia
from daemon.client.media_store import MediaStore
from daemon.client.media_upload import MediaUploader
from daemon.client.sync_errors import MediaDownloadFailed, MediaExpired, MediaUploadFailed
from daemon.crypto.media import MediaType, decrypt_media, encrypt_media


class Rig:
    def __init__(self, host: MediaHost, root: Path) -> None:
        self.host = host
        self.http = MediaHttp(MediaHttpOptions(scheme="http", timeout_s=10))
        self.conns = MediaConnCache()
        self.store = MediaStore(root)
        log = structlog.get_logger("test")
        self.uploader = MediaUploader(self.http, self.conns, self.store, log)
        self.downloader = MediaDownloader(self.http, self.conns, self.store, log)
        self.hosts: list[str] | None = None
        self.conn_asks = 0

    async def query(self, request: Node) -> Node:
        self.conn_asks += 1
        return self.host.media_conn(request, hosts=self.hosts, auth=AUTH)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with media_host() as host:
        made = Rig(host, tmp_path / "media")
        yield made
        await made.http.close()


async def test_upload_streams_a_file_and_keeps_the_plaintext(rig: Rig, tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    data = os.urandom(3 * 1024 * 1024 + 17)
    video.write_bytes(data)
    result = await rig.uploader.upload(
        rig.query, OutgoingMedia(MediaKind.VIDEO, "video/mp4", path=video)
    )
    ((mms_type, path, body),) = rig.host.uploads
    uploaded = result.uploaded
    assert mms_type == "video" and uploaded.direct_path == path
    assert uploaded.url == f"http://{rig.host.hostname}{path}"
    assert rig.host.origins == ["https://web.whatsapp.com"]
    plain = decrypt_media(
        body,
        uploaded.media_key,
        MediaType.VIDEO,
        file_enc_sha256=uploaded.file_enc_sha256,
        file_sha256=uploaded.file_sha256,
    )
    assert plain == data and uploaded.file_length == len(data)
    assert rig.store.path_of(result.stored_path).read_bytes() == data
    assert os.listdir(rig.store.root / "tmp") == []


async def test_upload_retries_with_a_fresh_token_then_other_hosts(rig: Rig) -> None:
    media = OutgoingMedia(MediaKind.VOICE, "audio/ogg; codecs=opus", data=b"\x01voice" * 100)
    rig.host.fail_uploads = [401]
    result = await rig.uploader.upload(rig.query, media)
    assert rig.conn_asks == 2 and result.uploaded.direct_path.startswith("/v/")
    assert rig.host.uploads[0][0] == "audio"  # voice notes go to the audio path

    rig.conns.invalidate()
    rig.hosts = ["127.0.0.1:1", rig.host.hostname]  # the first host is unreachable
    await rig.uploader.upload(rig.query, media)
    assert len(rig.host.uploads) == 2

    rig.conns.invalidate()
    rig.hosts = [rig.host.hostname]
    rig.host.fail_uploads = [500]
    with pytest.raises(MediaUploadFailed, match="HTTP 500"):
        await rig.uploader.upload(rig.query, media)
    rig.host.auth = "rotated"  # every token refused, even a fresh one
    with pytest.raises(MediaUploadFailed, match="HTTP 401"):
        await rig.uploader.upload(rig.query, media)
    rig.host.auth = AUTH


def ref_for(host: MediaHost, data: bytes, kind: MediaType = MediaType.IMAGE) -> MediaRef:
    encrypted = encrypt_media(data, kind)
    path = host.put(encrypted.body)
    return MediaRef(
        media_type=kind,
        mms_type=kind.mms_type or "image",
        media_key=encrypted.media_key,
        direct_path=path,
        file_sha256=encrypted.info.file_sha256,
        file_enc_sha256=encrypted.info.file_enc_sha256,
    )


async def test_download_verifies_and_stores_with_fallback_hosts(rig: Rig) -> None:
    data = os.urandom(400_000)
    ref = ref_for(rig.host, data)
    rig.hosts = ["127.0.0.1:1", rig.host.hostname]
    downloaded = await rig.downloader.to_store(rig.query, ref, limit=10**7)
    assert rig.store.path_of(downloaded.stored_path).read_bytes() == data
    assert downloaded.info.file_length == len(data)
    (url,) = rig.host.downloads
    assert "&hash=" in url and "&mms-type=image&__wa-mms=" in url and "?ccb=11-4" in url
    assert await rig.downloader.to_bytes(rig.query, ref) == data


async def test_expired_media_and_bad_bodies(rig: Rig) -> None:
    data = b"document body" * 500
    ref = ref_for(rig.host, data, MediaType.DOCUMENT)
    rig.host.status_for[ref.direct_path.split("?")[0]] = 410
    with pytest.raises(MediaExpired) as expired:
        await rig.downloader.to_store(rig.query, ref, limit=10**7)
    assert expired.value.status == 410
    del rig.host.status_for[ref.direct_path.split("?")[0]]

    wrong_key = MediaRef(
        ref.media_type, ref.mms_type, os.urandom(32), ref.direct_path, file_enc_sha256=None
    )
    with pytest.raises(MediaDownloadFailed, match="mac check failed"):
        await rig.downloader.to_bytes(rig.query, wrong_key)
    tampered_hash = MediaRef(
        ref.media_type, ref.mms_type, ref.media_key, ref.direct_path, file_enc_sha256=b"x" * 32
    )
    with pytest.raises(MediaDownloadFailed, match="enc_sha256"):
        await rig.downloader.to_store(rig.query, tampered_hash, limit=10**7)
    with pytest.raises(MediaDownloadFailed, match="larger than"):
        await rig.downloader.to_bytes(rig.query, ref, limit=1000)
    assert os.listdir(rig.store.root / "tmp") == []
    assert [p for p in rig.store.root.iterdir() if p.name != "tmp"] == []


async def test_the_http_client_is_closed_once_idle_and_made_again_for_the_next_transfer(
    rig: Rig,
) -> None:
    rig.http.idle_close_s = 0.05
    data = os.urandom(10_000)
    ref = ref_for(rig.host, data)
    assert not rig.http.holds_session
    assert await rig.downloader.to_bytes(rig.query, ref) == data
    assert rig.http.holds_session  # kept for the transfers that follow soon
    async with asyncio.timeout(5.0):
        while rig.http.holds_session:
            await asyncio.sleep(0.02)
    assert await rig.downloader.to_bytes(rig.query, ref) == data
    assert len(rig.host.downloads) == 2
