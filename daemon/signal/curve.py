"""Curve25519 as libsignal uses it: X25519 key pairs, the 0x05 public key form, DH, signatures.

Keys are kept raw (32 bytes) inside the layer; the 33-byte ``0x05 || public`` form appears only
in Signal wire messages and in what signatures cover.

Signatures are libsignal's "curve25519 signatures" (XEdDSA with the Montgomery private key).
Two traps, both measured against libsignal's own C code (../shared/research/deps.md §2):

- Signing must first force the Edwards sign bit of the private key to 0 (``priv_force_sign``);
  signing with the raw scalar yields signatures libsignal rejects about half the time.
- Verifying must be libsignal's way: take the Edwards sign bit from the top bit of ``sig[63]``,
  clear that bit, then run plain Ed25519. A strict XEdDSA verifier (sign bit always 0) rejects
  about half of real libsignal signatures, because libsignal's signer stores the bit there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import xeddsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from daemon.signal.errors import InvalidKeyError

KEY_SIZE = 32
SIGNATURE_SIZE = 64
DJB_TYPE = 0x05
"""The type byte libsignal puts in front of a Curve25519 public key."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An X25519 key pair, both halves raw 32 bytes."""

    private: bytes
    public: bytes

    def __post_init__(self) -> None:
        if len(self.private) != KEY_SIZE or len(self.public) != KEY_SIZE:
            raise InvalidKeyError("a key pair needs a 32-byte private and a 32-byte public key")

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public.hex()})"

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        """Rebuilds the pair from the private half."""
        if len(private) != KEY_SIZE:
            raise InvalidKeyError(f"private key must be 32 bytes, got {len(private)}")
        return cls(private, xeddsa.priv_to_curve25519_pub(private))


def clamp(private: bytes) -> bytes:
    """Applies the X25519 clamping, as libsignal does when it makes a key."""
    first = private[0] & 248
    last = (private[31] & 127) | 64
    return bytes((first,)) + private[1:31] + bytes((last,))


def generate_key_pair() -> KeyPair:
    """A fresh random key pair (the private half clamped, as libsignal stores it)."""
    key = X25519PrivateKey.generate()
    # X25519 clamps the scalar itself, so the public key is the same for the clamped form.
    return KeyPair(clamp(key.private_bytes_raw()), key.public_key().public_bytes_raw())


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
    if len(private) != KEY_SIZE or len(public) != KEY_SIZE:
        raise InvalidKeyError("agreement needs a 32-byte private and a 32-byte public key")
    try:
        return xeddsa.x25519(private, public)
    except xeddsa.XEdDSAException as exc:
        raise InvalidKeyError(f"key agreement refused the public key {public.hex()}") from exc


@lru_cache(maxsize=256)
def _signing_scalar(private: bytes) -> bytes:
    # Forcing the sign bit costs a scalar multiplication; sender signing keys sign every group
    # message, so the result is cached per key.
    return xeddsa.priv_force_sign(private, False)


def sign(private: bytes, message: bytes, nonce: bytes | None = None) -> bytes:
    """A libsignal-compatible signature; ``nonce`` (64 bytes) defaults to fresh randomness."""
    if len(private) != KEY_SIZE:
        raise InvalidKeyError(f"private key must be 32 bytes, got {len(private)}")
    if nonce is not None and len(nonce) != 64:
        raise ValueError("the signature nonce must be 64 bytes")
    return xeddsa.ed25519_priv_sign(_signing_scalar(private), message, nonce)


@lru_cache(maxsize=512)
def _edwards_public(public: bytes, sign_bit: bool) -> bytes:
    return xeddsa.curve25519_pub_to_ed25519_pub(public, sign_bit)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """libsignal's check: Edwards sign bit from ``sig[63]``, cleared, then plain Ed25519."""
    if len(public) != KEY_SIZE:
        raise InvalidKeyError(f"public key must be 32 bytes, got {len(public)}")
    if len(signature) != SIGNATURE_SIZE:
        return False
    last = signature[63]
    try:
        edwards = _edwards_public(public, bool(last & 0x80))
        return bool(xeddsa.ed25519_verify(signature[:63] + bytes((last & 0x7F,)), edwards, message))
    except xeddsa.XEdDSAException:
        return False
