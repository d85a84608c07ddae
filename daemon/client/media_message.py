"""Media messages, both ways (pure): the file an incoming message points at, and the message
that announces a file we uploaded.

Every media kind carries the same download core (URL, directPath, mediaKey, fileSHA256 of the
plaintext, fileEncSHA256 of the uploaded body, fileLength, mediaKeyTimestamp) under its own
field numbers (protocol-inventory §7.8). Stickers use the image keys, voice notes the audio ones
with ``PTT`` set; the stanza's ``enc`` names the kind in ``mediatype`` (``ptt`` for a voice
note, ``sticker``...), as whatsmeow's ``getMediaTypeFromMessage`` does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.client.message_content import FieldNames, field_names, unwrap, unwrap_fields
from daemon.crypto.media import MediaType
from waproto import wa_e2e_pb2

MediaPart = (
    wa_e2e_pb2.ImageMessage
    | wa_e2e_pb2.VideoMessage
    | wa_e2e_pb2.AudioMessage
    | wa_e2e_pb2.DocumentMessage
    | wa_e2e_pb2.StickerMessage
)


class MediaKind(enum.StrEnum):
    """What a file is to the user; the value is the stanza ``mediatype``."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "ptt"
    DOCUMENT = "document"
    STICKER = "sticker"

    @property
    def media_type(self) -> MediaType:
        return _MEDIA_TYPES[self]

    @property
    def mms_type(self) -> str:
        """The upload path segment (stickers go to ``image``, voice notes to ``audio``)."""
        return self.media_type.mms_type or self.value


_MEDIA_TYPES = {
    MediaKind.IMAGE: MediaType.IMAGE,
    MediaKind.STICKER: MediaType.IMAGE,
    MediaKind.VIDEO: MediaType.VIDEO,
    MediaKind.AUDIO: MediaType.AUDIO,
    MediaKind.VOICE: MediaType.AUDIO,
    MediaKind.DOCUMENT: MediaType.DOCUMENT,
}


class MediaContentError(ValueError):
    """An outgoing media description that cannot be sent as given."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """The file of a media message, as the message describes it."""

    kind: MediaKind
    media_key: bytes
    direct_path: str
    file_sha256: bytes
    file_enc_sha256: bytes
    file_length: int
    mimetype: str
    url: str = ""
    file_name: str = ""
    caption: str = ""


def attachment_of(message: wa_e2e_pb2.Message) -> Attachment | None:
    """The downloadable file a message carries (wrappers looked through), or None."""
    inner = unwrap(message)
    if inner.HasField("imageMessage"):
        image = inner.imageMessage
        return _attachment(MediaKind.IMAGE, image, caption=image.caption)
    if inner.HasField("videoMessage"):
        video = inner.videoMessage
        return _attachment(MediaKind.VIDEO, video, caption=video.caption)
    if inner.HasField("ptvMessage"):
        return _attachment(MediaKind.VIDEO, inner.ptvMessage)
    if inner.HasField("audioMessage"):
        audio = inner.audioMessage
        return _attachment(MediaKind.VOICE if audio.PTT else MediaKind.AUDIO, audio)
    if inner.HasField("documentMessage"):
        document = inner.documentMessage
        return _attachment(
            MediaKind.DOCUMENT, document, file_name=document.fileName, caption=document.caption
        )
    if inner.HasField("stickerMessage"):
        return _attachment(MediaKind.STICKER, inner.stickerMessage)
    return None


def _attachment(
    kind: MediaKind, part: MediaPart, *, file_name: str = "", caption: str = ""
) -> Attachment | None:
    if not part.directPath or len(part.mediaKey) != 32:
        return None
    return Attachment(
        kind=kind,
        media_key=part.mediaKey,
        direct_path=part.directPath,
        file_sha256=part.fileSHA256,
        file_enc_sha256=part.fileEncSHA256,
        file_length=part.fileLength,
        mimetype=part.mimetype,
        url=part.URL,
        file_name=file_name,
        caption=caption,
    )


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a media message says about its file (0 / "" when the message does not say)."""

    kind: MediaKind
    mimetype: str
    size: int
    file_name: str = ""
    seconds: int = 0
    width: int = 0
    height: int = 0


def media_info(message: wa_e2e_pb2.Message) -> MediaInfo | None:
    """The file's metadata of a media message (wrappers looked through), None for others."""
    inner = unwrap(message)
    kind = _kind_of(inner)
    if kind is None:
        return None
    if inner.HasField("imageMessage"):
        image = inner.imageMessage
        return MediaInfo(
            kind, image.mimetype, image.fileLength, width=image.width, height=image.height
        )
    if inner.HasField("videoMessage") or inner.HasField("ptvMessage"):
        video = inner.videoMessage if inner.HasField("videoMessage") else inner.ptvMessage
        return MediaInfo(
            kind,
            video.mimetype,
            video.fileLength,
            seconds=video.seconds,
            width=video.width,
            height=video.height,
        )
    if inner.HasField("audioMessage"):
        audio = inner.audioMessage
        return MediaInfo(kind, audio.mimetype, audio.fileLength, seconds=audio.seconds)
    if inner.HasField("documentMessage"):
        document = inner.documentMessage
        return MediaInfo(kind, document.mimetype, document.fileLength, file_name=document.fileName)
    sticker = inner.stickerMessage
    return MediaInfo(
        kind, sticker.mimetype, sticker.fileLength, width=sticker.width, height=sticker.height
    )


def stanza_media_type(message: wa_e2e_pb2.Message) -> str | None:
    """The ``enc`` ``mediatype`` of a media message, None for anything else."""
    attachment_kind = media_kind_of(*unwrap_fields(message, field_names(message)))
    return None if attachment_kind is None else attachment_kind.value


def _kind_of(message: wa_e2e_pb2.Message) -> MediaKind | None:
    return media_kind_of(message, field_names(message))


def media_kind_of(message: wa_e2e_pb2.Message, fields: FieldNames) -> MediaKind | None:
    """The kind of file an unwrapped ``message`` (whose set fields are ``fields``) carries."""
    if fields.isdisjoint(_MEDIA_FIELDS):
        return None
    if "imageMessage" in fields:
        return MediaKind.IMAGE
    if "videoMessage" in fields or "ptvMessage" in fields:
        return MediaKind.VIDEO
    if "audioMessage" in fields:
        return MediaKind.VOICE if message.audioMessage.PTT else MediaKind.AUDIO
    if "documentMessage" in fields:
        return MediaKind.DOCUMENT
    return MediaKind.STICKER


_MEDIA_FIELDS = frozenset(
    {
        "imageMessage",
        "videoMessage",
        "ptvMessage",
        "audioMessage",
        "documentMessage",
        "stickerMessage",
    }
)


# ------------------------------------------------------------------------------------- outgoing


@dataclass(frozen=True, slots=True)
class OutgoingMedia:
    """A file to send: its bytes or a path to it (streamed, never read whole), and what the
    recipient sees of it."""

    kind: MediaKind
    mimetype: str
    data: bytes | None = None
    path: Path | None = None
    caption: str = ""
    file_name: str = ""
    """Documents: the name shown (the path's name when empty)."""
    seconds: int = 0
    """Audio, voice notes and videos: the duration."""
    width: int = 0
    height: int = 0
    waveform: bytes = b""
    """Voice notes: up to 64 amplitude samples for the bar the player draws."""
    thumbnail: bytes = b""
    """Images, videos, documents: a small JPEG shown until the file is downloaded."""

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise MediaContentError("give the file's data or its path (one of them)")
        if self.data is not None and not self.data:
            raise MediaContentError("a media file cannot be empty")
        if not self.mimetype or "/" not in self.mimetype:
            raise MediaContentError(
                f"a mimetype like image/jpeg is required, got {self.mimetype!r}"
            )
        if self.caption and self.kind in (MediaKind.AUDIO, MediaKind.VOICE, MediaKind.STICKER):
            raise MediaContentError(f"a {self.kind.name.lower()} has no caption")
        if len(self.waveform) > 64:
            raise MediaContentError("a waveform has at most 64 samples")
        if self.seconds < 0 or self.width < 0 or self.height < 0:
            raise MediaContentError("durations and sizes are not negative")

    @property
    def shown_name(self) -> str:
        if self.file_name:
            return self.file_name
        return self.path.name if self.path is not None else "file"


@dataclass(frozen=True, slots=True)
class UploadedMedia:
    """An uploaded file: where it is and how to open it."""

    url: str
    direct_path: str
    handle: str
    media_key: bytes
    file_sha256: bytes
    file_enc_sha256: bytes
    file_length: int


def build_media_message(
    media: OutgoingMedia, uploaded: UploadedMedia, *, timestamp: int
) -> wa_e2e_pb2.Message:
    """The E2E message announcing an uploaded file."""
    common: dict[str, Any] = {
        "URL": uploaded.url,
        "directPath": uploaded.direct_path,
        "mimetype": media.mimetype,
        "mediaKey": uploaded.media_key,
        "fileSHA256": uploaded.file_sha256,
        "fileEncSHA256": uploaded.file_enc_sha256,
        "fileLength": uploaded.file_length,
        "mediaKeyTimestamp": timestamp,
    }
    kind = media.kind
    if kind is MediaKind.IMAGE:
        image = wa_e2e_pb2.ImageMessage(**common)
        _set_size(image, media)
        if media.thumbnail:
            image.JPEGThumbnail = media.thumbnail
        if media.caption:
            image.caption = media.caption
        return wa_e2e_pb2.Message(imageMessage=image)
    if kind is MediaKind.VIDEO:
        video = wa_e2e_pb2.VideoMessage(**common)
        _set_size(video, media)
        if media.thumbnail:
            video.JPEGThumbnail = media.thumbnail
        if media.seconds:
            video.seconds = media.seconds
        if media.caption:
            video.caption = media.caption
        return wa_e2e_pb2.Message(videoMessage=video)
    if kind in (MediaKind.AUDIO, MediaKind.VOICE):
        audio = wa_e2e_pb2.AudioMessage(PTT=kind is MediaKind.VOICE, **common)
        if media.seconds:
            audio.seconds = media.seconds
        if media.waveform:
            audio.waveform = media.waveform
        return wa_e2e_pb2.Message(audioMessage=audio)
    if kind is MediaKind.STICKER:
        sticker = wa_e2e_pb2.StickerMessage(**common)
        _set_size(sticker, media)
        return wa_e2e_pb2.Message(stickerMessage=sticker)
    document = wa_e2e_pb2.DocumentMessage(
        fileName=media.shown_name, title=media.shown_name, **common
    )
    if not media.caption:
        return wa_e2e_pb2.Message(documentMessage=document)
    # A captioned document travels inside documentWithCaptionMessage (WhatsApp's own shape).
    document.caption = media.caption
    inner = wa_e2e_pb2.Message(documentMessage=document)
    return wa_e2e_pb2.Message(
        documentWithCaptionMessage=wa_e2e_pb2.FutureProofMessage(message=inner)
    )


def _set_size(
    part: wa_e2e_pb2.ImageMessage | wa_e2e_pb2.VideoMessage | wa_e2e_pb2.StickerMessage,
    media: OutgoingMedia,
) -> None:
    if media.width:
        part.width = media.width
    if media.height:
        part.height = media.height
