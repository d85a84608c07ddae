"""Uploading a file: encrypt (streaming), POST to a media host, keep the plaintext locally.

The file (bytes, or a path read in chunks on a worker thread) is encrypted with a fresh media
key into a temporary file of the media store, so a large video is never held in memory whole;
the body is then streamed to the first media_conn host that takes it. A host that refuses the
auth token (401/403) gets one more try with a fresh media_conn; any other failure moves on to the
next host. The plaintext ends up in the content-addressed store, so what we sent can be read
back like what we received.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from daemon.client.media_conn import MediaConn, MediaConnCache, Query
from daemon.client.media_http import CHUNK_BYTES, MediaHttp, file_token
from daemon.client.media_message import OutgoingMedia, UploadedMedia
from daemon.client.media_store import MediaStore
from daemon.client.sync_errors import MediaConnError, MediaUploadFailed
from daemon.crypto.media import MediaEncryptor, MediaFileInfo, MediaType

_AUTH_REFUSED = (401, 403)


@dataclass(frozen=True, slots=True)
class _Encrypted:
    temp: Path
    media_key: bytes
    info: MediaFileInfo


@dataclass(frozen=True, slots=True)
class UploadResult:
    uploaded: UploadedMedia
    stored_path: str
    """Where the plaintext is now, relative to the media directory."""


def _encrypt_to(store: MediaStore, media: OutgoingMedia) -> _Encrypted:
    """Runs on a worker thread: plaintext in, encrypted temporary file out."""
    encryptor = MediaEncryptor(media.kind.media_type)
    handle, temp = store.temp_file()
    try:
        with handle:
            if media.data is not None:
                view = memoryview(media.data)
                for start in range(0, len(view), CHUNK_BYTES):
                    handle.write(encryptor.feed(bytes(view[start : start + CHUNK_BYTES])))
            else:
                assert media.path is not None  # OutgoingMedia holds one of the two
                with media.path.open("rb") as reader:
                    while chunk := reader.read(CHUNK_BYTES):
                        handle.write(encryptor.feed(chunk))
            handle.write(encryptor.finalize())
    except BaseException:
        store.discard(temp)
        raise
    return _Encrypted(temp, encryptor.media_key, encryptor.info)


class MediaUploader:
    def __init__(
        self,
        http: MediaHttp,
        conns: MediaConnCache,
        store: MediaStore,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self._http = http
        self._conns = conns
        self._store = store
        self._log = log
        self.uploads = 0

    async def upload(self, query: Query, media: OutgoingMedia) -> UploadResult:
        """Encrypts and uploads ``media``. Raises MediaUploadFailed, MediaConnError, or
        OSError when the source file cannot be read."""
        if media.path is not None and not media.path.is_file():
            raise MediaUploadFailed(f"{media.path} is not a readable file")
        encrypted = await asyncio.to_thread(_encrypt_to, self._store, media)
        try:
            answer = await self._post(query, encrypted, media.kind.media_type, media.kind.mms_type)
        finally:
            self._store.discard(encrypted.temp)
        info = encrypted.info
        if media.data is not None:
            stored, _ = await self._store.awrite_bytes(media.data)
        else:
            assert media.path is not None
            stored = await self._store.acopy_file(media.path, info.file_sha256)
        self.uploads += 1
        uploaded = UploadedMedia(
            url=str(answer.get("url", "")),
            direct_path=str(answer["direct_path"]),
            handle=str(answer.get("handle", "")),
            media_key=encrypted.media_key,
            file_sha256=info.file_sha256,
            file_enc_sha256=info.file_enc_sha256,
            file_length=info.file_length,
        )
        return UploadResult(uploaded, stored)

    async def _post(
        self, query: Query, encrypted: _Encrypted, media_type: MediaType, mms_type: str
    ) -> dict[str, Any]:
        token = file_token(encrypted.info.file_enc_sha256)
        conn = await self._conns.get(query)
        errors: list[str] = []
        refreshed = False
        hosts = list(conn.hosts)
        index = 0
        while index < len(hosts):
            host = hosts[index]
            url = self._http.upload_url(host, mms_type, conn.auth, token)
            status, answer, error = await self._post_once(url, encrypted.temp)
            if status == 200 and answer is not None:
                return answer
            errors.append(f"{host.hostname}: {error}")
            if status in _AUTH_REFUSED and not refreshed:
                # The token expired early (or was revoked): one more try with a new one.
                refreshed = True
                self._conns.invalidate()
                conn = await self._fresh(query)
                hosts = list(conn.hosts)
                index = 0
                continue
            index += 1
        raise MediaUploadFailed(f"{media_type.value} upload refused: {'; '.join(errors)}")

    async def _fresh(self, query: Query) -> MediaConn:
        try:
            return await self._conns.get(query)
        except MediaConnError as exc:
            raise MediaUploadFailed(f"no media_conn after an auth refusal: {exc}") from None

    async def _post_once(self, url: str, body: Path) -> tuple[int, dict[str, Any] | None, str]:
        try:
            with body.open("rb") as reader:
                async with self._http.use() as http, http.post(url, data=reader) as response:
                    if response.status != 200:
                        return response.status, None, f"HTTP {response.status}"
                    answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self._log.warning("client.media_upload_error", error=repr(exc))
            return 0, None, repr(exc)
        if not isinstance(answer, dict) or not isinstance(answer.get("direct_path"), str):
            return 200, None, "the answer has no direct_path"
        return 200, answer, ""
