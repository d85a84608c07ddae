"""Curve25519 as libsignal uses it, including the two signature traps of deps.md §2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xeddsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from daemon.crypto.curve import CurveError
from daemon.signal import curve
from daemon.signal.curve import KeyPair
from daemon.signal.errors import InvalidKeyError


def test_generated_pairs_match_cryptography_and_are_clamped() -> None:
    for _ in range(20):
        pair = curve.generate_key_pair()
        assert pair.private[0] & 7 == 0
        assert pair.private[31] & 0xC0 == 0x40
        reference = X25519PrivateKey.from_private_bytes(pair.private).public_key()
        assert reference.public_bytes_raw() == pair.public
        assert KeyPair.from_private(pair.private) == pair


def test_key_pair_rejects_wrong_sizes() -> None:
    # KeyPair is the shared daemon.crypto.curve one; InvalidKeyError is a CurveError too.
    with pytest.raises(CurveError):
        KeyPair(bytes(31), bytes(32))
    with pytest.raises(CurveError):
        KeyPair.from_private(bytes(33))
    assert issubclass(InvalidKeyError, CurveError)


def test_key_pair_repr_hides_the_private_key() -> None:
    pair = curve.generate_key_pair()
    assert pair.private.hex() not in repr(pair)


def test_public_key_forms() -> None:
    public = curve.generate_key_pair().public
    serialized = curve.serialize_public(public)
    assert serialized == b"\x05" + public
    assert curve.parse_public(serialized) == public
    for bad in (public, b"\x06" + public, serialized + b"\x00", b""):
        with pytest.raises(InvalidKeyError):
            curve.parse_public(bad)
    with pytest.raises(InvalidKeyError):
        curve.serialize_public(serialized)


def test_agreement_is_symmetric_and_matches_cryptography() -> None:
    a, b = curve.generate_key_pair(), curve.generate_key_pair()
    shared = curve.agreement(a.private, b.public)
    assert shared == curve.agreement(b.private, a.public)
    reference = X25519PrivateKey.from_private_bytes(a.private).exchange(
        X25519PublicKey.from_public_bytes(b.public)
    )
    assert shared == reference


def test_agreement_refuses_low_order_points() -> None:
    private = curve.generate_key_pair().private
    for low_order in (bytes(32), b"\x01" + bytes(31)):
        with pytest.raises(InvalidKeyError):
            curve.agreement(private, low_order)


def test_sign_and_verify() -> None:
    pair = curve.generate_key_pair()
    signature = curve.sign(pair.private, b"message")
    assert len(signature) == 64
    assert curve.verify(pair.public, b"message", signature)
    assert not curve.verify(pair.public, b"messagE", signature)
    assert not curve.verify(curve.generate_key_pair().public, b"message", signature)
    assert not curve.verify(pair.public, b"message", signature[:63])
    flipped = bytes((signature[0] ^ 1,)) + signature[1:]
    assert not curve.verify(pair.public, b"message", flipped)


def test_signing_is_deterministic_given_the_nonce() -> None:
    pair = curve.generate_key_pair()
    nonce = bytes(range(64))
    assert curve.sign(pair.private, b"m", nonce) == curve.sign(pair.private, b"m", nonce)
    assert curve.sign(pair.private, b"m") != curve.sign(pair.private, b"m")
    with pytest.raises(ValueError):
        curve.sign(pair.private, b"m", bytes(32))


def _libsignal_style_signature(private: bytes, message: bytes) -> bytes:
    """libsignal's curve25519_sign: plain Ed25519 with the raw scalar, and the Edwards public
    key's sign bit stored in the top bit of the last signature byte."""
    signature = bytearray(xeddsa.ed25519_priv_sign(private, message))
    signature[63] |= xeddsa.priv_to_ed25519_pub(private)[31] & 0x80
    return bytes(signature)


def test_verify_accepts_libsignal_signatures_with_either_sign_bit() -> None:
    seen_bits = set()
    for _ in range(24):
        pair = curve.generate_key_pair()
        signature = _libsignal_style_signature(pair.private, b"bundle")
        seen_bits.add(signature[63] >> 7)
        assert curve.verify(pair.public, b"bundle", signature)
        # Our own signatures always leave the bit clear (sign bit forced to 0).
        assert curve.sign(pair.private, b"bundle")[63] & 0x80 == 0
    assert seen_bits == {0, 1}


def test_verify_accepts_the_recorded_libsignal_signature(vectors_dir: Path) -> None:
    bob = json.loads((vectors_dir / "signal.json").read_text())["bob"]
    spk = bob["signed_prekey"]
    assert curve.verify(
        bytes.fromhex(bob["identity"]["public"]),
        bytes.fromhex(spk["public_serialized"]),
        bytes.fromhex(spk["signature"]),
    )
