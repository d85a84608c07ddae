"""Errors raised by the binary node codec."""

from __future__ import annotations

__all__ = ["AttrError", "DecodeError", "EncodeError", "JIDError"]


class DecodeError(ValueError):
    """The bytes are not a well-formed binary node (the peer misbehaved).

    ``position`` is the byte offset where decoding failed: an offset into the frame as given to
    ``unmarshal`` (the flag byte is offset 0), or into the inflated payload for compressed frames.
    """

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (at byte {position})")
        self.reason = reason
        self.position = position


class EncodeError(ValueError):
    """The node cannot be written (we built it wrong)."""


class JIDError(ValueError):
    """A JID string or JID fields that do not form a valid JID."""


class AttrError(ValueError):
    """A node attribute is present but does not have the expected form."""

    def __init__(self, tag: str, key: str, reason: str) -> None:
        super().__init__(f"<{tag}> attribute {key!r}: {reason}")
        self.tag = tag
        self.key = key
