"""WhatsApp's plaintext padding inside ``<enc v="2">``: N bytes of value N after the Message.

Baileys draws N = (random & 0x0F) + 1, so 1..16; whatsmeow draws 1..15. Removal accepts 1..16
and, like whatsmeow, insists that every padding byte equals N.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from daemon.signal.errors import InvalidPaddingError

MAX_PADDING = 16


def _random_byte() -> int:
    # What secrets.randbits(8) returns, without its two Python layers (once per device).
    return os.urandom(1)[0]


def pad(message: bytes, random_byte: Callable[[], int] = _random_byte) -> bytes:
    """``message`` followed by N bytes of value N, N = (random_byte() & 0x0F) + 1."""
    count = (random_byte() & 0x0F) + 1
    return message + bytes((count,)) * count


def pad_with(message: bytes, count: int) -> bytes:
    """Padding of a chosen length (replays and tests)."""
    if not 1 <= count <= MAX_PADDING:
        raise ValueError(f"padding length {count} is outside 1..{MAX_PADDING}")
    return message + bytes((count,)) * count


def unpad(plaintext: bytes) -> bytes:
    if not plaintext:
        raise InvalidPaddingError("empty plaintext has no padding")
    count = plaintext[-1]
    if not 1 <= count <= MAX_PADDING or count > len(plaintext):
        raise InvalidPaddingError(f"padding length byte {count} is invalid")
    if plaintext[-count:] != bytes((count,)) * count:
        raise InvalidPaddingError(f"the last {count} bytes are not all {count}")
    return plaintext[:-count]
