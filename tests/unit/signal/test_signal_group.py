"""Sender keys: distribution, encrypt/decrypt, ordering, limits, signatures, state bounds."""

from __future__ import annotations

import pytest
from signal_parties import SeededKeyPairs

from daemon.signal import group
from daemon.signal.errors import (
    BadMessageSignatureError,
    DecryptionError,
    DuplicateMessageError,
    InvalidMessageError,
    NoSenderKeyError,
    NoSessionError,
    TooFarInFutureError,
)
from daemon.signal.group import (
    MAX_GROUP_FORWARD_JUMP,
    MAX_GROUP_MESSAGE_KEYS,
    MAX_SENDER_KEY_STATES,
    SenderKeyRecord,
)
from daemon.signal.messages import parse_distribution_message, parse_sender_key_message
from daemon.signal.records import serialize_sender_key_record


def _sender(seed: int = 1, key_id: int = 42) -> SenderKeyRecord:
    return group.new_own_sender_key(key_id=key_id, new_key_pair=SeededKeyPairs(seed))


def _receiver_of(own: SenderKeyRecord) -> SenderKeyRecord:
    return group.process_distribution_message(None, group.distribution_message(own))


def test_new_sender_key_draws_id_and_chain_key_from_injected_sources() -> None:
    record = group.new_own_sender_key(
        new_key_pair=SeededKeyPairs(1),
        randbelow=lambda bound: bound - 1,
        token_bytes=lambda size: b"c" * size,
    )
    (state,) = record.states
    assert state.key_id == 2**31 - 2
    assert state.chain_key.key == b"c" * 32
    assert state.chain_key.index == 0
    assert state.signing_private is not None
    with pytest.raises(ValueError):
        group.new_own_sender_key(chain_key=b"short")


def test_distribute_encrypt_decrypt() -> None:
    own = _sender()
    receiver = _receiver_of(own)
    for index in range(3):
        ciphertext, own = group.group_encrypt(own, b"hello %d" % index)
        assert parse_sender_key_message(ciphertext).iteration == index
        plaintext, receiver = group.group_decrypt(receiver, ciphertext)
        assert plaintext == b"hello %d" % index


def test_distribution_message_carries_the_current_iteration() -> None:
    own = _sender()
    for _ in range(4):
        _, own = group.group_encrypt(own, b"x")
    skdm = parse_distribution_message(group.distribution_message(own).serialized)
    assert (skdm.key_id, skdm.iteration) == (42, 4)
    late_joiner = group.process_distribution_message(None, skdm)
    ciphertext, own = group.group_encrypt(own, b"after joining")
    assert group.group_decrypt(late_joiner, ciphertext)[0] == b"after joining"


def test_out_of_order_and_duplicates() -> None:
    own = _sender()
    receiver = _receiver_of(own)
    messages = []
    for index in range(6):
        ciphertext, own = group.group_encrypt(own, b"%d" % index)
        messages.append(ciphertext)
    for index in (5, 1, 3, 0, 4, 2):
        plaintext, receiver = group.group_decrypt(receiver, messages[index])
        assert plaintext == b"%d" % index
    before = serialize_sender_key_record(receiver)
    for ciphertext in messages:
        with pytest.raises(DuplicateMessageError):
            group.group_decrypt(receiver, ciphertext)
    assert serialize_sender_key_record(receiver) == before


def test_forward_jump_limit() -> None:
    own = _sender()
    receiver = _receiver_of(own)
    for _ in range(MAX_GROUP_FORWARD_JUMP):
        _, own = group.group_encrypt(own, b"lost")
    within, own = group.group_encrypt(own, b"at the limit")
    beyond, own = group.group_encrypt(own, b"past the limit")
    with pytest.raises(TooFarInFutureError):
        group.group_decrypt(receiver, beyond)
    assert group.group_decrypt(receiver, within)[0] == b"at the limit"


def test_skipped_keys_are_bounded() -> None:
    own = _sender()
    receiver = _receiver_of(own)
    held = []
    for index in range(MAX_GROUP_MESSAGE_KEYS + 3):
        ciphertext, own = group.group_encrypt(own, b"%d" % index)
        held.append(ciphertext)
    _, receiver = group.group_decrypt(receiver, held[1000])
    _, receiver = group.group_decrypt(receiver, held[-1])
    assert len(receiver.states[0].skipped) == MAX_GROUP_MESSAGE_KEYS
    with pytest.raises(DuplicateMessageError):
        group.group_decrypt(receiver, held[0])
    assert group.group_decrypt(receiver, held[1])[0] == b"1"


def test_bad_signature_changes_nothing() -> None:
    own = _sender()
    receiver = _receiver_of(own)
    ciphertext, own = group.group_encrypt(own, b"signed")
    forged = ciphertext[:-64] + bytes(64)
    with pytest.raises(BadMessageSignatureError):
        group.group_decrypt(receiver, forged)
    tampered = bytearray(ciphertext)
    tampered[-70] ^= 1
    with pytest.raises(BadMessageSignatureError):
        group.group_decrypt(receiver, bytes(tampered))
    assert issubclass(BadMessageSignatureError, DecryptionError)
    assert group.group_decrypt(receiver, ciphertext)[0] == b"signed"


def test_impostor_with_the_same_key_id_is_refused() -> None:
    own, impostor = _sender(seed=1), _sender(seed=2)
    receiver = _receiver_of(own)
    ciphertext, _ = group.group_encrypt(impostor, b"pretend")
    with pytest.raises(BadMessageSignatureError):
        group.group_decrypt(receiver, ciphertext)


def test_unknown_key_id_and_garbage() -> None:
    own = _sender()
    ciphertext, _ = group.group_encrypt(own, b"x")
    with pytest.raises(NoSenderKeyError):
        group.group_decrypt(None, ciphertext)
    with pytest.raises(NoSenderKeyError):
        group.group_decrypt(_receiver_of(_sender(seed=3, key_id=7)), ciphertext)
    with pytest.raises(InvalidMessageError):
        group.group_decrypt(_receiver_of(own), b"\x33" + bytes(10))


def test_only_own_keys_encrypt() -> None:
    with pytest.raises(NoSessionError):
        group.group_encrypt(_receiver_of(_sender()), b"x")
    with pytest.raises(NoSessionError):
        group.group_encrypt(SenderKeyRecord(), b"x")
    with pytest.raises(NoSessionError):
        group.distribution_message(SenderKeyRecord())


def test_repeated_distribution_is_a_no_op() -> None:
    own = _sender()
    receiver = _receiver_of(own)
    first, own = group.group_encrypt(own, b"first")
    _, receiver = group.group_decrypt(receiver, first)
    again = group.process_distribution_message(receiver, group.distribution_message(own))
    assert again is receiver
    with pytest.raises(DuplicateMessageError):
        group.group_decrypt(again, first)


def test_same_key_id_new_signing_key_replaces() -> None:
    receiver = _receiver_of(_sender(seed=1, key_id=5))
    replacement = _sender(seed=2, key_id=5)
    receiver = group.process_distribution_message(receiver, group.distribution_message(replacement))
    assert len(receiver.states) == 1
    ciphertext, _ = group.group_encrypt(replacement, b"new key")
    assert group.group_decrypt(receiver, ciphertext)[0] == b"new key"


def test_at_most_five_states_per_sender() -> None:
    senders = [_sender(seed=seed, key_id=seed) for seed in range(1, MAX_SENDER_KEY_STATES + 2)]
    receiver: SenderKeyRecord | None = None
    for own in senders:
        receiver = group.process_distribution_message(receiver, group.distribution_message(own))
    assert receiver is not None
    assert len(receiver.states) == MAX_SENDER_KEY_STATES
    oldest, _ = group.group_encrypt(senders[0], b"x")
    with pytest.raises(NoSenderKeyError):
        group.group_decrypt(receiver, oldest)
    for own in senders[1:]:
        ciphertext, _ = group.group_encrypt(own, b"kept")
        assert group.group_decrypt(receiver, ciphertext)[0] == b"kept"
