"""HKDF, chain steps and AES-CBC of the Signal layer."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from daemon.signal import kdf
from daemon.signal.errors import InvalidMessageError


def test_hkdf_rfc5869_case_1() -> None:
    okm = kdf.hkdf(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def _hkdf_by_hand(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.digest(salt, ikm, hashlib.sha256)
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), hashlib.sha256)
        out += block
        counter += 1
    return out[:length]


def test_key_splits() -> None:
    seed = bytes(range(32))
    okm = _hkdf_by_hand(seed, bytes(32), b"WhisperMessageKeys", 80)
    keys = kdf.message_keys(seed)
    assert (keys.cipher_key, keys.mac_key, keys.iv) == (okm[:32], okm[32:64], okm[64:])
    group = _hkdf_by_hand(seed, bytes(32), b"WhisperGroup", 48)
    assert kdf.group_message_keys(seed) == (group[:16], group[16:])
    ratchet = _hkdf_by_hand(b"dh", b"r" * 32, b"WhisperRatchet", 64)
    assert kdf.root_step(b"r" * 32, b"dh") == (ratchet[:32], ratchet[32:])
    text = _hkdf_by_hand(b"secret", bytes(32), b"WhisperText", 64)
    assert kdf.initial_keys(b"secret") == (text[:32], text[32:])


def test_chain_step() -> None:
    key = b"k" * 32
    assert kdf.message_seed(key) == hmac.digest(key, b"\x01", hashlib.sha256)
    assert kdf.next_chain_key(key) == hmac.digest(key, b"\x02", hashlib.sha256)
    assert kdf.chain_step(key) == (kdf.message_seed(key), kdf.next_chain_key(key))


@pytest.mark.parametrize("key_size", [0, 1, 31, 32, 33, 63, 64, 65, 128, 200])
@pytest.mark.parametrize("data_size", [0, 1, 55, 64, 100, 3000])
def test_hmac_is_the_standard_one(key_size: int, data_size: int) -> None:
    """Written over hashlib (it keeps the GIL): equal to the stdlib's for every key length,
    keys longer than a block (hashed first) included."""
    key = bytes((i * 7 + 3) % 256 for i in range(key_size))
    data = bytes((i * 13 + 1) % 256 for i in range(data_size))
    assert kdf.hmac_sha256(key, data) == hmac.digest(key, data, "sha256")


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_aes_cbc_round_trip(size: int) -> None:
    key, iv = b"K" * 32, b"I" * 16
    plaintext = bytes(range(256)) * 4
    ciphertext = kdf.aes_cbc_encrypt(key, iv, plaintext[:size])
    assert len(ciphertext) == (size // 16 + 1) * 16
    assert kdf.aes_cbc_decrypt(key, iv, ciphertext) == plaintext[:size]


def test_aes_cbc_rejects_bad_input() -> None:
    key, iv = b"K" * 32, b"I" * 16
    with pytest.raises(InvalidMessageError):
        kdf.aes_cbc_decrypt(key, iv, b"")
    with pytest.raises(InvalidMessageError):
        kdf.aes_cbc_decrypt(key, iv, bytes(17))
    with pytest.raises(InvalidMessageError):
        kdf.aes_cbc_decrypt(b"X" * 32, iv, kdf.aes_cbc_encrypt(key, iv, b"x" * 40))
