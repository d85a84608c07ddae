"""Wire forms of msg, pkmsg, skmsg and SKDM: layout, strict parsing, specific errors."""

from __future__ import annotations

import pytest

from daemon.signal import curve
from daemon.signal.errors import InvalidMessageError, InvalidVersionError
from daemon.signal.messages import (
    MAC_SIZE,
    build_distribution_message,
    build_prekey_message,
    build_sender_key_message,
    build_signal_message,
    parse_distribution_message,
    parse_prekey_message,
    parse_sender_key_message,
    parse_signal_message,
    signal_message_mac,
)
from waproto import wa_signal_pb2 as pb

RATCHET = bytes(range(32))
ALICE = bytes(range(1, 33))
BOB = bytes(range(2, 34))


def _signal_message(counter: int = 5, previous: int = 0) -> bytes:
    return build_signal_message(
        ratchet_key=RATCHET,
        counter=counter,
        previous_counter=previous,
        ciphertext=b"c" * 32,
        mac_key=b"m" * 32,
        sender_identity=ALICE,
        receiver_identity=BOB,
    ).serialized


def test_signal_message_layout() -> None:
    data = _signal_message()
    assert data[0] == 0x33
    # ephemeralKey=1 (33-byte form), counter=2, previousCounter=3 (written even when 0),
    # ciphertext=4, in field-number order.
    assert data[1:4] == b"\x0a\x21\x05"
    assert data[4:36] == RATCHET
    assert data[36:42] == b"\x10\x05\x18\x00\x22\x20"
    mac = signal_message_mac(b"m" * 32, ALICE, BOB, data[:-MAC_SIZE])
    assert data[-MAC_SIZE:] == mac
    parsed = parse_signal_message(data)
    assert (parsed.ratchet_key, parsed.counter, parsed.previous_counter) == (RATCHET, 5, 0)
    assert parsed.ciphertext == b"c" * 32
    assert parsed.mac == mac
    assert parsed.serialized == data


def test_mac_covers_both_identities_in_order() -> None:
    part = _signal_message()[:-MAC_SIZE]
    assert signal_message_mac(b"k" * 32, ALICE, BOB, part) != signal_message_mac(
        b"k" * 32, BOB, ALICE, part
    )


@pytest.mark.parametrize("first", [0x23, 0x43, 0x13, 0x00, 0xF3])
def test_version_byte_is_checked(first: int) -> None:
    data = bytes((first,)) + _signal_message()[1:]
    with pytest.raises(InvalidVersionError):
        parse_signal_message(data)
    with pytest.raises(InvalidVersionError):
        parse_prekey_message(data)
    with pytest.raises(InvalidVersionError):
        parse_sender_key_message(data + bytes(64))
    with pytest.raises(InvalidVersionError):
        parse_distribution_message(data)


def test_signal_message_malformed() -> None:
    for data in (b"", b"\x33", b"\x33" + bytes(8), b"\x33\x0a\xff" + bytes(8)):
        with pytest.raises(InvalidMessageError):
            parse_signal_message(data)
    incomplete = pb.SignalMessage(ephemeralKey=b"\x05" + RATCHET, counter=1)
    with pytest.raises(InvalidMessageError, match="ciphertext"):
        parse_signal_message(b"\x33" + incomplete.SerializeToString() + bytes(8))
    bad_key = pb.SignalMessage(ephemeralKey=RATCHET, counter=1, ciphertext=b"x" * 16)
    with pytest.raises(InvalidMessageError, match="ratchet key"):
        parse_signal_message(b"\x33" + bad_key.SerializeToString() + bytes(8))


def test_prekey_message_round_trip_and_optional_prekey_id() -> None:
    inner = parse_signal_message(_signal_message())
    for prekey_id in (31337, None):
        built = build_prekey_message(
            registration_id=4242,
            prekey_id=prekey_id,
            signed_prekey_id=1,
            base_key=RATCHET,
            identity_key=ALICE,
            message=inner,
        )
        proto = pb.PreKeySignalMessage.FromString(built.serialized[1:])
        assert proto.HasField("preKeyId") is (prekey_id is not None)
        parsed = parse_prekey_message(built.serialized)
        assert parsed.prekey_id == prekey_id
        assert (parsed.registration_id, parsed.signed_prekey_id) == (4242, 1)
        assert (parsed.base_key, parsed.identity_key) == (RATCHET, ALICE)
        assert parsed.message == inner


def test_prekey_message_missing_fields() -> None:
    full = pb.PreKeySignalMessage(
        signedPreKeyId=1,
        baseKey=b"\x05" + RATCHET,
        identityKey=b"\x05" + ALICE,
        message=_signal_message(),
    )
    for field in ("signedPreKeyId", "baseKey", "identityKey", "message"):
        partial = pb.PreKeySignalMessage()
        partial.CopyFrom(full)
        partial.ClearField(field)
        with pytest.raises(InvalidMessageError, match=field):
            parse_prekey_message(b"\x33" + partial.SerializeToString())
    broken_inner = pb.PreKeySignalMessage()
    broken_inner.CopyFrom(full)
    broken_inner.message = b"\x33garbage"
    with pytest.raises(InvalidMessageError):
        parse_prekey_message(b"\x33" + broken_inner.SerializeToString())


def test_sender_key_message_signature() -> None:
    signer = curve.generate_key_pair()
    built = build_sender_key_message(
        key_id=7, iteration=3, ciphertext=b"c" * 16, signing_private=signer.private
    )
    parsed = parse_sender_key_message(built.serialized)
    assert (parsed.key_id, parsed.iteration, parsed.ciphertext) == (7, 3, b"c" * 16)
    assert parsed.verify(signer.public)
    assert not parsed.verify(curve.generate_key_pair().public)
    tampered = bytearray(built.serialized)
    tampered[10] ^= 1  # inside the ciphertext
    assert not parse_sender_key_message(bytes(tampered)).verify(signer.public)
    for data in (b"\x33" + bytes(64), b"\x33\xff" + bytes(64)):
        with pytest.raises(InvalidMessageError):
            parse_sender_key_message(data)


def test_distribution_message_round_trip_and_checks() -> None:
    signer = curve.generate_key_pair()
    built = build_distribution_message(
        key_id=9, iteration=0, chain_key=b"k" * 32, signing_key=signer.public
    )
    assert built.serialized[:5] == b"\x33\x08\x09\x10\x00"
    parsed = parse_distribution_message(built.serialized)
    assert (parsed.key_id, parsed.iteration) == (9, 0)
    assert (parsed.chain_key, parsed.signing_key) == (b"k" * 32, signer.public)
    short_chain = pb.SenderKeyDistributionMessage(
        id=1, iteration=0, chainKey=b"k" * 31, signingKey=b"\x05" + signer.public
    )
    with pytest.raises(InvalidMessageError, match="chain key"):
        parse_distribution_message(b"\x33" + short_chain.SerializeToString())
    raw_key = pb.SenderKeyDistributionMessage(
        id=1, iteration=0, chainKey=b"k" * 32, signingKey=signer.public
    )
    with pytest.raises(InvalidMessageError, match="signing key"):
        parse_distribution_message(b"\x33" + raw_key.SerializeToString())
