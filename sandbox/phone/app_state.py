"""The app-state sync key the phone shares with its companions (protocol-inventory §10.2).

App state (contacts, mutes, pins, the push name...) is encrypted with keys only the account's
devices hold; the phone creates them and hands them to each new companion in a peer
``ProtocolMessage{type=APP_STATE_SYNC_KEY_SHARE}``. The sandbox derives the account's key from
the account identity key, so the phone and the server's app-state handler can both compute it and
it survives restarts without a table of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from daemon.crypto.curve import KeyPair
from daemon.signal.kdf import hkdf
from waproto import wa_e2e_pb2

__all__ = ["AppStateKey", "account_app_state_key", "key_share_message"]

_KEY_INFO = b"wamd sandbox app state sync key"
_KEY_ID_INFO = b"wamd sandbox app state sync key id"


@dataclass(frozen=True, slots=True)
class AppStateKey:
    key_id: bytes
    key_data: bytes = field(repr=False)
    timestamp: int


def account_app_state_key(account_identity: KeyPair, timestamp: int) -> AppStateKey:
    """The account's (only) app-state key: 32 bytes of key data and a 6-byte key id.

    Real key ids are six bytes, two zero bytes then four varying ones; this keeps that shape.
    """
    salt = b"\x00" * 32
    key_data = hkdf(account_identity.private, salt, _KEY_INFO, 32)
    key_id = b"\x00\x00" + hkdf(account_identity.private, salt, _KEY_ID_INFO, 4)
    return AppStateKey(key_id, key_data, timestamp)


def key_share_message(
    keys: Sequence[AppStateKey],
    *,
    raw_id: int,
    current_index: int,
    device_indexes: Iterable[int],
) -> wa_e2e_pb2.Message:
    """``Message{protocolMessage{APP_STATE_SYNC_KEY_SHARE}}`` for a companion.

    The fingerprint names the account's device list at the time of sharing: its ADV raw id, the
    newest key index and every valid one (0 for the phone itself).
    """
    if not keys:
        raise ValueError("a key share needs at least one key")
    indexes = sorted(set(device_indexes))
    share = wa_e2e_pb2.AppStateSyncKeyShare()
    for key in keys:
        share.keys.add(
            keyID=wa_e2e_pb2.AppStateSyncKeyId(keyID=key.key_id),
            keyData=wa_e2e_pb2.AppStateSyncKeyData(
                keyData=key.key_data,
                fingerprint=wa_e2e_pb2.AppStateSyncKeyFingerprint(
                    rawID=raw_id, currentIndex=current_index, deviceIndexes=indexes
                ),
                timestamp=key.timestamp,
            ),
        )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE,
            appStateSyncKeyShare=share,
        )
    )
