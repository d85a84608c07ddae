"""App-state sync key material: the five keys of a sync key, the four MACs, the value cipher.

A sync key (32 bytes, shared by the phone in ``AppStateSyncKeyShare``) expands with
HKDF-SHA256(info "WhatsApp Mutation Keys", 160 bytes) into, in order: index key, value
encryption key, value MAC key, snapshot MAC key, patch MAC key. With them:

- index MAC    = HMAC-SHA256(indexKey, index JSON bytes); it names a record without showing it.
- value blob   = IV(16) || AES-256-CBC-PKCS7(valueEncryptionKey, IV, SyncActionData) || valueMAC
- value MAC    = HMAC-SHA512(valueMacKey, op || keyID || IV||ciphertext || u64be(len(keyID)+1))
                 truncated to 32 bytes, op being 0x01 for SET and 0x02 for REMOVE (the 1 + keyID
                 prefix is the "associated data" whose length the last 8 bytes state).
- snapshot MAC = HMAC-SHA256(snapshotMacKey, LTHash(128) || u64be(version) || collection name)
- patch MAC    = HMAC-SHA256(patchMacKey, snapshotMAC || each valueMAC in order || u64be(version)
                 || collection name)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from daemon.crypto.hkdf import hkdf_sha256
from daemon.crypto.media import RandomBytes

MUTATION_KEYS_INFO = b"WhatsApp Mutation Keys"
SYNC_KEY_LENGTH = 32
MAC_LENGTH = 32
IV_LENGTH = 16
_BLOCK = 16

OPERATION_BYTE_SET = 0x01
OPERATION_BYTE_REMOVE = 0x02


class AppStateCryptoError(ValueError):
    """Malformed key material or a value blob that does not decrypt."""


@dataclass(frozen=True, slots=True)
class AppStateKeys:
    index: bytes
    value_encryption: bytes
    value_mac: bytes
    snapshot_mac: bytes
    patch_mac: bytes


def expand_sync_key(key_data: bytes) -> AppStateKeys:
    if len(key_data) != SYNC_KEY_LENGTH:
        raise AppStateCryptoError(
            f"an app-state sync key is {SYNC_KEY_LENGTH} bytes, got {len(key_data)}"
        )
    okm = hkdf_sha256(key_data, MUTATION_KEYS_INFO, 160)
    return AppStateKeys(okm[0:32], okm[32:64], okm[64:96], okm[96:128], okm[128:160])


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def index_mac(keys: AppStateKeys, index_json: bytes) -> bytes:
    return hmac.digest(keys.index, index_json, "sha256")


def value_mac(keys: AppStateKeys, operation_byte: int, key_id: bytes, encrypted: bytes) -> bytes:
    """``encrypted`` is IV || ciphertext: the value blob without its trailing MAC."""
    mac = hmac.new(keys.value_mac, bytes((operation_byte,)), hashlib.sha512)
    mac.update(key_id)
    mac.update(encrypted)
    mac.update(_u64(len(key_id) + 1))
    return mac.digest()[:MAC_LENGTH]


def snapshot_mac(keys: AppStateKeys, lthash: bytes, version: int, collection: str) -> bytes:
    return hmac.digest(keys.snapshot_mac, lthash + _u64(version) + collection.encode(), "sha256")


def patch_mac(
    keys: AppStateKeys,
    snapshot_mac_value: bytes,
    value_macs: Iterable[bytes],
    version: int,
    collection: str,
) -> bytes:
    mac = hmac.new(keys.patch_mac, snapshot_mac_value, hashlib.sha256)
    for item in value_macs:
        mac.update(item)
    mac.update(_u64(version))
    mac.update(collection.encode())
    return mac.digest()


def encrypt_value(
    keys: AppStateKeys, plaintext: bytes, random_bytes: RandomBytes = os.urandom
) -> bytes:
    """IV || AES-256-CBC-PKCS7(plaintext), with a fresh random IV."""
    iv = random_bytes(IV_LENGTH)
    padder = padding.PKCS7(_BLOCK * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(keys.value_encryption), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded) + encryptor.finalize()


def decrypt_value(keys: AppStateKeys, encrypted: bytes) -> bytes:
    """The inverse of :func:`encrypt_value`."""
    body = encrypted[IV_LENGTH:]
    if len(body) < _BLOCK or len(body) % _BLOCK:
        raise AppStateCryptoError(f"a {len(encrypted)}-byte value is not IV + whole AES blocks")
    decryptor = Cipher(
        algorithms.AES(keys.value_encryption), modes.CBC(encrypted[:IV_LENGTH])
    ).decryptor()
    unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
    try:
        padded = decryptor.update(body) + decryptor.finalize()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise AppStateCryptoError("invalid PKCS#7 padding in an app-state value") from exc
