"""Taking in a file to send: from a ``multipart/form-data`` upload or from a ``url``, streamed
to the staging directory (``<state dir>/outgoing``) in chunks, never held whole in memory,
counted against the kind's limit (413 ``media-too-large``, the partial file removed), its
mimetype settled from its bytes, and for images a thumbnail made with Pillow.

The result is a :class:`~daemon.outbox.SendRequest` whose attachment names the staged file; the
caller discards it (:func:`discard_staged`) when the send is not queued after all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import secrets
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from PIL import Image, UnidentifiedImageError

from daemon.config import Config, MediaSendConfig
from daemon.outbox import MessageKind, SendRequest, normalize_chat
from daemon.send_content import MAX_CAPTION_CHARS, MediaAttachment, MediaSendKind, StagedFile
from http_api.media_fetch import Fetched, fetch
from http_api.media_sniff import SNIFF_BYTES, MimetypeRefused, settle_mimetype
from http_api.problems import Problem, bad_request

STAGING_DIRECTORY = "outgoing"
CHUNK = 64 * 1024
THUMBNAIL_SIDE = 96
MAX_FIELD_BYTES = 8192
FIELDS = {"to", "type", "caption", "fileName", "ptt", "mimetype"}


def staging_directory(config: Config) -> Path:
    directory = Path(config.storage.state_dir) / STAGING_DIRECTORY
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def limit_of(kind: MediaSendKind, config: MediaSendConfig) -> int:
    return {
        MediaSendKind.IMAGE: config.max_image_bytes,
        MediaSendKind.VIDEO: config.max_video_bytes,
        MediaSendKind.AUDIO: config.max_audio_bytes,
        MediaSendKind.STICKER: config.max_sticker_bytes,
        MediaSendKind.DOCUMENT: config.max_document_bytes,
    }[kind]


class Staging:
    """One file being written: size counted, SHA-256 and the first bytes kept."""

    def __init__(self, directory: Path, limit: int, name: str | None = None) -> None:
        self.path = directory / (name or secrets.token_hex(16))
        self.limit = limit
        self.size = 0
        self.head = b""
        self._digest = hashlib.sha256()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: io.BufferedWriter | None = os.fdopen(fd, "wb")

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise Problem(
                413,
                "media-too-large",
                f"the file is over the limit of {self.limit} bytes for this kind",
                limit=self.limit,
            )
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self._digest.update(chunk)
        assert self._file is not None
        self._file.write(chunk)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def staged(self, mimetype: str) -> StagedFile:
        self.close()
        return StagedFile(str(self.path), self._digest.hexdigest(), self.size, mimetype)


def discard_staged(send: SendRequest) -> None:
    """Removes the staged file of a send that was not queued."""
    if send.media is not None:
        discard_attachment(send.media)


def discard_attachment(attachment: MediaAttachment) -> None:
    with contextlib.suppress(FileNotFoundError):
        Path(attachment.file.path).unlink()


def _thumbnail(path: Path) -> tuple[int, int, bytes]:
    """Width, height and a small JPEG of an image (raises MimetypeRefused if unreadable)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=60)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise MimetypeRefused(f"the image cannot be read: {exc}") from None
    return width, height, out.getvalue()


def _kind(fields: dict[str, Any]) -> tuple[MessageKind, MediaSendKind]:
    raw = str(fields.get("type", ""))
    try:
        kind = MessageKind(raw)
    except ValueError:
        raise bad_request("'type' must name a media kind for a file upload") from None
    if not kind.is_media:
        raise bad_request(f"a file is sent as image, video, audio, document or sticker, not {raw}")
    return kind, MediaSendKind(kind.value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "on"):
        return True
    if value in (None, "", "false", "0", "off"):
        return False
    raise bad_request("'ptt' must be true or false")


def _text(fields: dict[str, Any], name: str, maximum: int) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str) or len(value) > maximum:
        raise bad_request(f"'{name}' must be a string of up to {maximum} characters")
    return value


async def _finish(
    fields: dict[str, Any], staging: Staging, declared: str | None, fallback_name: str
) -> SendRequest:
    try:
        kind, _media_kind = _kind(fields)
        to = fields.get("to")
        if not isinstance(to, str):
            raise bad_request("'to' is required (a JID or a phone number)")
        chat = normalize_chat(to)
    except BaseException:
        staging.discard()
        raise
    attachment = await attachment_of(fields, staging, declared, fallback_name)
    return SendRequest(chat, kind, media=attachment)


async def attachment_of(
    fields: dict[str, Any], staging: Staging, declared: str | None, fallback_name: str
) -> MediaAttachment:
    """The attachment a staged file makes with its fields (``type``, ``caption``,
    ``fileName``, ``ptt``, ``mimetype``): the mimetype settled from the bytes (415 when they
    are not what ``type`` says), a thumbnail for images. The staged file is removed on error."""
    try:
        _kind_name, media_kind = _kind(fields)
        ptt = _flag(fields.get("ptt"))
        if ptt and media_kind is not MediaSendKind.AUDIO:
            raise bad_request("'ptt' is for audio only")
        caption = _text(fields, "caption", MAX_CAPTION_CHARS)
        if caption and media_kind in (MediaSendKind.AUDIO, MediaSendKind.STICKER):
            raise bad_request(f"a {media_kind.value} has no caption")
        file_name = _text(fields, "fileName", 255) or fallback_name
        declared = _text(fields, "mimetype", 255) or declared
        if staging.size == 0:
            raise bad_request("the file is empty")
        mimetype = settle_mimetype(media_kind, staging.head, declared, ptt=ptt)
        staged = staging.staged(mimetype)
        width = height = 0
        thumbnail = b""
        if media_kind is MediaSendKind.IMAGE:
            width, height, thumbnail = await asyncio.to_thread(_thumbnail, staging.path)
        return MediaAttachment(
            kind=media_kind,
            file=staged,
            caption=caption,
            file_name=file_name if media_kind is MediaSendKind.DOCUMENT else "",
            ptt=ptt,
            width=width,
            height=height,
            thumbnail=thumbnail,
        )
    except MimetypeRefused as exc:
        staging.discard()
        raise Problem(415, "unsupported-media-type", str(exc)) from None
    except BaseException:
        staging.discard()
        raise


async def receive_file(part: BodyPartReader, staging: Staging) -> tuple[str | None, str]:
    """Streams a ``file`` part into ``staging``; the part's declared mimetype and file name."""
    while chunk := await part.read_chunk(CHUNK):
        await staging.write(chunk)
    staging.close()
    return part.headers.get("Content-Type"), part.filename or ""


async def from_multipart(request: web.Request, config: Config) -> SendRequest:
    """Fields ``to``, ``type``, ``caption``, ``fileName``, ``ptt``, ``mimetype`` and one
    ``file`` part, in any order (a kind named before the file sets the limit while it
    streams; otherwise the largest limit applies until the kind is known)."""
    try:
        reader = await request.multipart()
    except ValueError as exc:
        raise bad_request(f"the multipart body cannot be read: {exc}") from None
    fields: dict[str, Any] = {}
    staging: Staging | None = None
    declared: str | None = None
    file_name = ""
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad_request("nested multipart bodies are not supported")
            if part.name == "file":
                if staging is not None:
                    raise bad_request("send one 'file' part")
                limit = limit_so_far(fields, config.media)
                staging = Staging(staging_directory(config), limit)
                declared, file_name = await receive_file(part, staging)
            elif part.name in FIELDS:
                raw = await part.read(decode=True)
                if len(raw) > MAX_FIELD_BYTES:
                    raise bad_request(f"field {part.name!r} is too long")
                fields[part.name] = raw.decode("utf-8", "replace")
            else:
                raise bad_request(f"unknown form field {part.name!r}")
    except ValueError as exc:
        # aiohttp's multipart reader says "malformed" with ValueError (bad boundary, headers).
        if staging is not None:
            staging.discard()
        raise bad_request(f"the multipart body cannot be read: {exc}") from None
    except BaseException:
        if staging is not None:
            staging.discard()
        raise
    if staging is None:
        raise bad_request("a 'file' part is required")
    check_kind_limit(fields, staging, config.media)
    return await _finish(fields, staging, declared, file_name)


def limit_so_far(fields: dict[str, Any], config: MediaSendConfig) -> int:
    try:
        return limit_of(MediaSendKind(str(fields.get("type", ""))), config)
    except ValueError:
        return max(limit_of(kind, config) for kind in MediaSendKind)


def check_kind_limit(fields: dict[str, Any], staging: Staging, config: MediaSendConfig) -> None:
    """The kind's own limit, once the kind is known (it may have come after the file)."""
    try:
        limit = limit_of(MediaSendKind(str(fields.get("type", ""))), config)
    except ValueError:
        return
    if staging.size > limit:
        staging.discard()
        raise Problem(
            413, "media-too-large", f"the file is over the limit of {limit} bytes", limit=limit
        )


async def from_url(body: dict[str, Any], config: Config) -> SendRequest:
    """A JSON send naming its file by ``url`` (downloaded now, before anything is queued)."""
    unknown = sorted(set(body) - FIELDS - {"url"})
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)}")
    staging, fetched = await fetch_staged(body, staging_directory(config), config)
    return await _finish(body, staging, fetched.declared_mimetype, fetched.file_name)


async def fetch_staged(
    fields: dict[str, Any], directory: Path, config: Config, name: str | None = None
) -> tuple[Staging, Fetched]:
    """Downloads the ``url`` of ``fields`` into ``directory`` under the kind's limit."""
    url = fields.get("url")
    if not isinstance(url, str) or not url:
        raise bad_request("send the file as multipart/form-data, or give its 'url'")
    _kind_name, media_kind = _kind(fields)
    staging = Staging(directory, limit_of(media_kind, config.media), name)
    try:
        fetched = await fetch(url, staging.write, staging.limit, config.media)
    except BaseException:
        staging.discard()
        raise
    staging.close()
    return staging, fetched


__all__ = [
    "Staging",
    "attachment_of",
    "check_kind_limit",
    "discard_attachment",
    "discard_staged",
    "fetch_staged",
    "from_multipart",
    "from_url",
    "limit_of",
    "limit_so_far",
    "receive_file",
    "staging_directory",
]
