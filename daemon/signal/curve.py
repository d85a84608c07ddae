"""Curve25519 as the Signal layer uses it: the shared implementation in ``daemon.crypto.curve``
(key pairs, DH, libsignal-compatible signatures) plus the Signal-only parts — the 0x05 public key
form — with unusable keys reported as :class:`InvalidKeyError`, which is also a ``CurveError``.

Keys are kept raw (32 bytes) inside the layer; the 33-byte ``0x05 || public`` form appears only
in Signal wire messages and in what signatures cover.
"""

from __future__ import annotations

from daemon.crypto import curve as _curve
from daemon.crypto.curve import KEY_LENGTH as KEY_SIZE
from daemon.crypto.curve import SIGNATURE_LENGTH as SIGNATURE_SIZE
from daemon.crypto.curve import CurveError, KeyPair, clamp
from daemon.signal.errors import InvalidKeyError

__all__ = [
    "DJB_TYPE",
    "KEY_SIZE",
    "SIGNATURE_SIZE",
    "KeyPair",
    "agreement",
    "clamp",
    "generate_key_pair",
    "parse_public",
    "serialize_public",
    "sign",
    "verify",
]

DJB_TYPE = 0x05
"""The type byte libsignal puts in front of a Curve25519 public key."""


def generate_key_pair() -> KeyPair:
    """A fresh random key pair (the private half clamped, as libsignal stores it)."""
    return KeyPair.generate()


def serialize_public(public: bytes) -> bytes:
    """The 33-byte Signal form ``0x05 || public``."""
    if len(public) != KEY_SIZE:
        raise InvalidKeyError(f"public key must be 32 bytes, got {len(public)}")
    return b"\x05" + public


def parse_public(data: bytes) -> bytes:
    """Reads the 33-byte Signal form and returns the raw 32-byte key."""
    if len(data) != KEY_SIZE + 1 or data[0] != DJB_TYPE:
        raise InvalidKeyError(
            f"expected a 33-byte public key starting 0x05, got {len(data)} bytes"
            + (f" starting {data[0]:#04x}" if data else "")
        )
    return data[1:]


def agreement(private: bytes, public: bytes) -> bytes:
    """X25519(private, public). Refuses low-order public keys (the shared secret is all zeros)."""
    try:
        return _curve.shared_secret(private, public)
    except CurveError as exc:
        raise InvalidKeyError(f"key agreement failed: {exc}") from exc


def sign(private: bytes, message: bytes, nonce: bytes | None = None) -> bytes:
    """A libsignal-compatible signature; ``nonce`` (64 bytes) defaults to fresh randomness."""
    if len(private) != KEY_SIZE:
        raise InvalidKeyError(f"private key must be 32 bytes, got {len(private)}")
    if nonce is not None and len(nonce) != 64:
        raise ValueError("the signature nonce must be 64 bytes")
    return _curve.sign(private, message, nonce)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """libsignal's check; a public key of the wrong length is an error, not a failed check."""
    if len(public) != KEY_SIZE:
        raise InvalidKeyError(f"public key must be 32 bytes, got {len(public)}")
    return _curve.verify(public, message, signature)
