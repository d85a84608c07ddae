"""The async adapter over the in-memory store: commit or hand back the writes, trust, groups."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from signal_parties import SeededKeyPairs

from daemon.signal import keys
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.cipher import GroupCipher, SessionCipher
from daemon.signal.errors import (
    DuplicateMessageError,
    InvalidMacError,
    NoSessionError,
    UntrustedIdentityError,
)
from daemon.signal.keys import PreKeyBundle
from daemon.signal.memory_store import InMemorySignalStore
from daemon.signal.messages import parse_prekey_message
from daemon.signal.session import EncType

ALICE = ProtocolAddress("15550001111", 0)
BOB = ProtocolAddress("15550002222_1", 3)


@dataclass
class Device:
    store: InMemorySignalStore
    sessions: SessionCipher
    groups: GroupCipher


async def _device(source: SeededKeyPairs, registration_id: int, **store_options: bool) -> Device:
    identity = keys.generate_identity_key_pair(source)
    store = InMemorySignalStore(identity, registration_id, **store_options)
    await store.store_signed_prekey(keys.generate_signed_prekey(identity, 1, source))
    await store.store_prekeys(keys.generate_prekeys(1, 2, source))
    return Device(
        store, SessionCipher(store, new_key_pair=source), GroupCipher(store, new_key_pair=source)
    )


async def _bundle(device: Device) -> PreKeyBundle:
    store = device.store
    signed = await store.load_signed_prekey(1)
    prekey = await store.load_prekey(min(store.prekeys))
    assert signed is not None and prekey is not None
    return PreKeyBundle(
        registration_id=await store.get_local_registration_id(),
        identity_key=(await store.get_identity_key_pair()).public,
        signed_prekey_id=1,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
        prekey_id=prekey.key_id,
        prekey=prekey.key_pair.public,
    )


async def _pair(**bob_options: bool) -> tuple[Device, Device]:
    source = SeededKeyPairs(7)
    alice = await _device(source, 1111)
    bob = await _device(source, 2222, **bob_options)
    await alice.sessions.process_bundle(BOB, await _bundle(bob))
    return alice, bob


async def test_conversation_commits_every_step() -> None:
    alice, bob = await _pair()
    assert await alice.sessions.has_session(BOB)
    assert alice.store.identities[BOB] == (await bob.store.get_identity_key_pair()).public
    first = await alice.sessions.encrypt(BOB, b"hello")
    assert first.message.type is EncType.PKMSG
    decrypted = await bob.sessions.decrypt(ALICE, "pkmsg", first.message.body)
    assert decrypted.plaintext == b"hello"
    assert decrypted.changes.removed_prekeys == (1,)
    assert 1 not in bob.store.prekeys
    assert bob.store.identities[ALICE] == (await alice.store.get_identity_key_pair()).public
    reply = await bob.sessions.encrypt(ALICE, b"hi")
    assert reply.message.type is EncType.MSG
    assert (await alice.sessions.decrypt(BOB, EncType.MSG, reply.message.body)).plaintext == b"hi"
    assert (await alice.sessions.encrypt(BOB, b"acknowledged")).message.type is EncType.MSG
    with pytest.raises(DuplicateMessageError):
        await bob.sessions.decrypt(ALICE, "pkmsg", first.message.body)


async def test_uncommitted_changes_are_returned_not_written() -> None:
    alice, bob = await _pair()
    sessions_before = dict(alice.store.sessions)
    first = await alice.sessions.encrypt(BOB, b"x", commit=False)
    assert alice.store.sessions == sessions_before
    again = await alice.sessions.encrypt(BOB, b"x", commit=False)
    assert again.message.body == first.message.body  # same state, same output
    await alice.store.commit(first.changes)
    assert alice.store.sessions != sessions_before

    decrypted = await bob.sessions.decrypt(ALICE, "pkmsg", first.message.body, commit=False)
    assert decrypted.plaintext == b"x"
    assert ALICE not in bob.store.sessions and 1 in bob.store.prekeys
    assert [address for address, _ in decrypted.changes.sessions] == [ALICE]
    await bob.store.commit(decrypted.changes)
    assert ALICE in bob.store.sessions and 1 not in bob.store.prekeys


async def test_failed_decrypt_writes_nothing() -> None:
    alice, bob = await _pair()
    first = await alice.sessions.encrypt(BOB, b"x")
    await bob.sessions.decrypt(ALICE, "pkmsg", first.message.body)
    message = await alice.sessions.encrypt(BOB, b"y")
    snapshot = dict(bob.store.sessions)
    body = message.message.body
    inner = parse_prekey_message(body).message.serialized
    tampered = bytearray(body)
    tampered[body.index(inner) + len(inner) - 1] ^= 1  # the inner message's MAC
    with pytest.raises(InvalidMacError):
        await bob.sessions.decrypt(ALICE, "pkmsg", bytes(tampered))
    assert bob.store.sessions == snapshot


async def test_changed_identity_is_refused_by_a_strict_store() -> None:
    alice, bob = await _pair()
    await bob.sessions.decrypt(
        ALICE, "pkmsg", (await alice.sessions.encrypt(BOB, b"x")).message.body
    )
    source = SeededKeyPairs(99)
    new_alice = await _device(source, 1111)
    await new_alice.sessions.process_bundle(BOB, await _bundle(bob))
    reinstalled = await new_alice.sessions.encrypt(BOB, b"new install")
    with pytest.raises(UntrustedIdentityError):
        await bob.sessions.decrypt(ALICE, "pkmsg", reinstalled.message.body)


async def test_changed_identity_is_accepted_when_configured() -> None:
    alice, bob = await _pair(accept_identity_changes=True)
    await bob.sessions.decrypt(
        ALICE, "pkmsg", (await alice.sessions.encrypt(BOB, b"x")).message.body
    )
    new_alice = await _device(SeededKeyPairs(99), 1111)
    await new_alice.sessions.process_bundle(BOB, await _bundle(bob))
    reinstalled = await new_alice.sessions.encrypt(BOB, b"new install")
    decrypted = await bob.sessions.decrypt(ALICE, "pkmsg", reinstalled.message.body)
    assert decrypted.plaintext == b"new install"
    assert bob.store.identities[ALICE] == (await new_alice.store.get_identity_key_pair()).public


async def test_untrusted_bundle_is_refused() -> None:
    alice, _ = await _pair()
    other = await _device(SeededKeyPairs(5), 3333)
    with pytest.raises(UntrustedIdentityError):
        await alice.sessions.process_bundle(BOB, await _bundle(other))


async def test_encrypt_without_session_and_close_session() -> None:
    alice, bob = await _pair()
    with pytest.raises(NoSessionError):
        await bob.sessions.encrypt(ALICE, b"x")
    changes = await alice.sessions.close_session(BOB)
    assert not changes.is_empty
    assert not await alice.sessions.has_session(BOB)
    assert (await alice.sessions.close_session(BOB)).is_empty
    with pytest.raises(ValueError):
        await alice.sessions.decrypt(BOB, "skmsg", b"\x33")


async def test_group_flow() -> None:
    alice, bob = await _pair()
    name = SenderKeyName("120363000000000001@g.us", ALICE)
    distribution = await alice.groups.distribution_message(name)
    assert not distribution.changes.is_empty
    again = await alice.groups.distribution_message(name)
    assert again.changes.is_empty
    assert again.message.serialized == distribution.message.serialized
    processed = await bob.groups.process_distribution(name, distribution.message.serialized)
    assert not processed.is_empty
    assert (await bob.groups.process_distribution(name, distribution.message)).is_empty
    sent = await alice.groups.encrypt(name, b"to the group")
    received = await bob.groups.decrypt(name, sent.ciphertext, commit=False)
    assert received.plaintext == b"to the group"
    await bob.store.commit(received.changes)
    with pytest.raises(DuplicateMessageError):
        await bob.groups.decrypt(name, sent.ciphertext)
    with pytest.raises(NoSessionError):
        await bob.groups.encrypt(SenderKeyName("other@g.us", BOB), b"x")
