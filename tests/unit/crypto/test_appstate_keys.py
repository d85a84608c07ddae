"""App-state key expansion (whatsapp-rust-bridge's numbers via Baileys) and the MAC constructions,
rebuilt here from their definitions with plain hashlib/hmac."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.crypto import appstate_keys
from daemon.crypto.appstate_keys import AppStateCryptoError, expand_sync_key

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "baileys_crypto_vectors.json").read_text()
)
KEY_DATA = bytes.fromhex(VECTORS["appstate_keys"]["key_data"])
KEYS = expand_sync_key(KEY_DATA)


def test_expansion_matches_baileys() -> None:
    expected = VECTORS["appstate_keys"]
    assert KEYS.index.hex() == expected["index"]
    assert KEYS.value_encryption.hex() == expected["value_encryption"]
    assert KEYS.value_mac.hex() == expected["value_mac"]
    assert KEYS.snapshot_mac.hex() == expected["snapshot_mac"]
    assert KEYS.patch_mac.hex() == expected["patch_mac"]


def test_value_mac_construction() -> None:
    key_id, encrypted = b"key-id", bytes(range(48))
    data = b"\x02" + key_id + encrypted + (len(key_id) + 1).to_bytes(8, "big")
    expected = hmac.new(KEYS.value_mac, data, hashlib.sha512).digest()[:32]
    assert appstate_keys.value_mac(
        KEYS, appstate_keys.OPERATION_BYTE_REMOVE, key_id, encrypted
    ) == (expected)


def test_snapshot_and_patch_mac_constructions() -> None:
    lt, version, name = bytes(range(128)), 0x0102030405, "regular_low"
    snapshot = appstate_keys.snapshot_mac(KEYS, lt, version, name)
    assert snapshot == hmac.digest(
        KEYS.snapshot_mac, lt + version.to_bytes(8, "big") + name.encode(), "sha256"
    )
    macs = [b"a" * 32, b"b" * 32]
    assert appstate_keys.patch_mac(KEYS, snapshot, macs, version, name) == hmac.digest(
        KEYS.patch_mac,
        snapshot + b"".join(macs) + version.to_bytes(8, "big") + name.encode(),
        "sha256",
    )
    assert appstate_keys.index_mac(KEYS, b'["pin_v1","x"]') == hmac.digest(
        KEYS.index, b'["pin_v1","x"]', "sha256"
    )


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100])
def test_value_cipher_round_trip_with_iv_prefix(size: int) -> None:
    plaintext = bytes(range(size))
    encrypted = appstate_keys.encrypt_value(KEYS, plaintext, lambda n: b"\x05" * n)
    assert encrypted[:16] == b"\x05" * 16
    assert len(encrypted) == 16 + (size // 16 + 1) * 16
    assert appstate_keys.decrypt_value(KEYS, encrypted) == plaintext


def test_bad_values_and_keys_are_refused() -> None:
    with pytest.raises(AppStateCryptoError):
        appstate_keys.decrypt_value(KEYS, bytes(16 + 15))
    with pytest.raises(AppStateCryptoError):
        appstate_keys.decrypt_value(KEYS, bytes(16))
    with pytest.raises(AppStateCryptoError):
        expand_sync_key(bytes(16))
