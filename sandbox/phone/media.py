"""The phone's media: upload and download like any client, media messages, media-retry answers.

Uploading goes the way a companion does it (protocol-inventory §8): ``iq xmlns=w:m >
media_conn`` for the auth token and hosts (kept for its ``ttl``), then ``POST
/mms/<type>/<token>?auth=..&token=..`` with the encrypted body, ``token`` being the base64url of
its SHA-256. Downloading appends whatsmeow's ``&hash=..&mms-type=..`` to the direct path. The
media host is the sandbox's own origin, reached over loopback (its TLS certificate is
self-signed, so it is not verified).

Media retry (§6.4, whatsmeow ``mediaretry.go``): a companion that gets 404/410 for a file sends
``receipt type=server-error`` to its own account with ``encrypt > enc_p, enc_iv`` (an AES-GCM
sealed ``ServerErrorReceipt``) and ``rmr(jid, from_me[, participant])``. The phone opens it with
the message's media key, uploads the file again and answers the device with ``notification
type=mediaretry > rmr, encrypt > enc_p, enc_iv`` (a sealed ``MediaRetryNotification`` with the new
direct path), or ``> rmr, error(code=2)`` when it does not have the file.
"""

from __future__ import annotations

import base64
import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from daemon.binary import JID, SERVER_JID, Node
from daemon.crypto.media import EncryptedMedia, MediaType
from daemon.crypto.media_retry import SealedRetry
from waproto import wa_e2e_pb2

__all__ = [
    "Attachment",
    "MediaHost",
    "MediaHostError",
    "MediaKind",
    "MediaRetryRequest",
    "OutgoingMedia",
    "Uploaded",
    "attachment_of",
    "media_message",
    "media_retry_notification",
    "parse_media_retry_receipt",
    "parse_outgoing_media",
]

IqCall = Callable[[Callable[[str], Node]], Awaitable[Node]]
MEDIA_NOT_ON_PHONE = 2
"""``error code`` whatsmeow reads as "the media is not available on the phone"."""
MEDIA_RETRY_UNREADABLE = 3
"""The request did not open with the message's media key (DECRYPTION_ERROR)."""
HTTP_TIMEOUT = 15.0


class MediaKind(enum.StrEnum):
    """What the admin API and the phone's record call a file."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    PTT = "ptt"
    DOCUMENT = "document"
    STICKER = "sticker"

    @property
    def media_type(self) -> MediaType:
        return _MEDIA_TYPES[self]

    @property
    def mms_type(self) -> str:
        return self.media_type.mms_type or str(self)


_MEDIA_TYPES = {
    MediaKind.IMAGE: MediaType.IMAGE,
    MediaKind.STICKER: MediaType.IMAGE,
    MediaKind.VIDEO: MediaType.VIDEO,
    MediaKind.AUDIO: MediaType.AUDIO,
    MediaKind.PTT: MediaType.AUDIO,
    MediaKind.DOCUMENT: MediaType.DOCUMENT,
}


class MediaHostError(Exception):
    """An upload or download the media host refused (``status`` is the HTTP status, 0 when the
    request did not get that far)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class OutgoingMedia:
    """A file the phone is asked to send."""

    kind: MediaKind
    data: bytes
    mimetype: str
    file_name: str = ""
    caption: str = ""


def parse_outgoing_media(data: Mapping[str, Any]) -> OutgoingMedia:
    """``{type, data_base64, mimetype, file_name?, caption?, ptt?}`` (ValueError when bad)."""
    raw_kind = data.get("type")
    if not isinstance(raw_kind, str) or raw_kind not in set(MediaKind):
        raise ValueError(f"media 'type' is one of {', '.join(MediaKind)}")
    kind = MediaKind(raw_kind)
    if data.get("ptt") is True:
        if kind not in (MediaKind.AUDIO, MediaKind.PTT):
            raise ValueError("'ptt' is for audio")
        kind = MediaKind.PTT
    encoded = data.get("data_base64")
    if not isinstance(encoded, str):
        raise ValueError("media 'data_base64' must be a string")
    try:
        body = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise ValueError("media 'data_base64' is not base64") from None
    if not body:
        raise ValueError("media data is empty")
    fields = {}
    for name in ("mimetype", "file_name", "caption"):
        value = data.get(name, "")
        if not isinstance(value, str):
            raise ValueError(f"media {name!r} must be a string")
        fields[name] = value
    if not fields["mimetype"]:
        raise ValueError("media 'mimetype' is required")
    return OutgoingMedia(kind, body, fields["mimetype"], fields["file_name"], fields["caption"])


@dataclass(frozen=True, slots=True)
class Uploaded:
    url: str
    direct_path: str


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
    file_name: str = ""
    caption: str = ""


def media_message(
    media: OutgoingMedia, encrypted: EncryptedMedia, uploaded: Uploaded, *, timestamp: int
) -> wa_e2e_pb2.Message:
    """The E2E message announcing an uploaded file (protocol-inventory §7.8)."""
    common: dict[str, Any] = {
        "URL": uploaded.url,
        "directPath": uploaded.direct_path,
        "mimetype": media.mimetype,
        "mediaKey": encrypted.media_key,
        "fileSHA256": encrypted.info.file_sha256,
        "fileEncSHA256": encrypted.info.file_enc_sha256,
        "fileLength": encrypted.info.file_length,
        "mediaKeyTimestamp": timestamp,
    }
    kind = media.kind
    if kind is MediaKind.IMAGE:
        return wa_e2e_pb2.Message(
            imageMessage=wa_e2e_pb2.ImageMessage(caption=media.caption, **common)
        )
    if kind is MediaKind.VIDEO:
        return wa_e2e_pb2.Message(
            videoMessage=wa_e2e_pb2.VideoMessage(caption=media.caption, **common)
        )
    if kind in (MediaKind.AUDIO, MediaKind.PTT):
        return wa_e2e_pb2.Message(
            audioMessage=wa_e2e_pb2.AudioMessage(PTT=kind is MediaKind.PTT, **common)
        )
    if kind is MediaKind.STICKER:
        return wa_e2e_pb2.Message(stickerMessage=wa_e2e_pb2.StickerMessage(**common))
    document = wa_e2e_pb2.DocumentMessage(fileName=media.file_name, title=media.file_name, **common)
    if media.caption:
        document.caption = media.caption
    return wa_e2e_pb2.Message(documentMessage=document)


def attachment_of(message: wa_e2e_pb2.Message) -> Attachment | None:
    """The file a message carries, if it is a media message with one."""
    if message.HasField("documentWithCaptionMessage"):
        # A captioned document travels wrapped (FutureProofMessage), as WhatsApp sends it.
        message = message.documentWithCaptionMessage.message
    if message.HasField("imageMessage"):
        image = message.imageMessage
        return _attachment(MediaKind.IMAGE, image, caption=image.caption)
    if message.HasField("videoMessage"):
        video = message.videoMessage
        return _attachment(MediaKind.VIDEO, video, caption=video.caption)
    if message.HasField("audioMessage"):
        audio = message.audioMessage
        return _attachment(MediaKind.PTT if audio.PTT else MediaKind.AUDIO, audio)
    if message.HasField("documentMessage"):
        document = message.documentMessage
        return _attachment(
            MediaKind.DOCUMENT, document, file_name=document.fileName, caption=document.caption
        )
    if message.HasField("stickerMessage"):
        return _attachment(MediaKind.STICKER, message.stickerMessage)
    return None


def _attachment(
    kind: MediaKind,
    part: wa_e2e_pb2.ImageMessage
    | wa_e2e_pb2.VideoMessage
    | wa_e2e_pb2.AudioMessage
    | wa_e2e_pb2.DocumentMessage
    | wa_e2e_pb2.StickerMessage,
    *,
    file_name: str = "",
    caption: str = "",
) -> Attachment | None:
    if not part.directPath or not part.mediaKey:
        return None
    return Attachment(
        kind=kind,
        media_key=part.mediaKey,
        direct_path=part.directPath,
        file_sha256=part.fileSHA256,
        file_enc_sha256=part.fileEncSHA256,
        file_length=part.fileLength,
        mimetype=part.mimetype,
        file_name=file_name,
        caption=caption,
    )


def _token(file_enc_sha256: bytes) -> str:
    return base64.urlsafe_b64encode(file_enc_sha256).decode().rstrip("=")


def media_conn_iq(iq_id: str) -> Node:
    return Node(
        "iq",
        {"id": iq_id, "xmlns": "w:m", "type": "set", "to": SERVER_JID},
        [Node("media_conn")],
    )


class MediaHost:
    """The media host as one client sees it: a cached ``media_conn``, uploads and downloads."""

    def __init__(
        self,
        iq: IqCall,
        origin: Callable[[], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._iq = iq
        self._origin = origin
        self._clock = clock
        self._auth = ""
        self._host = ""
        self._valid_until = 0.0

    async def _media_conn(self) -> tuple[str, str]:
        """(auth, base URL) from a fresh or still valid ``media_conn``."""
        if not self._auth or self._clock() >= self._valid_until:
            answer = await self._iq(media_conn_iq)
            conn = answer.child("media_conn")
            host = conn.child("host") if conn is not None else None
            if answer.attr_str("type") != "result" or conn is None or host is None:
                raise MediaHostError("the server refused media_conn")
            self._auth = conn.attr_str("auth") or ""
            self._host = host.attr_str("hostname") or ""
            self._valid_until = self._clock() + (conn.attr_int("ttl") or 0)
        scheme = self._origin().partition("://")[0] or "http"
        return self._auth, f"{scheme}://{self._host}"

    async def upload(self, body: bytes, mms_type: str, file_enc_sha256: bytes) -> Uploaded:
        auth, base = await self._media_conn()
        token = _token(file_enc_sha256)
        url = f"{base}/mms/{mms_type}/{token}"
        params = {"auth": auth, "token": token}
        headers = {"Origin": "https://web.whatsapp.com"}
        async with (
            _session() as session,
            session.post(url, data=body, params=params, headers=headers) as response,
        ):
            if response.status != 200:
                raise MediaHostError(f"upload refused: HTTP {response.status}", response.status)
            answer = await response.json(content_type=None)
        if not isinstance(answer, dict) or not isinstance(answer.get("direct_path"), str):
            raise MediaHostError("the upload answer has no direct_path")
        return Uploaded(url=str(answer.get("url", "")), direct_path=answer["direct_path"])

    async def download(self, direct_path: str, file_enc_sha256: bytes, mms_type: str) -> bytes:
        """The encrypted body at ``direct_path`` (MediaHostError with 404/410 when gone)."""
        _, base = await self._media_conn()
        query = f"&hash={_token(file_enc_sha256)}&mms-type={mms_type}&__wa-mms="
        url = base + direct_path + (query if "?" in direct_path else "?" + query[1:])
        async with _session() as session, session.get(url) as response:
            if response.status != 200:
                raise MediaHostError(f"download refused: HTTP {response.status}", response.status)
            return await response.read()


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=False),
        timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT),
    )


@dataclass(frozen=True, slots=True)
class MediaRetryRequest:
    """A ``receipt type=server-error`` from one of our companions."""

    message_id: str
    requester: JID
    sealed: SealedRetry
    chat: JID
    from_me: bool
    participant: JID | None = None

    def rmr(self) -> Node:
        attrs: dict[str, str | JID] = {
            "jid": self.chat,
            "from_me": "true" if self.from_me else "false",
        }
        if self.participant is not None:
            attrs["participant"] = self.participant
        return Node("rmr", attrs)


def parse_media_retry_receipt(node: Node) -> MediaRetryRequest:
    """ValueError when the receipt lacks what a media retry needs."""
    message_id = node.attr_str("id")
    requester = node.attr_jid("from")
    encrypt = node.child("encrypt")
    rmr = node.child("rmr")
    if not message_id or requester is None or encrypt is None or rmr is None:
        raise ValueError("a server-error receipt needs id, from, encrypt and rmr")
    ciphertext = (encrypt.child("enc_p") or Node("x")).content_bytes()
    iv = (encrypt.child("enc_iv") or Node("x")).content_bytes()
    chat = rmr.attr_jid("jid")
    if not ciphertext or not iv or chat is None:
        raise ValueError("a server-error receipt needs enc_p, enc_iv and rmr jid")
    return MediaRetryRequest(
        message_id=message_id,
        requester=requester,
        sealed=SealedRetry(ciphertext=ciphertext, iv=iv),
        chat=chat,
        from_me=rmr.attr_str("from_me") == "true",
        participant=rmr.attr_jid("participant"),
    )


def media_retry_notification(
    request: MediaRetryRequest,
    now: int,
    *,
    sealed: SealedRetry | None = None,
    error_code: int = MEDIA_NOT_ON_PHONE,
) -> Node:
    """The answer the requesting device gets: the sealed notice, or an error code."""
    content = [request.rmr()]
    if sealed is not None:
        content.append(
            Node(
                "encrypt",
                {},
                [Node("enc_p", {}, sealed.ciphertext), Node("enc_iv", {}, sealed.iv)],
            )
        )
    else:
        content.append(Node("error", {"code": str(error_code)}))
    # whatsmeow takes the message id from the notification's own id.
    attrs: dict[str, str | JID] = {
        "from": SERVER_JID,
        "type": "mediaretry",
        "id": request.message_id,
        "t": str(now),
    }
    return Node("notification", attrs, content)
