"""Long-lived key material: identity, registration id, signed prekey, one-time prekeys, bundles.

Every generator takes the key pair source as a parameter, so recorded key pairs can be replayed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from daemon.signal import curve
from daemon.signal.curve import KeyPair, generate_key_pair
from daemon.signal.errors import InvalidKeyError

KeyPairSource = Callable[[], KeyPair]
"""Where new key pairs come from: ``generate_key_pair`` normally, a recording in replays."""

MAX_PREKEY_ID = 0xFFFFFF
"""Prekey and signed prekey ids travel as 3 bytes (WhatsApp ``<id>`` nodes); 0 is never used."""

MAX_REGISTRATION_ID = 16380
"""libsignal's (non-extended) range for registration ids: 1..16380, 14 bits."""


@dataclass(frozen=True, slots=True)
class PreKey:
    """A one-time prekey."""

    key_id: int
    key_pair: KeyPair


@dataclass(frozen=True, slots=True)
class SignedPreKey:
    """The medium-term prekey, signed by the identity key over its 33-byte form."""

    key_id: int
    key_pair: KeyPair
    signature: bytes


@dataclass(frozen=True, slots=True)
class PreKeyBundle:
    """What the server hands out for a device we have no session with. Keys are raw 32 bytes."""

    registration_id: int
    identity_key: bytes
    signed_prekey_id: int
    signed_prekey: bytes
    signed_prekey_signature: bytes
    prekey_id: int | None = None
    prekey: bytes | None = None

    def __post_init__(self) -> None:
        if (self.prekey_id is None) != (self.prekey is None):
            raise InvalidKeyError("a bundle's one-time prekey needs both its id and its key")


def _check_prekey_id(key_id: int) -> None:
    if not 1 <= key_id <= MAX_PREKEY_ID:
        raise ValueError(f"prekey id {key_id} is outside 1..{MAX_PREKEY_ID:#x}")


def next_prekey_id(key_id: int) -> int:
    """The id after ``key_id``, wrapping from 0xFFFFFF back to 1."""
    _check_prekey_id(key_id)
    return key_id % MAX_PREKEY_ID + 1


def generate_identity_key_pair(new_key_pair: KeyPairSource = generate_key_pair) -> KeyPair:
    return new_key_pair()


def generate_registration_id(randbelow: Callable[[int], int] = secrets.randbelow) -> int:
    return randbelow(MAX_REGISTRATION_ID) + 1


def generate_signed_prekey(
    identity: KeyPair,
    key_id: int,
    new_key_pair: KeyPairSource = generate_key_pair,
    nonce: bytes | None = None,
) -> SignedPreKey:
    _check_prekey_id(key_id)
    key_pair = new_key_pair()
    signature = curve.sign(identity.private, curve.serialize_public(key_pair.public), nonce)
    return SignedPreKey(key_id, key_pair, signature)


def generate_prekeys(
    start_id: int, count: int, new_key_pair: KeyPairSource = generate_key_pair
) -> list[PreKey]:
    """``count`` one-time prekeys with consecutive ids from ``start_id``, wrapping at 0xFFFFFF."""
    _check_prekey_id(start_id)
    if not 0 <= count <= MAX_PREKEY_ID:
        raise ValueError(f"cannot make {count} prekeys")
    return [
        PreKey((start_id - 1 + offset) % MAX_PREKEY_ID + 1, new_key_pair())
        for offset in range(count)
    ]


def verify_signed_prekey(identity_key: bytes, signed_prekey: bytes, signature: bytes) -> bool:
    return curve.verify(identity_key, curve.serialize_public(signed_prekey), signature)
