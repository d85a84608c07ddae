"""Media re-upload ("media retry") crypto: asking the sender's phone to upload a file again.

When a download answers 404 or 410, the companion sends a ``receipt(type=server-error)`` whose
``encrypt`` child holds ``enc_p`` (ciphertext) and ``enc_iv``: an AES-256-GCM sealed
``ServerErrorReceipt{stanzaID}``. The phone answers with a ``notification(type=mediaretry)`` that
carries a ``MediaRetryNotification`` sealed the same way. Both use

    key = HKDF-SHA256(mediaKey, info "WhatsApp Media Retry Notification", 32 bytes)
    IV  = 12 random bytes, additional data = the message id (UTF-8), tag appended (16 bytes)

so only someone who holds the message's media key can ask or answer. On SUCCESS the notification
gives a new ``directPath``; the media key and hashes stay those of the original message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.crypto.hkdf import hkdf_sha256
from daemon.crypto.media import MEDIA_KEY_LENGTH, RandomBytes
from waproto import wa_mms_pb2

RETRY_INFO = b"WhatsApp Media Retry Notification"
IV_LENGTH = 12


class MediaRetryError(ValueError):
    """A sealed retry request or notification that cannot be opened with this key and id."""


class MediaRetryResult(IntEnum):
    """``MediaRetryNotification.ResultType``. Baileys maps them to 418, 200, 404 and 412."""

    GENERAL_ERROR = 0
    SUCCESS = 1
    NOT_FOUND = 2
    DECRYPTION_ERROR = 3


@dataclass(frozen=True, slots=True)
class SealedRetry:
    """The ``enc_p`` and ``enc_iv`` contents."""

    ciphertext: bytes
    iv: bytes


@dataclass(frozen=True, slots=True)
class MediaRetryNotice:
    message_id: str
    result: MediaRetryResult
    direct_path: str | None = None
    message_secret: bytes | None = None


def retry_key(media_key: bytes) -> bytes:
    if len(media_key) != MEDIA_KEY_LENGTH:
        raise MediaRetryError(f"a media key is {MEDIA_KEY_LENGTH} bytes, got {len(media_key)}")
    return hkdf_sha256(media_key, RETRY_INFO, 32)


def _seal(
    plaintext: bytes, message_id: str, media_key: bytes, random_bytes: RandomBytes
) -> SealedRetry:
    iv = random_bytes(IV_LENGTH)
    ciphertext = AESGCM(retry_key(media_key)).encrypt(iv, plaintext, message_id.encode())
    return SealedRetry(ciphertext=ciphertext, iv=iv)


def _open(sealed: SealedRetry, message_id: str, media_key: bytes) -> bytes:
    if len(sealed.iv) != IV_LENGTH:
        raise MediaRetryError(f"a media retry IV is {IV_LENGTH} bytes, got {len(sealed.iv)}")
    try:
        return AESGCM(retry_key(media_key)).decrypt(
            sealed.iv, sealed.ciphertext, message_id.encode()
        )
    except InvalidTag as exc:
        raise MediaRetryError("wrong media key or message id (GCM tag mismatch)") from exc


def seal_retry_request(
    message_id: str, media_key: bytes, random_bytes: RandomBytes = os.urandom
) -> SealedRetry:
    """The companion's side: what goes into the server-error receipt."""
    receipt = wa_mms_pb2.ServerErrorReceipt(stanzaID=message_id)
    return _seal(receipt.SerializeToString(), message_id, media_key, random_bytes)


def open_retry_request(sealed: SealedRetry, message_id: str, media_key: bytes) -> str:
    """The phone's side: the stanza id the companion asked about."""
    plaintext = _open(sealed, message_id, media_key)
    try:
        receipt = wa_mms_pb2.ServerErrorReceipt.FromString(plaintext)
    except ProtoDecodeError as exc:
        raise MediaRetryError("the retry request is not a ServerErrorReceipt") from exc
    return receipt.stanzaID


def seal_retry_notice(
    notice: MediaRetryNotice, media_key: bytes, random_bytes: RandomBytes = os.urandom
) -> SealedRetry:
    """The phone's side: the answer to a retry request."""
    proto = wa_mms_pb2.MediaRetryNotification(
        stanzaID=notice.message_id,
        result=cast(wa_mms_pb2.MediaRetryNotification.ResultType, int(notice.result)),
    )
    if notice.direct_path is not None:
        proto.directPath = notice.direct_path
    if notice.message_secret is not None:
        proto.messageSecret = notice.message_secret
    return _seal(proto.SerializeToString(), notice.message_id, media_key, random_bytes)


def open_retry_notice(sealed: SealedRetry, message_id: str, media_key: bytes) -> MediaRetryNotice:
    """The companion's side: the phone's answer for ``message_id``."""
    plaintext = _open(sealed, message_id, media_key)
    try:
        proto = wa_mms_pb2.MediaRetryNotification.FromString(plaintext)
    except ProtoDecodeError as exc:
        raise MediaRetryError("the notification is not a MediaRetryNotification") from exc
    return MediaRetryNotice(
        message_id=proto.stanzaID or message_id,
        result=MediaRetryResult(proto.result),
        direct_path=proto.directPath if proto.HasField("directPath") else None,
        message_secret=proto.messageSecret if proto.HasField("messageSecret") else None,
    )
