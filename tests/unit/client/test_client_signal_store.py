"""daemon.client.signal_store: our device's Signal state on SQLite, talking to an in-memory peer
through the real ciphers; writes are atomic and survive reopening the file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import OpenEngine

from daemon.client.credentials import credentials_for_pairing
from daemon.client.signal_store import AuthSignalStore, SignedPreKeyRotationUnsupported
from daemon.signal import (
    GroupCipher,
    InMemorySignalStore,
    PreKeyBundle,
    ProtocolAddress,
    SenderKeyName,
    SessionCipher,
    StoreChanges,
    generate_key_pair,
    generate_prekeys,
    generate_registration_id,
    generate_signed_prekey,
)
from daemon.signal.keys import SignedPreKey
from daemon.signal.store import Direction
from storage.sqlite import SqliteStore
from storage.values import PreKey

OURS = ProtocolAddress("15550001111", 1)
PEER = ProtocolAddress("15550002222", 0)


@pytest.fixture
async def store(open_engine: OpenEngine) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(await open_engine())
    await opened.sessions.create("s")
    await credentials_for_pairing(opened, "s")
    yield opened
    await opened.close()


async def our_bundle(store: SqliteStore, signal: AuthSignalStore) -> PreKeyBundle:
    credentials = await store.credentials.load("s")
    assert credentials is not None
    ids = await store.credentials.allocate_prekey_ids("s", 2)
    await signal.store_prekeys(generate_prekeys(ids.start, 2))
    prekey = await signal.load_prekey(ids.start)
    signed = await signal.load_signed_prekey(1)
    assert prekey is not None and signed is not None
    return PreKeyBundle(
        registration_id=await signal.get_local_registration_id(),
        identity_key=(await signal.get_identity_key_pair()).public,
        signed_prekey_id=signed.key_id,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
        prekey_id=prekey.key_id,
        prekey=prekey.key_pair.public,
    )


def peer_store() -> InMemorySignalStore:
    return InMemorySignalStore(generate_key_pair(), generate_registration_id())


async def test_a_peer_starts_a_session_with_us_and_we_answer(store: SqliteStore) -> None:
    signal = AuthSignalStore(store, "s")
    peer = peer_store()
    peer_cipher = SessionCipher(peer)
    await peer_cipher.process_bundle(OURS, await our_bundle(store, signal))
    first = await peer_cipher.encrypt(OURS, b"hello")

    ours = SessionCipher(signal)
    decrypted = await ours.decrypt(PEER, first.message.type, first.message.body)
    assert decrypted.plaintext == b"hello"
    # The one-time prekey is consumed and the peer's identity remembered, atomically.
    assert await store.prekeys.count("s") == 1
    assert await signal.get_identity(PEER) == (await peer.get_identity_key_pair()).public
    reply = await ours.encrypt(PEER, b"hi back")
    assert (await peer_cipher.decrypt(OURS, reply.message.type, reply.message.body)).plaintext == (
        b"hi back"
    )

    # A fresh store, with nothing cached, continues the ratchet from what was persisted.
    again = SessionCipher(AuthSignalStore(SqliteStore(store.db), "s"))
    later = await peer_cipher.encrypt(OURS, b"still there")
    assert (await again.decrypt(PEER, later.message.type, later.message.body)).plaintext == (
        b"still there"
    )


async def test_commit_is_all_or_nothing(store: SqliteStore) -> None:
    signal = AuthSignalStore(store, "s")
    await store.prekeys.add_batch("s", [PreKey(7, b"\x01" * 32, b"\x02" * 32)])
    peer_identity = generate_key_pair()
    signed = generate_signed_prekey(peer_identity, 1)
    bundle = PreKeyBundle(
        registration_id=5,
        identity_key=peer_identity.public,
        signed_prekey_id=1,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
    )
    good = await SessionCipher(signal).process_bundle(PEER, bundle, commit=False)
    assert good.sessions and await signal.load_session(PEER) is None
    # The session is written first, then the identity fails: the session must go too.
    bad = StoreChanges(sessions=good.sessions, identities=((PEER, b"short"),), removed_prekeys=(7,))
    with pytest.raises(ValueError):
        await signal.commit(bad)
    assert await signal.load_session(PEER) is None
    assert await store.prekeys.get("s", 7) is not None
    assert await signal.get_identity(PEER) is None
    await signal.commit(good)
    assert await signal.load_session(PEER) is not None


async def test_trust_on_first_use_changes_accepted_untrusted_refused(store: SqliteStore) -> None:
    signal = AuthSignalStore(store, "s")
    first, second = generate_key_pair().public, generate_key_pair().public
    assert await signal.is_trusted_identity(PEER, first, Direction.RECEIVING)
    await signal.commit(StoreChanges(identities=((PEER, first),)))
    assert await signal.is_trusted_identity(PEER, first, Direction.SENDING)
    assert await signal.is_trusted_identity(PEER, second, Direction.SENDING)
    await signal.set_trusted(PEER, False)
    assert not await signal.is_trusted_identity(PEER, first, Direction.SENDING)
    # Marked in storage directly (a daemon that was stopped): refused after a restart too.
    await store.identities.set_trusted("s", str(PEER), True)
    await store.identities.set_trusted("s", str(PEER), False)
    assert not await AuthSignalStore(store, "s").is_trusted_identity(PEER, first, Direction.SENDING)


async def test_sender_keys_round_trip(store: SqliteStore) -> None:
    signal = AuthSignalStore(store, "s")
    name = SenderKeyName("123-456@g.us", OURS)
    groups = GroupCipher(signal)
    distribution = await groups.distribution_message(name)
    sealed = await groups.encrypt(name, b"to the group")
    peer_groups = GroupCipher(peer_store())
    await peer_groups.process_distribution(name, distribution.message)
    assert (await peer_groups.decrypt(name, sealed.ciphertext)).plaintext == b"to the group"
    assert await store.sender_keys.load("s", name.group_id, str(OURS)) is not None


async def test_signed_prekey_is_the_identitys_own(store: SqliteStore) -> None:
    signal = AuthSignalStore(store, "s")
    own = await signal.load_signed_prekey(1)
    assert own is not None
    assert await signal.load_signed_prekey(2) is None
    await signal.store_signed_prekey(own)  # storing what is there is a no-op
    identity = await signal.get_identity_key_pair()
    other: SignedPreKey = generate_signed_prekey(identity, 2)
    with pytest.raises(SignedPreKeyRotationUnsupported):
        await signal.store_signed_prekey(other)


async def test_delete_session(store: SqliteStore) -> None:
    signal = AuthSignalStore(store, "s")
    peer = peer_store()
    peer_cipher = SessionCipher(peer)
    await peer_cipher.process_bundle(OURS, await our_bundle(store, signal))
    message = await peer_cipher.encrypt(OURS, b"x")
    await SessionCipher(signal).decrypt(PEER, message.message.type, message.message.body)
    assert await signal.load_session(PEER) is not None
    await signal.delete_session(PEER)
    assert await signal.load_session(PEER) is None
