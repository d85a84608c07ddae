"""Limits the codec enforces, and why."""

from __future__ import annotations

from typing import Final

# Real stanzas nest about eight deep (iq > usync > list > user > devices > device-list > device).
# The cap keeps a hostile frame (five bytes buy one more level) or a cyclic child list from
# exhausting the interpreter stack; both directions enforce it.
MAX_DEPTH: Final = 64

# A frame carries at most 16 MiB (3-byte length prefix), and the server compresses only modest
# stanzas. Inflating is capped at twice the frame limit so a zlib bomb costs at most this much.
MAX_INFLATED_SIZE: Final = 2 * (1 << 24)

# BINARY_32's length field is four bytes.
MAX_BINARY_LENGTH: Final = (1 << 32) - 1
