"""Records to storage bytes and back; corrupt bytes are a clear error."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from signal_parties import SeededKeyPairs, connected_pair, talking_pair

from daemon.signal import group, keys, records
from daemon.signal.errors import CorruptRecordError
from daemon.signal.state import SessionRecord
from waproto import wa_signal_store_pb2 as pb


def _busy_pair() -> tuple[SessionRecord, SessionRecord]:
    """Records with skipped keys, several chains, an archived session, a pending prekey."""
    alice, bob, source = talking_pair()
    held = [alice.encrypt("bob", b"%d" % i) for i in range(4)]
    bob.decrypt("alice", held[3], source)
    alice.decrypt("bob", bob.encrypt("alice", b"r"), source)
    bob.decrypt("alice", alice.encrypt("bob", b"new chain"), source)
    alice.initiate(bob, source)
    return alice.sessions["bob"], bob.sessions["alice"]


def test_session_records_round_trip() -> None:
    for record in _busy_pair():
        data = records.serialize_session_record(record)
        assert data[0] == records.FORMAT_VERSION
        assert data == _one_proto(record)
        assert records.deserialize_session_record(data) == record
    assert (
        records.deserialize_session_record(records.serialize_session_record(SessionRecord()))
        == SessionRecord()
    )


def _one_proto(record: SessionRecord) -> bytes:
    """The record encoded as one protobuf, the way every stored record was written."""
    proto = pb.SessionRecord()
    if record.current is not None:
        records._state_to_proto(record.current, proto.current)
    for state in record.previous:
        records._state_to_proto(state, proto.previous.add())
    return bytes((records.FORMAT_VERSION,)) + proto.SerializeToString()


def test_archived_states_are_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record is written on every message; its archived states never change, so each is
    encoded once, and the bytes stay those of the whole record encoded at once."""
    alice, bob, source = talking_pair()
    for _ in range(3):
        alice.initiate(bob, source)
    record = alice.sessions["bob"]
    assert len(record.previous) == 3
    assert records.serialize_session_record(record) == _one_proto(record)
    encoded: list[object] = []
    state_to_proto = records._state_to_proto

    def counting(state: object, out: pb.SessionState) -> None:
        encoded.append(state)
        state_to_proto(state, out)  # type: ignore[arg-type]

    monkeypatch.setattr(records, "_state_to_proto", counting)
    for n in range(3):
        alice.encrypt("bob", b"%d" % n)
        record = alice.sessions["bob"]
        data = records.serialize_session_record(record)
        assert encoded == [record.current]
        encoded.clear()
        assert data == _one_proto(record)
        assert records.deserialize_session_record(data) == record
        encoded.clear()


def test_optional_parts_round_trip() -> None:
    alice, _, _ = connected_pair()
    state = alice.sessions["bob"].current
    assert state is not None and state.pending_prekey is not None
    variants = [
        state,
        dataclasses.replace(state, sending_chain=None, pending_prekey=None),
        dataclasses.replace(
            state, pending_prekey=dataclasses.replace(state.pending_prekey, prekey_id=None)
        ),
    ]
    for variant in variants:
        record = SessionRecord(variant, (state, variant))
        data = records.serialize_session_record(record)
        assert data == _one_proto(record)
        assert records.deserialize_session_record(data) == record


def test_restored_record_keeps_working() -> None:
    alice, bob, source = talking_pair()
    held = alice.encrypt("bob", b"held back")
    following = alice.encrypt("bob", b"following")
    assert bob.decrypt("alice", following, source) == b"following"
    bob.sessions["alice"] = records.deserialize_session_record(
        records.serialize_session_record(bob.sessions["alice"])
    )
    assert bob.decrypt("alice", held, source) == b"held back"


def test_sender_key_records_round_trip() -> None:
    own = group.new_own_sender_key(key_id=3, new_key_pair=SeededKeyPairs(1))
    receiver = group.process_distribution_message(None, group.distribution_message(own))
    messages = []
    for index in range(4):
        ciphertext, own = group.group_encrypt(own, b"%d" % index)
        messages.append(ciphertext)
    _, receiver = group.group_decrypt(receiver, messages[3])
    for record in (own, receiver, group.SenderKeyRecord()):
        data = records.serialize_sender_key_record(record)
        assert records.deserialize_sender_key_record(data) == record
    restored = records.deserialize_sender_key_record(records.serialize_sender_key_record(receiver))
    assert group.group_decrypt(restored, messages[1])[0] == b"1"


def test_prekeys_round_trip() -> None:
    source = SeededKeyPairs(2)
    identity = keys.generate_identity_key_pair(source)
    signed = keys.generate_signed_prekey(identity, 0xFFFFFF, source)
    (prekey,) = keys.generate_prekeys(77, 1, source)
    assert records.deserialize_signed_prekey(records.serialize_signed_prekey(signed)) == signed
    assert records.deserialize_prekey(records.serialize_prekey(prekey)) == prekey


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02", b"\x00" + b"\x0a\x00", b"\x01\xff\xff", b"\x01\x0a\x03\x0a\x01"],
)
def test_corrupt_session_records(data: bytes) -> None:
    with pytest.raises(CorruptRecordError):
        records.deserialize_session_record(data)


def test_missing_fields_and_bad_sizes_are_corrupt() -> None:
    _, bob_record = _busy_pair()
    good = pb.SessionRecord.FromString(records.serialize_session_record(bob_record)[1:])
    mutations: list[Callable[[pb.SessionRecord], object]] = [
        lambda p: p.current.ClearField("rootKey"),
        lambda p: setattr(p.current, "rootKey", b"short"),
        lambda p: setattr(p.current, "senderRatchetPrivate", b"x" * 31),
        lambda p: p.current.receiverChains[0].ClearField("chainKey"),
        lambda p: setattr(p.current.receiverChains[0].chainKey, "key", b""),
        lambda p: p.current.receiverChains[-1].skipped.add(index=1),
    ]
    for mutate in mutations:
        proto = pb.SessionRecord()
        proto.CopyFrom(good)
        mutate(proto)
        with pytest.raises(CorruptRecordError):
            records.deserialize_session_record(b"\x01" + proto.SerializeToString())


def test_corrupt_sender_key_and_prekey_records() -> None:
    with pytest.raises(CorruptRecordError):
        records.deserialize_sender_key_record(b"\x01\x0a\x02\x08\x01")
    with pytest.raises(CorruptRecordError):
        records.deserialize_prekey(b"\x01" + pb.PreKeyRecord(id=1).SerializeToString())
    bad_signature = pb.SignedPreKeyRecord(
        id=1, publicKey=bytes(32), privateKey=bytes(32), signature=bytes(10)
    )
    with pytest.raises(CorruptRecordError):
        records.deserialize_signed_prekey(b"\x01" + bad_signature.SerializeToString())
