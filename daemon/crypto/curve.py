"""Curve25519 keys, Diffie-Hellman and libsignal-compatible signatures.

WhatsApp signs with Montgomery (X25519) private keys the way libsignal does ("curve_sigs"): an
Ed25519 signature made with the raw scalar, with the Edwards public key's sign bit stored in the
top bit of the last signature byte. We sign as XEdDSA (the key is negated so that the sign bit is
0), which every libsignal verifier accepts, and we verify the libsignal way (sign bit taken from
``sig[63]``), so that we also accept signatures made by libsignal itself. Strict XEdDSA verification
would reject about half of those. See ../shared/research/deps.md §2.
"""

from __future__ import annotations

from dataclasses import dataclass

import xeddsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

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
        return cls.from_private(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        return cls(private=bytes(private), public=public_key(private))

    def __repr__(self) -> str:
        # Never let a private key reach a log line through a repr.
        return f"KeyPair(public={self.public.hex()})"


def public_key(private: bytes) -> bytes:
    _check_length("private key", private)
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def shared_secret(private: bytes, public: bytes) -> bytes:
    """X25519(private, public). Raises CurveError for a low-order public key (all-zero result)."""
    _check_length("private key", private)
    _check_length("public key", public)
    try:
        return X25519PrivateKey.from_private_bytes(private).exchange(
            X25519PublicKey.from_public_bytes(public)
        )
    except ValueError as exc:
        raise CurveError(f"X25519 failed: {exc}") from exc


def sign(private: bytes, message: bytes) -> bytes:
    """A 64-byte signature over ``message`` that libsignal's ``curve25519_verify`` accepts."""
    _check_length("private key", private)
    return bytes(xeddsa.ed25519_priv_sign(xeddsa.priv_force_sign(private, False), message))


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """libsignal's verification: True only for a valid signature by ``public`` over ``message``."""
    if len(public) != KEY_LENGTH or len(signature) != SIGNATURE_LENGTH:
        return False
    set_sign_bit = bool(signature[63] & _SIGN_BIT)
    try:
        edwards = xeddsa.curve25519_pub_to_ed25519_pub(public, set_sign_bit)
        stripped = signature[:63] + bytes([signature[63] & ~_SIGN_BIT & 0xFF])
        return bool(xeddsa.ed25519_verify(stripped, edwards, message))
    except xeddsa.XEdDSAException:
        return False


def _check_length(what: str, key: bytes) -> None:
    if len(key) != KEY_LENGTH:
        raise CurveError(f"{what} must be {KEY_LENGTH} bytes, got {len(key)}")
