"""Fuzzing the Signal parsers and decrypt paths with random and mutated bytes.

Invariant: any input either parses/decrypts or raises a ``SignalError`` subclass (never another
exception), and the state passed in is unchanged after a failure.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.signal import group, keys, records, session
from daemon.signal.curve import KeyPair, clamp
from daemon.signal.errors import SignalError
from daemon.signal.messages import (
    parse_distribution_message,
    parse_prekey_message,
    parse_sender_key_message,
    parse_signal_message,
)
from daemon.signal.records import (
    deserialize_prekey,
    deserialize_sender_key_record,
    deserialize_session_record,
    deserialize_signed_prekey,
)
from daemon.signal.state import SessionRecord

PARSERS = [
    parse_signal_message,
    parse_prekey_message,
    parse_sender_key_message,
    parse_distribution_message,
    deserialize_session_record,
    deserialize_sender_key_record,
    deserialize_prekey,
    deserialize_signed_prekey,
]


class _Keys:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def __call__(self) -> KeyPair:
        return KeyPair.from_private(clamp(self._random.randbytes(32)))


@dataclass(frozen=True)
class Material:
    bob_identity: KeyPair
    signed: keys.SignedPreKey
    prekey: keys.PreKey
    pkmsg: bytes
    msg: bytes
    bob_record: SessionRecord
    skmsg: bytes
    sender_record: group.SenderKeyRecord


def _conversation() -> Material:
    """Fixed material: Bob's keys, a pkmsg, a msg and a skmsg with their receiving records."""
    source = _Keys(1)
    alice_identity = keys.generate_identity_key_pair(source)
    bob_identity = keys.generate_identity_key_pair(source)
    signed = keys.generate_signed_prekey(bob_identity, 1, source)
    (prekey,) = keys.generate_prekeys(1, 1, source)
    bundle = keys.PreKeyBundle(
        registration_id=2,
        identity_key=bob_identity.public,
        signed_prekey_id=1,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
        prekey_id=1,
        prekey=prekey.key_pair.public,
    )
    alice = session.initiate_session(
        None, bundle, identity=alice_identity, registration_id=1, new_key_pair=source
    )
    pkmsg, alice = session.encrypt(alice, b"first")
    result = session.decrypt_prekey_message(
        None,
        pkmsg.body,
        identity=bob_identity,
        registration_id=2,
        signed_prekey=signed,
        prekey=prekey,
        new_key_pair=source,
    )
    reply, _ = session.encrypt(result.record, b"reply")
    _, alice = session.decrypt(alice, reply.body, new_key_pair=source)
    msg, _ = session.encrypt(alice, b"second")
    own = group.new_own_sender_key(new_key_pair=source)
    skmsg, _ = group.group_encrypt(own, b"group")
    return Material(
        bob_identity=bob_identity,
        signed=signed,
        prekey=prekey,
        pkmsg=pkmsg.body,
        msg=msg.body,
        bob_record=result.record,
        skmsg=skmsg,
        sender_record=group.process_distribution_message(None, group.distribution_message(own)),
    )


MATERIAL = _conversation()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_parsers_raise_only_signal_errors(data: bytes) -> None:
    for parse in PARSERS:
        with contextlib.suppress(SignalError):
            parse(data)


def _mutate(original: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(original)
    for position, value in edits:
        data[position % len(data)] ^= value or 1
    return bytes(data[: max(1, len(data) - cut)])


EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(edits=EDITS, cut=st.integers(0, 3))
def test_mutated_messages_fail_cleanly_and_change_nothing(
    edits: list[tuple[int, int]], cut: int
) -> None:
    record = MATERIAL.bob_record
    before = records.serialize_session_record(record)
    with contextlib.suppress(SignalError):
        session.decrypt(record, _mutate(MATERIAL.msg, edits, cut))
    with contextlib.suppress(SignalError):
        session.decrypt_prekey_message(
            record,
            _mutate(MATERIAL.pkmsg, edits, cut),
            identity=MATERIAL.bob_identity,
            registration_id=2,
            signed_prekey=MATERIAL.signed,
            prekey=MATERIAL.prekey,
        )
    assert records.serialize_session_record(record) == before

    sender_record = MATERIAL.sender_record
    sender_before = records.serialize_sender_key_record(sender_record)
    with contextlib.suppress(SignalError):
        group.group_decrypt(sender_record, _mutate(MATERIAL.skmsg, edits, cut))
    assert records.serialize_sender_key_record(sender_record) == sender_before
