"""Media encryption: the file format behind every attachment, history-sync blob and app-state blob.

A 32-byte ``mediaKey`` travels inside the (Signal-encrypted) message. HKDF-SHA256 expands it,
with an info string that names the kind of file, to 112 bytes: IV (16) | AES-256 key (32) |
HMAC key (32) | "ref key" (32, unused by every client). The uploaded body is

    AES-256-CBC-PKCS7(plaintext) || first 10 bytes of HMAC-SHA256(macKey, IV || ciphertext)

and the message carries ``fileSHA256`` (of the plaintext), ``fileEncSHA256`` (of the whole body,
MAC included) and ``fileLength`` (of the plaintext).

Files can be large, so both directions stream: :class:`MediaEncryptor` and
:class:`MediaDecryptor` take chunks of any size through ``feed`` and never hold more than a block
and the 10-byte MAC tail. The decryptor hands out plaintext before the MAC at the end has been
seen: treat its output as untrusted (write it to a temporary file) until ``finalize`` returns.
``finalize`` checks, in whatsmeow's order, the body length, the encrypted hash, the MAC, the
padding and the plaintext hash, and raises :class:`MediaIntegrityError` naming the failed check.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from daemon.crypto.hkdf import hkdf_sha256

MEDIA_KEY_LENGTH = 32
MAC_LENGTH = 10
_BLOCK = 16
_EXPANDED_LENGTH = 112

RandomBytes = Callable[[int], bytes]


class MediaType(Enum):
    """What a file is, as far as its keys go. The value is the word in ``WhatsApp <X> Keys``.

    Stickers, product images and business cover photos use IMAGE; GIFs and round videos (ptv)
    VIDEO; voice notes (ptt) AUDIO. The thumbnail, payment and profile-picture types are Baileys'
    (profile pictures use an empty word, hence two spaces in the info string).
    """

    IMAGE = "Image"
    VIDEO = "Video"
    AUDIO = "Audio"
    DOCUMENT = "Document"
    HISTORY = "History"
    APP_STATE = "App State"
    STICKER_PACK = "Sticker Pack"
    LINK_THUMBNAIL = "Link Thumbnail"
    IMAGE_THUMBNAIL = "Image Thumbnail"
    VIDEO_THUMBNAIL = "Video Thumbnail"
    DOCUMENT_THUMBNAIL = "Document Thumbnail"
    PAYMENT_BACKGROUND = "Payment Background"
    PROFILE_PICTURE = ""

    @property
    def hkdf_info(self) -> bytes:
        return f"WhatsApp {self.value} Keys".encode()

    @property
    def mms_type(self) -> str | None:
        """The path segment of upload (``/mms/<type>/``) and download (``mms-type=``) URLs."""
        return _MMS_TYPES.get(self)


_MMS_TYPES = {
    MediaType.IMAGE: "image",
    MediaType.VIDEO: "video",
    MediaType.AUDIO: "audio",
    MediaType.DOCUMENT: "document",
    MediaType.HISTORY: "md-msg-hist",
    MediaType.APP_STATE: "md-app-state",
    MediaType.STICKER_PACK: "sticker-pack",
    MediaType.LINK_THUMBNAIL: "thumbnail-link",
}

# The stanza ``mediatype`` / message kind -> key type (Baileys' MEDIA_HKDF_KEY_MAPPING).
MEDIA_TYPE_BY_KIND: dict[str, MediaType] = {
    "image": MediaType.IMAGE,
    "sticker": MediaType.IMAGE,
    "product": MediaType.IMAGE,
    "biz-cover-photo": MediaType.IMAGE,
    "video": MediaType.VIDEO,
    "gif": MediaType.VIDEO,
    "ptv": MediaType.VIDEO,
    "audio": MediaType.AUDIO,
    "ptt": MediaType.AUDIO,
    "document": MediaType.DOCUMENT,
    "md-msg-hist": MediaType.HISTORY,
    "md-app-state": MediaType.APP_STATE,
    "sticker-pack": MediaType.STICKER_PACK,
    "thumbnail-link": MediaType.LINK_THUMBNAIL,
    "thumbnail-image": MediaType.IMAGE_THUMBNAIL,
    "thumbnail-video": MediaType.VIDEO_THUMBNAIL,
    "thumbnail-document": MediaType.DOCUMENT_THUMBNAIL,
    "payment-bg-image": MediaType.PAYMENT_BACKGROUND,
    "ppic": MediaType.PROFILE_PICTURE,
}


class MediaError(ValueError):
    """Base of the errors of this module."""


class MediaKeyError(MediaError):
    """A media key of the wrong length."""


class MediaStateError(MediaError):
    """A stream object used out of order (fed after finalize, or read before it)."""


class MediaCheck(Enum):
    """The integrity checks of a download, in the order they run."""

    LENGTH = "length"
    ENC_SHA256 = "enc_sha256"
    MAC = "mac"
    PADDING = "padding"
    FILE_SHA256 = "file_sha256"


class MediaIntegrityError(MediaError):
    """A downloaded body failed ``check``; none of its plaintext may be used."""

    def __init__(self, check: MediaCheck, detail: str) -> None:
        super().__init__(f"media {check.value} check failed: {detail}")
        self.check = check


@dataclass(frozen=True, slots=True)
class MediaKeys:
    iv: bytes
    cipher_key: bytes
    mac_key: bytes
    ref_key: bytes


@dataclass(frozen=True, slots=True)
class MediaFileInfo:
    """What a message says about its file (``fileSHA256``, ``fileEncSHA256``, ``fileLength``)."""

    file_sha256: bytes
    file_enc_sha256: bytes
    file_length: int
    enc_length: int  # the uploaded body: padded ciphertext + MAC


@dataclass(frozen=True, slots=True)
class EncryptedMedia:
    media_key: bytes
    body: bytes
    info: MediaFileInfo


def new_media_key(random_bytes: RandomBytes = os.urandom) -> bytes:
    return random_bytes(MEDIA_KEY_LENGTH)


def expand_media_key(media_key: bytes, media_type: MediaType) -> MediaKeys:
    if len(media_key) != MEDIA_KEY_LENGTH:
        raise MediaKeyError(f"a media key is {MEDIA_KEY_LENGTH} bytes, got {len(media_key)}")
    expanded = hkdf_sha256(media_key, media_type.hkdf_info, _EXPANDED_LENGTH)
    return MediaKeys(expanded[:16], expanded[16:48], expanded[48:80], expanded[80:])


class MediaEncryptor:
    """Streams a plaintext into the upload body; ``info`` is available after ``finalize``."""

    def __init__(self, media_type: MediaType, media_key: bytes | None = None) -> None:
        self.media_key = new_media_key() if media_key is None else media_key
        keys = expand_media_key(self.media_key, media_type)
        self._cipher = Cipher(algorithms.AES(keys.cipher_key), modes.CBC(keys.iv)).encryptor()
        self._padder = padding.PKCS7(_BLOCK * 8).padder()
        self._mac = hmac.new(keys.mac_key, keys.iv, hashlib.sha256)
        self._plain_hash = hashlib.sha256()
        self._enc_hash = hashlib.sha256()
        self._plain_length = 0
        self._enc_length = 0
        self._info: MediaFileInfo | None = None

    def feed(self, chunk: bytes) -> bytes:
        """Ciphertext for as many whole blocks as are available so far."""
        if self._info is not None:
            raise MediaStateError("the encryptor was already finalized")
        self._plain_hash.update(chunk)
        self._plain_length += len(chunk)
        return self._emit(self._cipher.update(self._padder.update(chunk)))

    def finalize(self) -> bytes:
        """The last (padded) block and the MAC."""
        if self._info is not None:
            raise MediaStateError("the encryptor was already finalized")
        tail = self._cipher.update(self._padder.finalize()) + self._cipher.finalize()
        self._emit(tail)
        mac = self._mac.digest()[:MAC_LENGTH]
        self._enc_hash.update(mac)
        self._enc_length += MAC_LENGTH
        self._info = MediaFileInfo(
            file_sha256=self._plain_hash.digest(),
            file_enc_sha256=self._enc_hash.digest(),
            file_length=self._plain_length,
            enc_length=self._enc_length,
        )
        return tail + mac

    @property
    def info(self) -> MediaFileInfo:
        if self._info is None:
            raise MediaStateError("the file info is known only after finalize")
        return self._info

    def _emit(self, ciphertext: bytes) -> bytes:
        self._mac.update(ciphertext)
        self._enc_hash.update(ciphertext)
        self._enc_length += len(ciphertext)
        return ciphertext


class MediaDecryptor:
    """Streams a downloaded body back into the plaintext, verifying it at ``finalize``.

    ``file_enc_sha256`` and ``file_sha256`` are the message's hashes; a check whose expected value
    is None is skipped (the MAC and the padding are always checked).
    """

    def __init__(
        self,
        media_key: bytes,
        media_type: MediaType,
        *,
        file_enc_sha256: bytes | None = None,
        file_sha256: bytes | None = None,
    ) -> None:
        keys = expand_media_key(media_key, media_type)
        self._expected_enc_sha256 = file_enc_sha256
        self._expected_sha256 = file_sha256
        self._cipher = Cipher(algorithms.AES(keys.cipher_key), modes.CBC(keys.iv)).decryptor()
        self._unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
        self._mac = hmac.new(keys.mac_key, keys.iv, hashlib.sha256)
        self._plain_hash = hashlib.sha256()
        self._enc_hash = hashlib.sha256()
        # The body ends with the MAC, so its last 10 bytes seen so far are held back from the
        # cipher until the next chunk (or finalize) shows they were ciphertext after all.
        self._held = b""
        self._enc_length = 0
        self._plain_length = 0
        self._done = False
        self._info: MediaFileInfo | None = None

    def feed(self, chunk: bytes) -> bytes:
        """Plaintext decrypted so far. Untrusted until ``finalize`` has returned."""
        if self._done:
            raise MediaStateError("the decryptor was already finalized")
        self._enc_hash.update(chunk)
        self._enc_length += len(chunk)
        if len(chunk) >= MAC_LENGTH:
            view = memoryview(chunk)
            head = self._decrypt(self._held) if self._held else b""
            plain = head + self._decrypt(view[:-MAC_LENGTH])
            self._held = bytes(view[-MAC_LENGTH:])
            return plain
        joined = self._held + chunk
        self._held = joined[-MAC_LENGTH:]
        return self._decrypt(joined[:-MAC_LENGTH])

    def finalize(self) -> bytes:
        """The rest of the plaintext, once every check has passed."""
        if self._done:
            raise MediaStateError("the decryptor was already finalized")
        self._done = True
        cipher_length = self._enc_length - MAC_LENGTH
        if cipher_length < _BLOCK or cipher_length % _BLOCK:
            raise MediaIntegrityError(
                MediaCheck.LENGTH,
                f"{self._enc_length} bytes is not whole AES blocks plus a {MAC_LENGTH}-byte MAC",
            )
        expected_enc = self._expected_enc_sha256
        if expected_enc is not None and not hmac.compare_digest(
            self._enc_hash.digest(), expected_enc
        ):
            raise MediaIntegrityError(MediaCheck.ENC_SHA256, "the body's SHA-256 differs")
        if not hmac.compare_digest(self._mac.digest()[:MAC_LENGTH], self._held):
            raise MediaIntegrityError(MediaCheck.MAC, "the HMAC does not match the media key")
        try:
            tail = self._unpadder.update(self._cipher.finalize()) + self._unpadder.finalize()
        except ValueError as exc:
            raise MediaIntegrityError(MediaCheck.PADDING, "invalid PKCS#7 padding") from exc
        self._plain_hash.update(tail)
        self._plain_length += len(tail)
        file_sha256 = self._plain_hash.digest()
        expected = self._expected_sha256
        if expected is not None and not hmac.compare_digest(file_sha256, expected):
            raise MediaIntegrityError(MediaCheck.FILE_SHA256, "the plaintext's SHA-256 differs")
        self._info = MediaFileInfo(
            file_sha256=file_sha256,
            file_enc_sha256=self._enc_hash.digest(),
            file_length=self._plain_length,
            enc_length=self._enc_length,
        )
        return tail

    @property
    def info(self) -> MediaFileInfo:
        if self._info is None:
            raise MediaStateError("the file info is known only after a successful finalize")
        return self._info

    def _decrypt(self, ciphertext: bytes | memoryview) -> bytes:
        self._mac.update(ciphertext)
        plain = self._unpadder.update(self._cipher.update(ciphertext))
        self._plain_hash.update(plain)
        self._plain_length += len(plain)
        return plain


def encrypt_media(
    plaintext: bytes, media_type: MediaType, media_key: bytes | None = None
) -> EncryptedMedia:
    encryptor = MediaEncryptor(media_type, media_key)
    body = encryptor.feed(plaintext) + encryptor.finalize()
    return EncryptedMedia(media_key=encryptor.media_key, body=body, info=encryptor.info)


def decrypt_media(
    body: bytes,
    media_key: bytes,
    media_type: MediaType,
    *,
    file_enc_sha256: bytes | None = None,
    file_sha256: bytes | None = None,
) -> bytes:
    decryptor = MediaDecryptor(
        media_key, media_type, file_enc_sha256=file_enc_sha256, file_sha256=file_sha256
    )
    return decryptor.feed(body) + decryptor.finalize()
