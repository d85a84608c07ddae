"""Downloading an encrypted file from the media hosts and opening it, streaming.

The body is fed to :class:`~daemon.crypto.media.MediaDecryptor` chunk by chunk as it arrives
and the plaintext goes to a temporary file of the media store; only when ``finalize`` has
checked the length, the encrypted hash, the MAC, the padding and the plaintext hash is the file
moved to its content address. Nothing of a body that fails a check is kept.

Hosts are tried in order (media_conn's, then the message URL's host). A 404 or 410 means the
file is gone from the media host (WhatsApp keeps media for a while only): that is final for
every host, :class:`MediaExpired`, and the caller may ask the phone to upload it again
(``daemon.client.media_rerequest``). Network errors, 5xx and a body that does not verify move on
to the next host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiohttp
import structlog

from daemon.client.media_conn import MediaConnCache, Query
from daemon.client.media_http import CHUNK_BYTES, MediaHttp, file_token
from daemon.client.media_store import MediaStore
from daemon.client.sync_errors import MediaDownloadFailed, MediaExpired
from daemon.crypto.media import (
    MediaDecryptor,
    MediaFileInfo,
    MediaIntegrityError,
    MediaType,
)

EXPIRED_STATUSES = (404, 410)
MAX_BLOB_BYTES = 256 * 1024 * 1024
"""Largest body read into memory (history and app-state blobs)."""


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Where an encrypted file is and how to open it (a message attachment, a history sync
    notification, an app-state ExternalBlobReference)."""

    media_type: MediaType
    mms_type: str
    media_key: bytes
    direct_path: str
    file_sha256: bytes | None = None
    file_enc_sha256: bytes | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    stored_path: str
    """Relative to the media directory."""
    info: MediaFileInfo


class _Sink:
    """Where decrypted bytes go: a temporary file, or memory (bounded)."""

    def __init__(self, store: MediaStore | None, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self.temp: Path | None = None
        self._handle = None
        if store is not None:
            self._handle, self.temp = store.temp_file()

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self._limit:
            raise MediaDownloadFailed(f"the file is larger than {self._limit} bytes")
        if self._handle is not None:
            self._handle.write(data)
        else:
            self._parts.append(data)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def joined(self) -> bytes:
        return b"".join(self._parts)


class MediaDownloader:
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
        self.downloads = 0

    async def to_store(self, query: Query, ref: MediaRef, *, limit: int) -> DownloadedFile:
        """Downloads, verifies and stores the file. Raises MediaExpired, MediaDownloadFailed
        or MediaConnError."""
        temp, info, _ = await self._fetch(query, ref, limit, to_file=True)
        assert temp is not None  # to_file gives a temporary file
        return DownloadedFile(self._store.commit(temp, info.file_sha256), info)

    async def to_bytes(self, query: Query, ref: MediaRef, *, limit: int = MAX_BLOB_BYTES) -> bytes:
        """Downloads and verifies a (bounded) blob into memory."""
        _, _, data = await self._fetch(query, ref, limit, to_file=False)
        return data

    async def _fetch(
        self, query: Query, ref: MediaRef, limit: int, *, to_file: bool
    ) -> tuple[Path | None, MediaFileInfo, bytes]:
        conn = await self._conns.get(query)
        token = file_token(ref.file_enc_sha256 or b"")
        urls = self._http.download_urls(conn.hosts, ref.direct_path, token, ref.mms_type, ref.url)
        errors: list[str] = []
        for url in urls:
            sink = _Sink(self._store if to_file else None, limit)
            try:
                info = await self._get(url, ref, sink)
            except MediaExpired:
                sink.close()
                if sink.temp is not None:
                    self._store.discard(sink.temp)
                raise
            except (MediaDownloadFailed, MediaIntegrityError) as exc:
                sink.close()
                if sink.temp is not None:
                    self._store.discard(sink.temp)
                errors.append(str(exc))
                self._log.warning("client.media_download_error", error=str(exc))
                continue
            sink.close()
            self.downloads += 1
            return sink.temp, info, b"" if to_file else sink.joined()
        raise MediaDownloadFailed(f"{ref.media_type.value} download failed: {'; '.join(errors)}")

    async def _get(self, url: str, ref: MediaRef, sink: _Sink) -> MediaFileInfo:
        decryptor = MediaDecryptor(
            ref.media_key,
            ref.media_type,
            file_enc_sha256=ref.file_enc_sha256 or None,
            file_sha256=ref.file_sha256 or None,
        )
        host = url.split("/", 3)[2] if url.count("/") >= 3 else url
        try:
            async with self._http.use() as http, http.get(url) as response:
                if response.status in EXPIRED_STATUSES:
                    raise MediaExpired(response.status, f"{host} no longer has the file")
                if response.status != 200:
                    raise MediaDownloadFailed(f"{host}: HTTP {response.status}")
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    sink.write(decryptor.feed(chunk))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaDownloadFailed(f"{host}: {exc!r}") from None
        try:
            sink.write(decryptor.finalize())
        except MediaIntegrityError as exc:
            raise MediaDownloadFailed(f"{host}: {exc}") from None
        return decryptor.info
