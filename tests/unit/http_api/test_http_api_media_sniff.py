"""Mimetypes from the first bytes, and what each kind of media message accepts (pure)."""

from __future__ import annotations

import pytest

from daemon.send_content import MediaSendKind
from http_api.media_fetch import is_internal_address
from http_api.media_sniff import VOICE_NOTE_MIMETYPE, MimetypeRefused, settle_mimetype, sniff


@pytest.mark.parametrize(
    ("head", "mimetype"),
    [
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"ID3\x04", "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"\x00\x00\x00\x14ftyp3gp4", "video/3gpp"),
        (b"%PDF-1.7", "application/pdf"),
        (b"hello", None),
    ],
)
def test_sniff(head: bytes, mimetype: str | None) -> None:
    assert sniff(head) == mimetype


def test_each_kind_accepts_its_formats_only() -> None:
    png, ogg, pdf = b"\x89PNG\r\n\x1a\n", b"OggS\x00", b"%PDF-1.4"
    assert settle_mimetype(MediaSendKind.IMAGE, png, None) == "image/png"
    assert settle_mimetype(MediaSendKind.IMAGE, png, "application/octet-stream") == "image/png"
    assert settle_mimetype(MediaSendKind.AUDIO, ogg, None, ptt=True) == VOICE_NOTE_MIMETYPE
    assert settle_mimetype(MediaSendKind.DOCUMENT, pdf, None) == "application/pdf"
    assert settle_mimetype(MediaSendKind.DOCUMENT, b"x", "text/csv") == "text/csv"
    assert settle_mimetype(MediaSendKind.DOCUMENT, b"x", None) == "application/octet-stream"
    with pytest.raises(MimetypeRefused):
        settle_mimetype(MediaSendKind.IMAGE, pdf, None)
    with pytest.raises(MimetypeRefused):
        settle_mimetype(MediaSendKind.IMAGE, png, "image/jpeg")
    with pytest.raises(MimetypeRefused):
        settle_mimetype(MediaSendKind.STICKER, png, None)
    with pytest.raises(MimetypeRefused):
        settle_mimetype(MediaSendKind.AUDIO, b"ID3\x04", None, ptt=True)


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("fe80::1%eth0", True),
        ("0.0.0.0", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert is_internal_address(address) is internal
