"""Curve25519 keys, Diffie-Hellman and libsignal-compatible signatures — the one implementation
the Noise handshake, the certificate chain, ADV, pairing codes and the Signal layer all use.

WhatsApp signs with Montgomery (X25519) private keys the way libsignal does ("curve_sigs"): an
Ed25519 signature made with the raw scalar, with the Edwards public key's sign bit stored in the
top bit of the last signature byte. We sign as XEdDSA (the key is negated so that the sign bit is
0), which every libsignal verifier accepts, and we verify the libsignal way (sign bit taken from
``sig[63]``), so that we also accept signatures made by libsignal itself. Strict XEdDSA verification
would reject about half of those, and signing with the raw scalar without forcing the sign bit
yields signatures libsignal rejects about half the time. See ../shared/research/deps.md §2.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import xeddsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

KEY_LENGTH = 32
SIGNATURE_LENGTH = 64

_SIGN_BIT = 0x80


class CurveError(ValueError):
    """A key or shared secret is unusable (wrong length, or a low-order point)."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A raw 32-byte X25519 private key and its public key."""

    private: bytes
    public: bytes

    def __post_init__(self) -> None:
        if len(self.private) != KEY_LENGTH or len(self.public) != KEY_LENGTH:
            raise CurveError("a key pair needs a 32-byte private and a 32-byte public key")

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh random key pair, the private half clamped as libsignal stores it."""
        key = X25519PrivateKey.generate()
        # X25519 clamps the scalar itself, so the public key is the same for the clamped form.
        return cls(clamp(key.private_bytes_raw()), key.public_key().public_bytes_raw())

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        return cls(private=bytes(private), public=public_key(private))

    def __repr__(self) -> str:
        # Never let a private key reach a log line through a repr.
        return f"KeyPair(public={self.public.hex()})"


def clamp(private: bytes) -> bytes:
    """Applies the X25519 clamping, as libsignal does when it makes a key."""
    _check_length("private key", private)
    return bytes((private[0] & 248,)) + private[1:31] + bytes(((private[31] & 127) | 64,))


def public_key(private: bytes) -> bytes:
    _check_length("private key", private)
    return bytes(xeddsa.priv_to_curve25519_pub(private))


def shared_secret(private: bytes, public: bytes) -> bytes:
    """X25519(private, public). Raises CurveError for a low-order public key (all-zero result)."""
    _check_length("private key", private)
    _check_length("public key", public)
    try:
        return bytes(xeddsa.x25519(private, public))
    except xeddsa.XEdDSAException as exc:
        raise CurveError(f"X25519 failed: low-order public key {public.hex()}") from exc


@lru_cache(maxsize=256)
def _signing_scalar(private: bytes) -> bytes:
    # Forcing the sign bit costs a scalar multiplication; sender signing keys sign every group
    # message, so the result is cached per key.
    return bytes(xeddsa.priv_force_sign(private, False))


def sign(private: bytes, message: bytes, nonce: bytes | None = None) -> bytes:
    """A 64-byte signature over ``message`` that libsignal's ``curve25519_verify`` accepts.

    ``nonce`` (64 bytes) defaults to fresh randomness."""
    _check_length("private key", private)
    if nonce is not None and len(nonce) != 64:
        raise CurveError("the signature nonce must be 64 bytes")
    return bytes(xeddsa.ed25519_priv_sign(_signing_scalar(private), message, nonce))


@lru_cache(maxsize=512)
def _edwards_public(public: bytes, sign_bit: bool) -> bytes:
    return bytes(xeddsa.curve25519_pub_to_ed25519_pub(public, sign_bit))


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """libsignal's verification: True only for a valid signature by ``public`` over ``message``."""
    if len(public) != KEY_LENGTH or len(signature) != SIGNATURE_LENGTH:
        return False
    last = signature[63]
    try:
        edwards = _edwards_public(public, bool(last & _SIGN_BIT))
        stripped = signature[:63] + bytes((last & ~_SIGN_BIT & 0xFF,))
        return bool(xeddsa.ed25519_verify(stripped, edwards, message))
    except xeddsa.XEdDSAException:
        return False


def _check_length(what: str, key: bytes) -> None:
    if len(key) != KEY_LENGTH:
        raise CurveError(f"{what} must be {KEY_LENGTH} bytes, got {len(key)}")
