"""Key generation: identity, registration id, signed prekey, prekey ids that wrap."""

from __future__ import annotations

import pytest
from signal_parties import SeededKeyPairs

from daemon.signal import curve, keys
from daemon.signal.errors import InvalidKeyError
from daemon.signal.keys import MAX_PREKEY_ID, PreKeyBundle


def test_prekey_ids_are_consecutive() -> None:
    prekeys = keys.generate_prekeys(1, 5)
    assert [prekey.key_id for prekey in prekeys] == [1, 2, 3, 4, 5]
    assert len({prekey.key_pair.public for prekey in prekeys}) == 5


def test_prekey_ids_wrap_within_24_bits_skipping_zero() -> None:
    prekeys = keys.generate_prekeys(MAX_PREKEY_ID - 1, 4, SeededKeyPairs(1))
    assert [prekey.key_id for prekey in prekeys] == [0xFFFFFE, 0xFFFFFF, 1, 2]
    assert keys.next_prekey_id(0xFFFFFF) == 1
    assert keys.next_prekey_id(1) == 2


@pytest.mark.parametrize("bad", [0, MAX_PREKEY_ID + 1, -1])
def test_prekey_ids_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        keys.generate_prekeys(bad, 1)
    with pytest.raises(ValueError):
        keys.next_prekey_id(bad)
    with pytest.raises(ValueError):
        keys.generate_signed_prekey(curve.generate_key_pair(), bad)


def test_registration_ids_are_14_bit_and_never_zero() -> None:
    assert keys.generate_registration_id(lambda bound: 0) == 1
    assert keys.generate_registration_id(lambda bound: bound - 1) == 16380
    for _ in range(100):
        assert 1 <= keys.generate_registration_id() <= 16380


def test_signed_prekey_is_signed_over_the_33_byte_form() -> None:
    source = SeededKeyPairs(2)
    identity = keys.generate_identity_key_pair(source)
    signed = keys.generate_signed_prekey(identity, 1, source)
    public = signed.key_pair.public
    assert curve.verify(identity.public, b"\x05" + public, signed.signature)
    assert not curve.verify(identity.public, public, signed.signature)
    assert keys.verify_signed_prekey(identity.public, public, signed.signature)
    assert source.drawn == 2


def test_injected_key_source_is_used_in_order() -> None:
    first, second = SeededKeyPairs(5), SeededKeyPairs(5)
    assert keys.generate_prekeys(10, 3, first) == keys.generate_prekeys(10, 3, second)


def test_bundle_needs_both_halves_of_the_one_time_prekey() -> None:
    with pytest.raises(InvalidKeyError):
        PreKeyBundle(1, bytes(32), 1, bytes(32), bytes(64), prekey_id=5)
    with pytest.raises(InvalidKeyError):
        PreKeyBundle(1, bytes(32), 1, bytes(32), bytes(64), prekey=bytes(32))
