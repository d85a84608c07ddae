"""The pairing QR: its string, its rotation schedule, and its terminal rendering.

The server sends six ``pair-device`` refs; the companion shows one QR per ref, the first for
60 s and the later ones for 20 s each (the real phone app's expectation), and gives up when they
run out. The string format is the one WhatsApp's phone app parses:
``https://wa.me/settings/linked_devices#ref,noisePub,identityPub,advSecret,platformId``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import qrcode

QR_PREFIX = "https://wa.me/settings/linked_devices#"
FIRST_REF_TTL_S = 60.0
LATER_REF_TTL_S = 20.0

# Companion web client types shown to the phone ("Linked devices" list icon).
PLATFORM_CHROME = "1"
PLATFORM_OTHER_WEB = "9"


class QrError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class QrPayload:
    ref: str
    noise_public: bytes
    identity_public: bytes
    adv_secret: bytes
    platform_id: str = PLATFORM_OTHER_WEB

    def to_string(self) -> str:
        b64 = base64.b64encode
        parts = [
            self.ref,
            b64(self.noise_public).decode(),
            b64(self.identity_public).decode(),
            b64(self.adv_secret).decode(),
            self.platform_id,
        ]
        return QR_PREFIX + ",".join(parts)

    @classmethod
    def parse(cls, text: str) -> QrPayload:
        body = text.strip()
        if body.startswith(QR_PREFIX):
            body = body[len(QR_PREFIX) :]
        parts = body.split(",")
        if len(parts) != 5:
            raise QrError("a pairing QR has five comma-separated parts")
        ref, noise, identity, secret, platform = parts
        try:
            decoded = [base64.b64decode(p, validate=True) for p in (noise, identity, secret)]
        except ValueError:
            raise QrError("a pairing QR carries standard base64 keys") from None
        if not ref or any(len(d) != 32 for d in decoded):
            raise QrError("a pairing QR needs a ref and three 32-byte values")
        return cls(ref, decoded[0], decoded[1], decoded[2], platform)


def ref_deadlines(
    refs: Sequence[str],
    shown_at: float,
    first_ttl: float = FIRST_REF_TTL_S,
    later_ttl: float = LATER_REF_TTL_S,
) -> list[tuple[str, float]]:
    """Each ref with the time it stops being valid, given when the first one is shown."""
    deadlines: list[tuple[str, float]] = []
    at = shown_at
    for index, ref in enumerate(refs):
        at += first_ttl if index == 0 else later_ttl
        deadlines.append((ref, at))
    return deadlines


def render_terminal(text: str, dark_background: bool = True) -> str:
    """Half-block rendering (two modules per character row) with a quiet zone.

    On dark terminals the light modules must be drawn, so the picture is inverted there.
    """
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(text)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=dark_background)
    return out.getvalue()
