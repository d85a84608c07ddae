"""X3DH and the Double Ratchet over the pure core: setup, ordering, limits, tampering."""

from __future__ import annotations

import dataclasses

import pytest
from signal_parties import SeededKeyPairs, connected_pair, make_party, talking_pair

from daemon.signal import session
from daemon.signal.errors import (
    DecryptionError,
    DuplicateMessageError,
    InvalidMacError,
    InvalidMessageError,
    InvalidSignatureError,
    InvalidVersionError,
    MissingPreKeyError,
    NoSessionError,
    NoSessionForMessageError,
    TooFarInFutureError,
)
from daemon.signal.messages import build_prekey_message, parse_prekey_message, parse_signal_message
from daemon.signal.session import EncType
from daemon.signal.state import (
    MAX_FORWARD_JUMP,
    MAX_MESSAGE_KEYS,
    MAX_PREVIOUS_SESSIONS,
    MAX_RECEIVER_CHAINS,
    SessionRecord,
)


def test_prekey_messages_until_the_first_reply() -> None:
    alice, bob, source = connected_pair()
    first = alice.encrypt("bob", b"one")
    second = alice.encrypt("bob", b"two")
    assert first.type is second.type is EncType.PKMSG
    assert first.remote_registration_id == 2222
    assert bob.decrypt("alice", second, source) == b"two"
    assert bob.decrypt("alice", first, source) == b"one"
    reply = bob.encrypt("alice", b"reply")
    assert reply.type is EncType.MSG
    assert alice.encrypt("bob", b"still unacknowledged").type is EncType.PKMSG
    assert alice.decrypt("bob", reply, source) == b"reply"
    assert alice.encrypt("bob", b"acknowledged").type is EncType.MSG


def test_prekey_message_names_the_bundle_keys() -> None:
    alice, _, _ = connected_pair()
    parsed = parse_prekey_message(alice.encrypt("bob", b"x").body)
    assert parsed.prekey_id == 100
    assert parsed.signed_prekey_id == 7
    assert parsed.registration_id == 1111
    assert parsed.identity_key == alice.identity.public


def test_one_time_prekey_is_consumed_once() -> None:
    alice, bob, source = connected_pair()
    bob.decrypt("alice", alice.encrypt("bob", b"x"), source)
    assert 100 not in bob.prekeys
    # Later prekey messages of the same session need no prekey any more.
    assert bob.decrypt("alice", alice.encrypt("bob", b"y"), source) == b"y"


def test_session_without_one_time_prekey() -> None:
    source = SeededKeyPairs(3)
    alice, bob = make_party("alice", source), make_party("bob", source)
    alice.initiate(bob, source, with_prekey=False)
    message = alice.encrypt("bob", b"no prekey")
    assert parse_prekey_message(message.body).prekey_id is None
    assert bob.decrypt("alice", message, source) == b"no prekey"
    assert len(bob.prekeys) == 3


def test_bad_signed_prekey_signature_is_refused() -> None:
    source = SeededKeyPairs(4)
    alice, bob = make_party("alice", source), make_party("bob", source)
    bundle = bob.bundle()
    forged = dataclasses.replace(
        bundle, signed_prekey_signature=bytes(64 - 1) + bundle.signed_prekey_signature[-1:]
    )
    with pytest.raises(InvalidSignatureError):
        session.initiate_session(
            None, forged, identity=alice.identity, registration_id=1, new_key_pair=source
        )
    other = make_party("mallory", source)
    with pytest.raises(InvalidSignatureError):
        session.initiate_session(
            None,
            dataclasses.replace(bundle, identity_key=other.identity.public),
            identity=alice.identity,
            registration_id=1,
        )


def test_missing_prekeys_are_reported() -> None:
    alice, bob, source = connected_pair()
    message = alice.encrypt("bob", b"x")
    del bob.prekeys[100]
    with pytest.raises(MissingPreKeyError):
        bob.decrypt("alice", message, source)
    parsed = parse_prekey_message(message.body)
    with pytest.raises(MissingPreKeyError):
        session.decrypt_prekey_message(
            None,
            parsed,
            identity=bob.identity,
            registration_id=1,
            signed_prekey=None,
            prekey=None,
        )
    assert "alice" not in bob.sessions


def test_a_used_one_time_prekey_cannot_start_a_second_session() -> None:
    source = SeededKeyPairs(5)
    alice, bob = make_party("alice", source), make_party("bob", source, prekeys=1)
    bundle = bob.bundle()
    alice.initiate(bob, source)
    bob.decrypt("alice", alice.encrypt("bob", b"first"), source)
    replay = session.initiate_session(
        None, bundle, identity=alice.identity, registration_id=1111, new_key_pair=source
    )
    message, _ = session.encrypt(replay, b"second session, same prekey")
    with pytest.raises(MissingPreKeyError):
        bob.decrypt("alice", message, source)


def test_out_of_order_within_a_chain_and_across_ratchet_steps() -> None:
    alice, bob, source = talking_pair()
    early = [alice.encrypt("bob", f"a{i}".encode()) for i in range(5)]
    assert bob.decrypt("alice", early[4], source) == b"a4"
    reply = bob.encrypt("alice", b"b0")
    assert alice.decrypt("bob", reply, source) == b"b0"
    late = alice.encrypt("bob", b"a-new-chain")
    assert bob.decrypt("alice", late, source) == b"a-new-chain"
    for index in (2, 0, 3, 1):
        assert bob.decrypt("alice", early[index], source) == f"a{index}".encode()


def test_duplicates_are_a_distinct_error_and_change_nothing() -> None:
    alice, bob, source = talking_pair()
    message = alice.encrypt("bob", b"once")
    assert bob.decrypt("alice", message, source) == b"once"
    before = bob.session_bytes("alice")
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", message, source)
    assert bob.session_bytes("alice") == before
    assert not issubclass(DuplicateMessageError, DecryptionError)


def test_prekey_message_redelivered_is_a_duplicate() -> None:
    alice, bob, source = connected_pair()
    message = alice.encrypt("bob", b"x")
    bob.decrypt("alice", message, source)
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", message, source)


def test_forward_jump_limit() -> None:
    alice, bob, source = talking_pair()
    for _ in range(MAX_FORWARD_JUMP):
        alice.encrypt("bob", b"lost")
    within = alice.encrypt("bob", b"exactly at the limit")
    beyond = alice.encrypt("bob", b"one past the limit")
    before = bob.session_bytes("alice")
    with pytest.raises(TooFarInFutureError):
        bob.decrypt("alice", beyond, source)
    assert bob.session_bytes("alice") == before
    assert bob.decrypt("alice", within, source) == b"exactly at the limit"


def test_skipped_keys_are_bounded_oldest_first() -> None:
    alice, bob, source = talking_pair()
    held = [alice.encrypt("bob", b"%d" % i) for i in range(MAX_MESSAGE_KEYS + 2)]
    middle = MAX_MESSAGE_KEYS // 2
    assert bob.decrypt("alice", held[middle], source) == b"%d" % middle
    assert bob.decrypt("alice", alice.encrypt("bob", b"last"), source) == b"last"
    chain = bob.sessions["alice"].states[0].receiver_chains[-1]
    assert len(chain.skipped) == MAX_MESSAGE_KEYS
    # One key too many was skipped: the oldest one went.
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", held[0], source)
    assert bob.decrypt("alice", held[1], source) == b"1"
    assert bob.decrypt("alice", held[-1], source) == b"%d" % (MAX_MESSAGE_KEYS + 1)
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", held[middle], source)


def test_receiver_chains_are_bounded() -> None:
    alice, bob, source = talking_pair()
    stale = alice.encrypt("bob", b"from an old chain")
    for turn in range(MAX_RECEIVER_CHAINS + 1):
        bob.decrypt("alice", alice.encrypt("bob", b"turn %d" % turn), source)
        alice.decrypt("bob", bob.encrypt("alice", b"ack"), source)
    chains = bob.sessions["alice"].states[0].receiver_chains
    assert len(chains) == MAX_RECEIVER_CHAINS
    with pytest.raises(InvalidMacError):
        bob.decrypt("alice", stale, source)


def test_tampering_is_detected_and_changes_nothing() -> None:
    alice, bob, source = talking_pair()
    message = alice.encrypt("bob", b"authentic")
    body = message.body
    before = bob.session_bytes("alice")
    for position in (len(body) - 1, len(body) - 20, 40):
        tampered = bytearray(body)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            bob.decrypt("alice", (EncType.MSG, bytes(tampered)), source)
        assert bob.session_bytes("alice") == before
    with pytest.raises(InvalidMacError):
        bob.decrypt("alice", (EncType.MSG, body[:-8] + bytes(8)), source)
    assert bob.decrypt("alice", message, source) == b"authentic"


def test_wrong_versions_and_garbage() -> None:
    alice, bob, source = talking_pair()
    body = alice.encrypt("bob", b"x").body
    for version in (0x23, 0x43, 0x03):
        with pytest.raises(InvalidVersionError):
            bob.decrypt("alice", (EncType.MSG, bytes((version,)) + body[1:]), source)
    with pytest.raises(InvalidMessageError):
        bob.decrypt("alice", (EncType.MSG, body[:9]), source)
    with pytest.raises(InvalidMessageError):
        bob.decrypt("alice", (EncType.MSG, b"\x33\xff\xff\xff" + bytes(8)), source)
    assert bob.decrypt("alice", (EncType.MSG, body), source) == b"x"


def test_message_from_a_stranger() -> None:
    _, bob, source = talking_pair()
    carol_side, _, _ = talking_pair(seed=9)
    message = carol_side.encrypt("bob", b"not for this session")
    with pytest.raises(InvalidMacError):
        bob.decrypt("alice", message, source)
    with pytest.raises(NoSessionForMessageError):
        bob.decrypt("nobody", message, source)
    assert issubclass(NoSessionForMessageError, NoSessionError)


def test_encrypt_without_a_session() -> None:
    with pytest.raises(NoSessionError):
        session.encrypt(SessionRecord(), b"x")


def test_simultaneous_initiation_converges_through_previous_sessions() -> None:
    source = SeededKeyPairs(11)
    alice, bob = make_party("alice", source), make_party("bob", source)
    alice.initiate(bob, source)
    bob.initiate(alice, source)
    from_alice = alice.encrypt("bob", b"alice first")
    from_bob = bob.encrypt("alice", b"bob first")
    assert bob.decrypt("alice", from_alice, source) == b"alice first"
    assert alice.decrypt("bob", from_bob, source) == b"bob first"
    # Each side now holds the other's session as current and its own as previous.
    assert len(alice.sessions["bob"].previous) == 1
    for turn in range(3):
        assert bob.decrypt("alice", alice.encrypt("bob", b"a%d" % turn), source) == b"a%d" % turn
        assert alice.decrypt("bob", bob.encrypt("alice", b"b%d" % turn), source) == b"b%d" % turn


def test_archived_sessions_still_decrypt_and_are_bounded() -> None:
    alice, bob, source = talking_pair()
    late = alice.encrypt("bob", b"sent before the new session")
    for _ in range(MAX_PREVIOUS_SESSIONS + 2):
        bob.initiate(alice, source)
    record = bob.sessions["alice"]
    assert len(record.previous) == MAX_PREVIOUS_SESSIONS
    # The session with the late message was pushed out of the archive.
    with pytest.raises(InvalidMacError):
        bob.decrypt("alice", late, source)

    alice, bob, source = talking_pair(seed=2)
    late = alice.encrypt("bob", b"sent before the new session")
    bob.initiate(alice, source)
    assert bob.decrypt("alice", late, source) == b"sent before the new session"
    assert bob.sessions["alice"].current is not None
    assert bob.sessions["alice"].current.initiated_by_us is False


def test_archive_current_then_message_on_old_session() -> None:
    alice, bob, source = talking_pair()
    bob.sessions["alice"] = bob.sessions["alice"].archive_current()
    assert bob.sessions["alice"].current is None
    with pytest.raises(NoSessionError):
        bob.encrypt("alice", b"x")
    assert bob.decrypt("alice", alice.encrypt("bob", b"late"), source) == b"late"
    assert bob.sessions["alice"].current is not None


def test_ratchet_draws_only_after_authentication() -> None:
    alice, bob, source = talking_pair()
    bob.decrypt("alice", alice.encrypt("bob", b"x"), source)
    reply = bob.encrypt("alice", b"new ratchet key")
    forged = reply.body[:-8] + bytes(8)
    drawn = source.drawn
    with pytest.raises(InvalidMacError):
        alice.decrypt("bob", (EncType.MSG, forged), source)
    assert source.drawn == drawn
    assert alice.decrypt("bob", reply, source) == b"new ratchet key"
    assert source.drawn == drawn + 1


def test_previous_counter_is_the_last_index_of_the_replaced_chain() -> None:
    alice, bob, source = talking_pair()
    for _ in range(3):
        bob.decrypt("alice", alice.encrypt("bob", b"x"), source)
    alice.decrypt("bob", bob.encrypt("alice", b"turn"), source)
    message = parse_signal_message(alice.encrypt("bob", b"y").body)
    # Alice's replaced chain carried three messages, indexes 0..2.
    assert message.previous_counter == 2
    assert message.counter == 0


def test_altered_identity_in_a_repeated_prekey_message_is_refused() -> None:
    alice, bob, source = connected_pair()
    bob.decrypt("alice", alice.encrypt("bob", b"first"), source)
    second = alice.encrypt("bob", b"second")
    parsed = parse_prekey_message(second.body)
    forged = build_prekey_message(
        registration_id=parsed.registration_id,
        prekey_id=parsed.prekey_id,
        signed_prekey_id=parsed.signed_prekey_id,
        base_key=parsed.base_key,
        identity_key=make_party("mallory", source).identity.public,
        message=parsed.message,
    )
    with pytest.raises(DecryptionError):
        bob.decrypt("alice", (EncType.PKMSG, forged.serialized), source)
    assert bob.decrypt("alice", second, source) == b"second"
