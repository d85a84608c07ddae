"""daemon.client.signal_store keeps decoded session records and identities of committed state:
a warm encrypt reads no record from storage, a rolled-back write leaves the committed record,
deletes and moves behind its back drop what it kept. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

import pytest
from backends import OpenEngine

from daemon.client.credentials import credentials_for_pairing
from daemon.client.signal_stage import StagedSignalStore
from daemon.client.signal_store import AuthSignalStore
from daemon.signal import (
    InMemorySignalStore,
    PreKeyBundle,
    ProtocolAddress,
    SessionCipher,
    generate_key_pair,
    generate_prekeys,
    generate_registration_id,
    generate_signed_prekey,
)
from daemon.signal.records import deserialize_session_record
from daemon.signal.session import EncryptedMessage
from daemon.signal.state import SessionRecord
from storage.engine import SqlEngine
from storage.interfaces import SignalSessionRepo
from storage.sqlite import SqliteStore

OURS = ProtocolAddress("15550001111", 1)
PEER = ProtocolAddress("15550002222", 0)


class CountingSessions:
    """The real repository, counting the records read from storage."""

    def __init__(self, inner: SignalSessionRepo) -> None:
        self.inner = inner
        self.loads = 0

    async def load(self, session_id: str, address: str) -> bytes | None:
        self.loads += 1
        return await self.inner.load(session_id, address)

    async def load_many(self, session_id: str, addresses: Iterable[str]) -> dict[str, bytes]:
        self.loads += 1
        return await self.inner.load_many(session_id, addresses)

    async def store(self, session_id: str, address: str, record: bytes) -> None:
        await self.inner.store(session_id, address, record)

    async def store_many(self, session_id: str, records: Sequence[tuple[str, bytes]]) -> None:
        await self.inner.store_many(session_id, records)

    async def delete(self, session_id: str, address: str) -> bool:
        return await self.inner.delete(session_id, address)

    async def delete_all_for_user(self, session_id: str, user: str) -> int:
        return await self.inner.delete_all_for_user(session_id, user)


class CountingStore(SqliteStore):
    def __init__(self, db: SqlEngine) -> None:
        super().__init__(db)
        self.counting = CountingSessions(super().signal_sessions)

    @property
    def signal_sessions(self) -> SignalSessionRepo:
        return self.counting


class Boom(Exception):
    pass


@pytest.fixture
async def store(open_engine: OpenEngine) -> AsyncIterator[CountingStore]:
    opened = CountingStore(await open_engine())
    await opened.sessions.create("s")
    await credentials_for_pairing(opened, "s")
    yield opened
    await opened.close()


async def peer_with_session(signal: AuthSignalStore) -> tuple[InMemorySignalStore, SessionCipher]:
    """A peer whose bundle we processed: we hold a session with it, committed."""
    peer = InMemorySignalStore(generate_key_pair(), generate_registration_id())
    identity = await peer.get_identity_key_pair()
    signed = generate_signed_prekey(identity, 1)
    await peer.store_signed_prekey(signed)
    prekeys = generate_prekeys(1, 1)
    await peer.store_prekeys(prekeys)
    bundle = PreKeyBundle(
        registration_id=await peer.get_local_registration_id(),
        identity_key=identity.public,
        signed_prekey_id=1,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
        prekey_id=prekeys[0].key_id,
        prekey=prekeys[0].key_pair.public,
    )
    staged = StagedSignalStore(signal)
    await SessionCipher(staged).process_bundle(PEER, bundle)
    signal.settled(await signal.write(staged.changes()))
    return peer, SessionCipher(peer)


async def send(store: SqliteStore, signal: AuthSignalStore, text: bytes) -> EncryptedMessage:
    """Encrypts as the send path does: staged, written in a transaction, settled after it."""
    staged = StagedSignalStore(signal)
    encrypted = await SessionCipher(staged).encrypt(PEER, text)
    async with store.transaction():
        written = await signal.write(staged.changes())
    signal.settled(written)
    return encrypted.message


async def stored_record(store: CountingStore) -> SessionRecord | None:
    data = await store.counting.inner.load("s", str(PEER))
    return None if data is None else deserialize_session_record(data)


async def test_a_warm_send_reads_no_session_record(store: CountingStore) -> None:
    signal = AuthSignalStore(store, "s")
    _, peer_cipher = await peer_with_session(signal)
    store.counting.loads = 0
    for n in range(3):
        sent = await send(store, signal, b"hello %d" % n)
        decrypted = await peer_cipher.decrypt(OURS, sent.type, sent.body)
        assert decrypted.plaintext == b"hello %d" % n
    assert store.counting.loads == 0
    assert await signal.load_session(PEER) == await stored_record(store)


async def test_a_rolled_back_write_leaves_the_committed_record(store: CountingStore) -> None:
    signal = AuthSignalStore(store, "s")
    _, peer_cipher = await peer_with_session(signal)
    sent = await send(store, signal, b"first")
    await peer_cipher.decrypt(OURS, sent.type, sent.body)
    committed = await stored_record(store)

    staged = StagedSignalStore(signal)
    await SessionCipher(staged).encrypt(PEER, b"never sent")
    with pytest.raises(Boom):
        async with store.transaction():
            await signal.write(staged.changes())
            raise Boom
    assert await stored_record(store) == committed
    assert await signal.load_session(PEER) == committed

    sent = await send(store, signal, b"second")
    assert (await peer_cipher.decrypt(OURS, sent.type, sent.body)).plaintext == b"second"
    assert await signal.load_session(PEER) == await stored_record(store)


async def test_deletes_and_changes_behind_its_back_are_not_served_from_memory(
    store: CountingStore,
) -> None:
    signal = AuthSignalStore(store, "s")
    await peer_with_session(signal)
    assert await signal.load_session(PEER) is not None

    await signal.delete_session(PEER)
    assert await signal.load_session(PEER) is None

    await peer_with_session(signal)
    # An identity change deletes every session of the user in one statement.
    async with store.transaction():
        await store.signal_sessions.delete_all_for_user("s", PEER.name)
        signal.forget_all()
    assert await signal.load_session(PEER) is None
    assert await signal.get_identity(PEER) is not None
