"""Nibble and hex packing: two characters per byte, high nibble first.

Nibble strings use ``0-9`` (0..9), ``-`` (10) and ``.`` (11); hex strings use ``0-9A-F``. Only
uppercase hex is packed: Baileys' and whatsmeow's validators accept nothing else, so lowercase hex
goes out as a raw string. The length byte holds ceil(len/2) with bit 7 set when the length is odd,
in which case the last nibble is padding (15).

Both directions go through ``bytes.hex``/``bytes.fromhex`` with a character translation, which keeps
the per-character work in C: a nibble string is a hex string whose ``a``/``b`` mean ``-``/``.``.
"""

from __future__ import annotations

from typing import Final

from daemon.binary.tags import HEX_8, NIBBLE_8, PACKED_MAX

NIBBLE_CHARS: Final = "0123456789-."
HEX_CHARS: Final = "0123456789ABCDEF"
_NIBBLE_TO_HEX: Final = str.maketrans("-.", "ab")
_HEX_TO_NIBBLE: Final = str.maketrans("ab", "-.")
_NIBBLE_HEX_DIGITS: Final = "0123456789ab"


def packable_as(text: str) -> int | None:
    """NIBBLE_8 or HEX_8 when ``text`` can be packed (nibble preferred), else None."""
    if not 0 < len(text) <= PACKED_MAX:
        return None
    # strip() removes only characters of the set, so an empty result means "all in the set".
    if not text.strip(NIBBLE_CHARS):
        return NIBBLE_8
    if not text.strip(HEX_CHARS):
        return HEX_8
    return None


def pack(tag: int, text: str) -> bytes:
    """Tag byte, length byte and packed body for a string ``packable_as`` accepted."""
    length = len(text)
    digits = text.translate(_NIBBLE_TO_HEX) if tag == NIBBLE_8 else text
    if length & 1:
        return bytes((tag, (length + 1) >> 1 | 0x80)) + bytes.fromhex(digits + "f")
    return bytes((tag, length >> 1)) + bytes.fromhex(digits)


def unpack(tag: int, body: bytes, odd: bool) -> str | None:
    """The string packed in ``body``; None when a nibble is not in the nibble alphabet."""
    digits = body.hex()
    if odd:
        digits = digits[:-1]
    if tag == HEX_8:
        return digits.upper()
    if digits.isdigit():  # the common case (numbers, timestamps, phone numbers): nothing to map
        return digits
    if digits.strip(_NIBBLE_HEX_DIGITS):
        return None
    return digits.translate(_HEX_TO_NIBBLE)
