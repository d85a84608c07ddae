"""HKDF-SHA256 as WhatsApp uses it outside Signal: no salt (RFC 5869's all-zero default).

Media keys, app-state keys, the LTHash expansion and the media-retry key all derive this way.
It goes through ``cryptography``: for the 128-byte LTHash expansion it measured about 4.6 µs
against 12.9 µs for the same construction over stdlib ``hmac.digest`` calls.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SHA256 = SHA256()


def hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    """``length`` bytes of HKDF-SHA256(ikm, salt=none, info)."""
    return HKDF(_SHA256, length, None, info).derive(ikm)
