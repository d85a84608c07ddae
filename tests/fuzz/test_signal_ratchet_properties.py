"""Property tests: parties exchanging messages over a network that reorders, duplicates and drops.

Invariant: every message whose keys are still within libsignal's limits decrypts exactly once,
to what was sent; a repeat is a ``DuplicateMessageError``; a message beyond the limits (its
receiving chain was dropped after five newer ones) is an ``InvalidMacError``; and a failed
decrypt leaves the receiver's state byte for byte as it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.signal import group, keys, records, session
from daemon.signal.curve import KeyPair, clamp
from daemon.signal.errors import DuplicateMessageError, InvalidMacError, TooFarInFutureError
from daemon.signal.group import SenderKeyRecord
from daemon.signal.messages import parse_prekey_message, parse_signal_message
from daemon.signal.session import EncType
from daemon.signal.state import MAX_FORWARD_JUMP, MAX_RECEIVER_CHAINS, SessionRecord

SETTINGS = settings(max_examples=40, deadline=None)


class SeededKeyPairs:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def __call__(self) -> KeyPair:
        return KeyPair.from_private(clamp(self._random.randbytes(32)))


@dataclass(slots=True)
class Party:
    name: str
    identity: KeyPair
    signed_prekey: keys.SignedPreKey
    prekeys: dict[int, keys.PreKey]
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    seen_ratchet_keys: dict[str, set[bytes]] = field(default_factory=dict)
    own_sender_key: SenderKeyRecord = field(default_factory=SenderKeyRecord)
    sender_keys: dict[str, SenderKeyRecord] = field(default_factory=dict)
    received: set[tuple[bytes, bytes]] = field(default_factory=set)

    def bundle(self) -> keys.PreKeyBundle:
        prekey = next(iter(self.prekeys.values()))
        return keys.PreKeyBundle(
            registration_id=1,
            identity_key=self.identity.public,
            signed_prekey_id=self.signed_prekey.key_id,
            signed_prekey=self.signed_prekey.key_pair.public,
            signed_prekey_signature=self.signed_prekey.signature,
            prekey_id=prekey.key_id,
            prekey=prekey.key_pair.public,
        )

    def can_send_to(self, peer: str) -> bool:
        record = self.sessions.get(peer)
        return (
            record is not None
            and record.current is not None
            and record.current.sending_chain is not None
        )


@dataclass(frozen=True, slots=True)
class Flight:
    sender: str
    receiver: str
    enc_type: EncType
    body: bytes
    payload: bytes


class World:
    def __init__(self, names: list[str], seed: int) -> None:
        self.source = SeededKeyPairs(seed)
        self.parties: dict[str, Party] = {}
        for name in names:
            identity = keys.generate_identity_key_pair(self.source)
            self.parties[name] = Party(
                name,
                identity,
                keys.generate_signed_prekey(identity, 1, self.source),
                {p.key_id: p for p in keys.generate_prekeys(1, 2, self.source)},
            )
        self.in_flight: list[Flight] = []
        self.counter = 0
        self.delivered = 0

    def connect(self, initiator: str, responder: str) -> None:
        party = self.parties[initiator]
        party.sessions[responder] = session.initiate_session(
            None,
            self.parties[responder].bundle(),
            identity=party.identity,
            registration_id=1,
            new_key_pair=self.source,
        )

    def start_group(self) -> None:
        for party in self.parties.values():
            party.own_sender_key = group.new_own_sender_key(new_key_pair=self.source)
        for sender in self.parties.values():
            skdm = group.distribution_message(sender.own_sender_key)
            for receiver in self.parties.values():
                if receiver is not sender:
                    receiver.sender_keys[sender.name] = group.process_distribution_message(
                        None, skdm
                    )

    def _payload(self, sender: str) -> bytes:
        self.counter += 1
        return f"{sender}#{self.counter}".encode()

    def send(self, sender: str, receiver: str) -> None:
        party = self.parties[sender]
        payload = self._payload(sender)
        message, party.sessions[receiver] = session.encrypt(party.sessions[receiver], payload)
        self.in_flight.append(Flight(sender, receiver, message.type, message.body, payload))

    def send_group(self, sender: str) -> None:
        party = self.parties[sender]
        payload = self._payload(sender)
        body, party.own_sender_key = group.group_encrypt(party.own_sender_key, payload)
        for receiver in self.parties:
            if receiver != sender:
                self.in_flight.append(Flight(sender, receiver, EncType.SKMSG, body, payload))

    def deliver(self, index: int, keep: bool) -> None:
        flight = self.in_flight[index] if keep else self.in_flight.pop(index)
        if flight.enc_type is EncType.SKMSG:
            self._deliver_group(flight)
        else:
            self._deliver_pairwise(flight)
        self.delivered += 1

    def _deliver_group(self, flight: Flight) -> None:
        receiver = self.parties[flight.receiver]
        record = receiver.sender_keys[flight.sender]
        before = records.serialize_sender_key_record(record)
        key = (flight.sender.encode(), flight.payload)
        if key in receiver.received:
            try:
                group.group_decrypt(record, flight.body)
            except DuplicateMessageError:
                assert records.serialize_sender_key_record(record) == before
                return
            raise AssertionError(f"group message {flight.payload!r} decrypted twice")
        plaintext, receiver.sender_keys[flight.sender] = group.group_decrypt(record, flight.body)
        assert plaintext == flight.payload
        receiver.received.add(key)

    def _deliver_pairwise(self, flight: Flight) -> None:
        receiver = self.parties[flight.receiver]
        record = receiver.sessions.get(flight.sender)
        before = None if record is None else records.serialize_session_record(record)
        if flight.enc_type is EncType.PKMSG:
            message = parse_prekey_message(flight.body)
            ratchet_key = message.message.ratchet_key
        else:
            ratchet_key = parse_signal_message(flight.body).ratchet_key
        seen = receiver.seen_ratchet_keys.setdefault(flight.sender, set())
        current = None if record is None else record.current
        chain_kept = current is not None and current.receiver_chain_index(ratchet_key) >= 0
        if ratchet_key in seen and not chain_kept:
            # Its chain was dropped after five newer ones: beyond the limits.
            expected: type[Exception] | None = InvalidMacError
        elif (b"pair", flight.payload) in receiver.received:
            expected = DuplicateMessageError
        else:
            expected = None
        try:
            plaintext = self.decrypt_flight(receiver, flight, record)
        except (DuplicateMessageError, InvalidMacError) as exc:
            assert type(exc) is expected, f"{flight.payload!r}: {exc!r}, expected {expected}"
            after = receiver.sessions.get(flight.sender)
            assert (None if after is None else records.serialize_session_record(after)) == before
            return
        assert expected is None, f"{flight.payload!r} decrypted, expected {expected}"
        assert plaintext == flight.payload
        receiver.received.add((b"pair", flight.payload))
        seen.add(ratchet_key)

    def decrypt_flight(
        self, receiver: Party, flight: Flight, record: SessionRecord | None
    ) -> bytes:
        if flight.enc_type is EncType.PKMSG:
            message = parse_prekey_message(flight.body)
            prekey_id = message.prekey_id
            result = session.decrypt_prekey_message(
                record,
                message,
                identity=receiver.identity,
                registration_id=1,
                signed_prekey=receiver.signed_prekey,
                prekey=None if prekey_id is None else receiver.prekeys.get(prekey_id),
                new_key_pair=self.source,
            )
            if result.used_prekey_id is not None:
                del receiver.prekeys[result.used_prekey_id]
            receiver.sessions[flight.sender] = result.record
            return result.plaintext
        plaintext, receiver.sessions[flight.sender] = session.decrypt(
            record, flight.body, new_key_pair=self.source
        )
        return plaintext


ACTIONS = [
    "send",
    "send",
    "send_group",
    "deliver",
    "deliver",
    "deliver",
    "duplicate",
    "drop",
    "exchange",
]
"""``exchange`` is a message and its reply, both delivered at once: a full ratchet turn, which
makes held-back messages fall out of the five kept receiving chains within a short run."""


def _run(world: World, data: st.DataObject, pairs: list[tuple[str, str]], steps: int) -> None:
    for _ in range(steps):
        action = data.draw(st.sampled_from(ACTIONS))
        if action == "send":
            sender, receiver = data.draw(st.sampled_from(pairs))
            if data.draw(st.booleans()):
                sender, receiver = receiver, sender
            if world.parties[sender].can_send_to(receiver):
                world.send(sender, receiver)
        elif action == "exchange":
            first, second = data.draw(st.sampled_from(pairs))
            for sender, receiver in ((first, second), (second, first)):
                if world.parties[sender].can_send_to(receiver):
                    world.send(sender, receiver)
                    world.deliver(len(world.in_flight) - 1, keep=False)
        elif action == "send_group":
            world.send_group(data.draw(st.sampled_from(sorted(world.parties))))
        elif world.in_flight:
            index = data.draw(st.integers(0, len(world.in_flight) - 1))
            if action == "drop":
                world.in_flight.pop(index)
            else:
                world.deliver(index, keep=action == "duplicate")
    # Whatever is still in flight arrives at last, in a random order.
    while world.in_flight:
        world.deliver(data.draw(st.integers(0, len(world.in_flight) - 1)), keep=False)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32), steps=st.integers(1, 60))
def test_two_parties(data: st.DataObject, seed: int, steps: int) -> None:
    world = World(["alice", "bob"], seed)
    world.connect("alice", "bob")
    world.start_group()
    _run(world, data, [("alice", "bob")], steps)


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**32), steps=st.integers(1, 80))
def test_three_parties(data: st.DataObject, seed: int, steps: int) -> None:
    world = World(["alice", "bob", "carol"], seed)
    world.connect("alice", "bob")
    world.connect("bob", "carol")
    world.connect("carol", "alice")
    world.start_group()
    _run(world, data, [("alice", "bob"), ("bob", "carol"), ("carol", "alice")], steps)


@settings(max_examples=8, deadline=None)
@given(gap=st.integers(MAX_FORWARD_JUMP - 3, MAX_FORWARD_JUMP + 3), seed=st.integers(0, 99))
def test_forward_jump_boundary(gap: int, seed: int) -> None:
    world = World(["alice", "bob"], seed)
    world.connect("alice", "bob")
    alice, bob = world.parties["alice"], world.parties["bob"]
    world.send("alice", "bob")
    world.deliver(0, keep=False)
    for _ in range(gap):
        _, alice.sessions["bob"] = session.encrypt(alice.sessions["bob"], b"lost")
    message, alice.sessions["bob"] = session.encrypt(alice.sessions["bob"], b"after the gap")
    flight = Flight("alice", "bob", message.type, message.body, b"after the gap")
    record = bob.sessions["alice"]
    before = records.serialize_session_record(record)
    if gap <= MAX_FORWARD_JUMP:
        assert world.decrypt_flight(bob, flight, record) == b"after the gap"
    else:
        with pytest.raises(TooFarInFutureError):
            world.decrypt_flight(bob, flight, record)
        assert records.serialize_session_record(bob.sessions["alice"]) == before


@settings(max_examples=20, deadline=None)
@given(turns=st.integers(0, 8), extra=st.integers(0, 3), seed=st.integers(0, 2**32))
def test_message_held_across_ratchet_turns(turns: int, extra: int, seed: int) -> None:
    world = World(["alice", "bob"], seed)
    world.connect("alice", "bob")
    world.send("alice", "bob")
    world.deliver(0, keep=False)
    for _ in range(extra):
        world.send("alice", "bob")
    held = world.in_flight[:]
    world.in_flight.clear()
    for _ in range(turns):
        for sender, receiver in (("bob", "alice"), ("alice", "bob")):
            world.send(sender, receiver)
            world.deliver(len(world.in_flight) - 1, keep=False)
    bob = world.parties["bob"]
    for flight in held:
        world.in_flight.append(flight)
        world.deliver(0, keep=False)  # the oracle in World checks the outcome and the state
        decrypted = (b"pair", flight.payload) in bob.received
        # Bob keeps his five newest receiving chains: the held chain survives four turns.
        assert decrypted is (turns < MAX_RECEIVER_CHAINS)
