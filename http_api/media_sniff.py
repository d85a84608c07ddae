"""What a file is, from its first bytes (pure), and which kinds WhatsApp accepts per message
type. A caller's declared mimetype is never trusted for images, videos, audio and stickers:
the recipient's app decodes the bytes by the announced mimetype, so a wrong one shows a broken
message. Documents may be anything; their declared type is kept.
"""

from __future__ import annotations

from daemon.send_content import MediaSendKind

SNIFF_BYTES = 64
"""How much of the start of a file :func:`sniff` looks at."""
VOICE_NOTE_MIMETYPE = "audio/ogg; codecs=opus"
"""What WhatsApp's apps announce for a voice note (Ogg Opus)."""

GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream"})
ACCEPTED: dict[MediaSendKind, frozenset[str]] = {
    MediaSendKind.IMAGE: frozenset({"image/jpeg", "image/png"}),
    MediaSendKind.STICKER: frozenset({"image/webp"}),
    MediaSendKind.VIDEO: frozenset({"video/mp4", "video/3gpp"}),
    MediaSendKind.AUDIO: frozenset(
        {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr"}
    ),
}


def sniff(head: bytes) -> str | None:
    """The mimetype the bytes start like, or None when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return "audio/aac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand.startswith(b"3gp"):
            return "video/3gpp"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return None


class MimetypeRefused(ValueError):
    """The file is not something WhatsApp accepts as this kind of message."""


def settle_mimetype(
    kind: MediaSendKind, head: bytes, declared: str | None, *, ptt: bool = False
) -> str:
    """The mimetype to announce for a file starting with ``head``; raises MimetypeRefused.
    A generic declaration (``application/octet-stream``, what most uploaders send when they
    do not know) counts as none."""
    found = sniff(head)
    if declared is not None and declared.split(";", 1)[0].strip().lower() in GENERIC:
        declared = None
    if kind is MediaSendKind.DOCUMENT:
        return declared or found or "application/octet-stream"
    accepted = ACCEPTED[kind]
    if found not in accepted:
        what = found or "an unknown format"
        raise MimetypeRefused(
            f"a {kind.value} must be one of {', '.join(sorted(accepted))}; this file is {what}"
        )
    base = (declared or "").split(";", 1)[0].strip().lower()
    if base and base != found:
        raise MimetypeRefused(f"the file is {found}, not {base} as declared")
    if ptt:
        if found != "audio/ogg":
            raise MimetypeRefused("a voice note (ptt) must be Ogg Opus audio (audio/ogg)")
        return VOICE_NOTE_MIMETYPE
    return found


__all__ = ["ACCEPTED", "SNIFF_BYTES", "MimetypeRefused", "settle_mimetype", "sniff"]
