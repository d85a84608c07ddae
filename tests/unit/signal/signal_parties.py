"""Test parties for the Signal tests: long-lived keys, bundles, and a seeded key pair source."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from daemon.signal import keys, records, session
from daemon.signal.curve import KeyPair, clamp
from daemon.signal.keys import PreKey, PreKeyBundle, SignedPreKey
from daemon.signal.messages import parse_prekey_message
from daemon.signal.state import SessionRecord


class SeededKeyPairs:
    """Reproducible key pairs (hypothesis shrinks better when randomness is seeded)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self.drawn = 0

    def __call__(self) -> KeyPair:
        self.drawn += 1
        return KeyPair.from_private(clamp(self._random.randbytes(32)))


@dataclass(slots=True)
class Party:
    """One device: its keys and its session records with the others, by name."""

    name: str
    identity: KeyPair
    registration_id: int
    signed_prekey: SignedPreKey
    prekeys: dict[int, PreKey]
    sessions: dict[str, SessionRecord] = field(default_factory=dict)

    def bundle(self, *, with_prekey: bool = True) -> PreKeyBundle:
        prekey = next(iter(self.prekeys.values())) if with_prekey and self.prekeys else None
        return PreKeyBundle(
            registration_id=self.registration_id,
            identity_key=self.identity.public,
            signed_prekey_id=self.signed_prekey.key_id,
            signed_prekey=self.signed_prekey.key_pair.public,
            signed_prekey_signature=self.signed_prekey.signature,
            prekey_id=None if prekey is None else prekey.key_id,
            prekey=None if prekey is None else prekey.key_pair.public,
        )

    def initiate(self, peer: Party, source: SeededKeyPairs, *, with_prekey: bool = True) -> None:
        self.sessions[peer.name] = session.initiate_session(
            self.sessions.get(peer.name),
            peer.bundle(with_prekey=with_prekey),
            identity=self.identity,
            registration_id=self.registration_id,
            new_key_pair=source,
        )

    def encrypt(self, peer: str, plaintext: bytes) -> session.EncryptedMessage:
        message, self.sessions[peer] = session.encrypt(self.sessions[peer], plaintext)
        return message

    def decrypt(
        self,
        peer: str,
        message: session.EncryptedMessage | tuple[session.EncType, bytes],
        source: SeededKeyPairs,
    ) -> bytes:
        enc_type, body = (
            (message.type, message.body)
            if isinstance(message, session.EncryptedMessage)
            else message
        )
        if enc_type is session.EncType.PKMSG:
            parsed = parse_prekey_message(body)
            result = session.decrypt_prekey_message(
                self.sessions.get(peer),
                parsed,
                identity=self.identity,
                registration_id=self.registration_id,
                signed_prekey=self.signed_prekey,
                prekey=None if parsed.prekey_id is None else self.prekeys.get(parsed.prekey_id),
                new_key_pair=source,
            )
            if result.used_prekey_id is not None:
                del self.prekeys[result.used_prekey_id]
            self.sessions[peer] = result.record
            return result.plaintext
        plaintext, self.sessions[peer] = session.decrypt(
            self.sessions.get(peer), body, new_key_pair=source
        )
        return plaintext

    def session_bytes(self, peer: str) -> bytes | None:
        record = self.sessions.get(peer)
        return None if record is None else records.serialize_session_record(record)


def make_party(
    name: str, source: SeededKeyPairs, *, registration_id: int = 1234, prekeys: int = 3
) -> Party:
    identity = keys.generate_identity_key_pair(source)
    signed = keys.generate_signed_prekey(identity, 7, source)
    return Party(
        name,
        identity,
        registration_id,
        signed,
        {prekey.key_id: prekey for prekey in keys.generate_prekeys(100, prekeys, source)},
    )


def connected_pair(seed: int = 1) -> tuple[Party, Party, SeededKeyPairs]:
    """Alice with a session to Bob, Bob with none yet."""
    source = SeededKeyPairs(seed)
    alice = make_party("alice", source, registration_id=1111)
    bob = make_party("bob", source, registration_id=2222)
    alice.initiate(bob, source)
    return alice, bob, source


def talking_pair(seed: int = 1) -> tuple[Party, Party, SeededKeyPairs]:
    """Alice and Bob after a first message and reply: both sides send ``msg`` now."""
    alice, bob, source = connected_pair(seed)
    bob.decrypt("alice", alice.encrypt("bob", b"hello"), source)
    alice.decrypt("bob", bob.encrypt("alice", b"hi"), source)
    return alice, bob, source
