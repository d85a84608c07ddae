"""Media retry crypto against Baileys' sealed request and notification, and round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.crypto.hkdf import hkdf_sha256
from daemon.crypto.media_retry import (
    MediaRetryError,
    MediaRetryNotice,
    MediaRetryResult,
    SealedRetry,
    open_retry_notice,
    open_retry_request,
    retry_key,
    seal_retry_notice,
    seal_retry_request,
)

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parent / "baileys_crypto_vectors.json").read_text()
)["media_retry"]
MEDIA_KEY = bytes.fromhex(VECTOR["media_key"])
MESSAGE_ID = VECTOR["message_id"]


def test_retry_key_is_hkdf_with_the_notification_info() -> None:
    assert retry_key(MEDIA_KEY) == hkdf_sha256(MEDIA_KEY, b"WhatsApp Media Retry Notification", 32)


def test_baileys_retry_request_opens_to_the_stanza_id() -> None:
    sealed = SealedRetry(
        bytes.fromhex(VECTOR["receipt_ciphertext"]), bytes.fromhex(VECTOR["receipt_iv"])
    )
    assert open_retry_request(sealed, MESSAGE_ID, MEDIA_KEY) == MESSAGE_ID


def test_baileys_sealed_notification_opens() -> None:
    sealed = SealedRetry(
        bytes.fromhex(VECTOR["notification_ciphertext"]), bytes.fromhex(VECTOR["notification_iv"])
    )
    notice = open_retry_notice(sealed, MESSAGE_ID, MEDIA_KEY)
    assert notice.result is MediaRetryResult(VECTOR["notification_result"])
    assert notice.result is MediaRetryResult.SUCCESS
    assert notice.direct_path == VECTOR["notification_direct_path"]
    assert notice.message_id == MESSAGE_ID
    assert notice.message_secret is None


def test_request_and_notice_round_trip() -> None:
    sealed = seal_retry_request("3EB0ABCDEF", MEDIA_KEY, lambda n: b"\x07" * n)
    assert sealed.iv == b"\x07" * 12
    assert len(sealed.ciphertext) == len(b"\x0a\x0a3EB0ABCDEF") + 16
    assert open_retry_request(sealed, "3EB0ABCDEF", MEDIA_KEY) == "3EB0ABCDEF"

    notice = MediaRetryNotice("3EB0ABCDEF", MediaRetryResult.NOT_FOUND, message_secret=b"s" * 32)
    assert open_retry_notice(seal_retry_notice(notice, MEDIA_KEY), "3EB0ABCDEF", MEDIA_KEY) == (
        notice
    )


def test_wrong_message_id_or_key_is_refused() -> None:
    sealed = seal_retry_request(MESSAGE_ID, MEDIA_KEY)
    with pytest.raises(MediaRetryError):
        open_retry_request(sealed, MESSAGE_ID + "X", MEDIA_KEY)
    with pytest.raises(MediaRetryError):
        open_retry_request(sealed, MESSAGE_ID, bytes(32))
    with pytest.raises(MediaRetryError):
        open_retry_notice(SealedRetry(sealed.ciphertext, b"short"), MESSAGE_ID, MEDIA_KEY)
    with pytest.raises(MediaRetryError):
        retry_key(b"not 32 bytes")
