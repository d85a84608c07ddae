"""libsignal-compatible Curve25519 signatures and X25519 helpers (daemon/crypto/curve.py)."""

from __future__ import annotations

import pytest
import xeddsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from daemon.crypto import curve


def test_key_pair_matches_cryptography() -> None:
    private = X25519PrivateKey.generate()
    pair = curve.KeyPair.from_private(private.private_bytes_raw())
    assert pair.public == private.public_key().public_bytes_raw()


def test_key_pair_repr_hides_private_key() -> None:
    pair = curve.KeyPair.generate()
    assert pair.private.hex() not in repr(pair)
    assert pair.public.hex() in repr(pair)


def test_shared_secret_agrees() -> None:
    a, b = curve.KeyPair.generate(), curve.KeyPair.generate()
    assert curve.shared_secret(a.private, b.public) == curve.shared_secret(b.private, a.public)


def test_shared_secret_refuses_low_order_point() -> None:
    with pytest.raises(curve.CurveError, match="X25519 failed"):
        curve.shared_secret(curve.KeyPair.generate().private, bytes(32))


def test_wrong_key_length() -> None:
    with pytest.raises(curve.CurveError, match="32 bytes"):
        curve.sign(b"short", b"m")


def test_sign_then_verify() -> None:
    pair = curve.KeyPair.generate()
    signature = curve.sign(pair.private, b"message")
    assert len(signature) == curve.SIGNATURE_LENGTH
    assert curve.verify(pair.public, b"message", signature)
    assert not curve.verify(pair.public, b"messagf", signature)
    assert not curve.verify(curve.KeyPair.generate().public, b"message", signature)
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    assert not curve.verify(pair.public, b"message", tampered)


def test_our_signatures_leave_the_sign_bit_clear() -> None:
    # XEdDSA form: libsignal's verifier reads bit 7 of byte 63 as the Edwards sign bit.
    for _ in range(20):
        pair = curve.KeyPair.generate()
        assert curve.sign(pair.private, b"m")[63] & 0x80 == 0


def test_verify_accepts_libsignal_signatures_with_sign_bit_set() -> None:
    # libsignal signs with the unmodified scalar and stores the Edwards key's sign bit in
    # sig[63]; emulate that for keys whose Edwards form has the bit set.
    seen_set_bit = 0
    for _ in range(20):
        pair = curve.KeyPair.generate()
        edwards = xeddsa.priv_to_ed25519_pub(pair.private)
        sign_bit = edwards[31] & 0x80
        if not sign_bit:
            continue
        seen_set_bit += 1
        signature = bytearray(
            xeddsa.ed25519_priv_sign(xeddsa.priv_force_sign(pair.private, True), b"m")
        )
        signature[63] |= sign_bit
        assert curve.verify(pair.public, b"m", bytes(signature))
        signature[63] &= 0x7F
        assert not curve.verify(pair.public, b"m", bytes(signature))
    assert seen_set_bit > 0


def test_verify_rejects_bad_lengths_and_points() -> None:
    pair = curve.KeyPair.generate()
    signature = curve.sign(pair.private, b"m")
    assert not curve.verify(pair.public[:31], b"m", signature)
    assert not curve.verify(pair.public, b"m", signature[:63])
    assert not curve.verify(b"\xff" * 32, b"m", signature)
