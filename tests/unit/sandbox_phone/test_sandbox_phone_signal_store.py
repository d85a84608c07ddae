"""The phone's Signal store: a full session over it, and a restart that keeps the session."""

from __future__ import annotations

from daemon.signal import (
    Direction,
    GroupCipher,
    PreKeyBundle,
    ProtocolAddress,
    SenderKeyName,
    SessionCipher,
    generate_identity_key_pair,
    generate_prekeys,
    generate_signed_prekey,
)
from sandbox.phone.signal_store import PREKEYS, SESSIONS, PhoneSignalStore

ANN = ProtocolAddress("111_1", 0)
BOB = ProtocolAddress("222_1", 0)


class DictPhoneStore:
    """``sandbox.network.PhoneStore`` in a dict, as the SQL one behaves."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], bytes] = {}

    async def get(self, namespace: str, key: str) -> bytes | None:
        return self.data.get((namespace, key))

    async def put(self, namespace: str, key: str, value: bytes) -> None:
        self.data[(namespace, key)] = value

    async def delete(self, namespace: str, key: str) -> None:
        self.data.pop((namespace, key), None)

    async def items(self, namespace: str) -> dict[str, bytes]:
        return {k: v for (n, k), v in self.data.items() if n == namespace}


async def _party(backend: DictPhoneStore) -> tuple[PhoneSignalStore, PreKeyBundle]:
    identity = generate_identity_key_pair()
    store = PhoneSignalStore(backend, identity, registration_id=99)
    await store.load()
    signed = generate_signed_prekey(identity, 1)
    prekeys = generate_prekeys(10, 2)
    await store.store_signed_prekey(signed)
    await store.store_prekeys(prekeys)
    bundle = PreKeyBundle(
        registration_id=99,
        identity_key=identity.public,
        signed_prekey_id=1,
        signed_prekey=signed.key_pair.public,
        signed_prekey_signature=signed.signature,
        prekey_id=10,
        prekey=prekeys[0].key_pair.public,
    )
    return store, bundle


async def test_session_over_the_store_survives_a_reload() -> None:
    ann_backend, bob_backend = DictPhoneStore(), DictPhoneStore()
    ann, _ = await _party(ann_backend)
    bob, bob_bundle = await _party(bob_backend)
    assert bob.prekey_ids() == [10, 11]

    ann_cipher, bob_cipher = SessionCipher(ann), SessionCipher(bob)
    await ann_cipher.process_bundle(BOB, bob_bundle)
    first = await ann_cipher.encrypt(BOB, b"hello")
    assert first.message.type == "pkmsg"
    received = await bob_cipher.decrypt(ANN, first.message.type, first.message.body)
    assert received.plaintext == b"hello"
    # The one-time prekey is gone from memory and from the backend.
    assert bob.prekey_ids() == [11]
    assert await bob_backend.get(PREKEYS, "10") is None
    assert await bob.get_identity(ANN) is not None

    # Bob restarts: a new store over the same backend holds the session.
    identity = await bob.get_identity_key_pair()
    restarted = PhoneSignalStore(bob_backend, identity, registration_id=99)
    await restarted.load()
    assert await bob_backend.get(SESSIONS, str(ANN)) is not None
    reply = await SessionCipher(restarted).encrypt(ANN, b"hi back")
    assert reply.message.type == "msg"
    assert (await ann_cipher.decrypt(BOB, "msg", reply.message.body)).plaintext == b"hi back"


async def test_sender_keys_persist_and_can_be_dropped() -> None:
    backend = DictPhoneStore()
    store, _ = await _party(backend)
    name = SenderKeyName("120363000000000001@g.us", ANN)
    groups = GroupCipher(store)
    distribution = await groups.distribution_message(name)
    ciphertext = (await groups.encrypt(name, b"to the group")).ciphertext

    receiver_store, _ = await _party(DictPhoneStore())
    receiver = GroupCipher(receiver_store)
    await receiver.process_distribution(name, distribution.message.serialized)
    assert (await receiver.decrypt(name, ciphertext)).plaintext == b"to the group"

    reloaded = PhoneSignalStore(backend, await store.get_identity_key_pair(), 99)
    await reloaded.load()
    assert await reloaded.load_sender_key(name) is not None
    await reloaded.delete_sender_key(name)
    assert await reloaded.load_sender_key(name) is None
    fresh = PhoneSignalStore(backend, await store.get_identity_key_pair(), 99)
    await fresh.load()
    assert await fresh.load_sender_key(name) is None


async def test_phone_trusts_changed_identities() -> None:
    store, _ = await _party(DictPhoneStore())
    first, second = generate_identity_key_pair(), generate_identity_key_pair()
    assert await store.is_trusted_identity(ANN, first.public, Direction.RECEIVING)
    assert await store.is_trusted_identity(ANN, second.public, Direction.SENDING)


async def test_prekey_ids_are_never_reused_across_restarts() -> None:
    backend = DictPhoneStore()
    store, _ = await _party(backend)
    first = await store.allocate_prekey_ids(5)
    second = await store.allocate_prekey_ids(3)
    assert (first, second) == (1, 6)
    reloaded = PhoneSignalStore(backend, await store.get_identity_key_pair(), 99)
    await reloaded.load()
    assert await reloaded.allocate_prekey_ids(1) == 9


async def test_signed_prekey_is_decoded_once_and_replaced_by_a_new_one() -> None:
    backend = DictPhoneStore()
    store, _ = await _party(backend)
    first = await store.load_signed_prekey(1)
    assert first is not None
    # Every repeated prekey message names it: the decoded value is kept, not decoded again.
    assert await store.load_signed_prekey(1) is first
    replacement = generate_signed_prekey(await store.get_identity_key_pair(), 1)
    await store.store_signed_prekey(replacement)
    assert await store.load_signed_prekey(1) == replacement
    assert await store.load_signed_prekey(2) is None
    reloaded = PhoneSignalStore(backend, await store.get_identity_key_pair(), 99)
    await reloaded.load()
    assert await reloaded.load_signed_prekey(1) == replacement
