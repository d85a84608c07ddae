"""The app-state key share the phone sends a new companion."""

from __future__ import annotations

import pytest

from daemon.crypto.curve import KeyPair
from sandbox.phone.app_state import account_app_state_key, key_share_message
from waproto import wa_e2e_pb2


def test_key_is_stable_per_account_and_distinct_between_accounts() -> None:
    identity = KeyPair.generate()
    first = account_app_state_key(identity, 100)
    again = account_app_state_key(KeyPair.from_private(identity.private), 100)
    other = account_app_state_key(KeyPair.generate(), 100)
    assert first == again
    assert len(first.key_data) == 32
    assert len(first.key_id) == 6
    assert first.key_id.startswith(b"\x00\x00")
    assert first.key_data != other.key_data
    assert "key_data" not in repr(first)


def test_share_message_carries_keys_and_fingerprint() -> None:
    key = account_app_state_key(KeyPair.generate(), 1_700_000_000)
    message = key_share_message([key], raw_id=42, current_index=3, device_indexes=[3, 0, 1, 1])
    parsed = wa_e2e_pb2.Message.FromString(message.SerializeToString())
    protocol = parsed.protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
    [shared] = protocol.appStateSyncKeyShare.keys
    assert shared.keyID.keyID == key.key_id
    assert shared.keyData.keyData == key.key_data
    assert shared.keyData.timestamp == 1_700_000_000
    fingerprint = shared.keyData.fingerprint
    assert (fingerprint.rawID, fingerprint.currentIndex) == (42, 3)
    assert list(fingerprint.deviceIndexes) == [0, 1, 3]


def test_share_needs_a_key() -> None:
    with pytest.raises(ValueError):
        key_share_message([], raw_id=1, current_index=0, device_indexes=[0])
