"""SqliteCredentialsRepo: identity saved once, never overwritten or reused, damage reported."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from storage_factories import damage, make_device_keys, make_key_pair, make_prekeys

from storage.errors import CorruptAuthState, IdentityExists, NotFound, StorageError
from storage.sqlite import SqliteStore
from storage.values import (
    MAX_PREKEY_ID,
    AppStateSyncKey,
    DeviceKeys,
    KeyPair,
    SignedPreKey,
)

PEER_KEY = b"\x05" + bytes(range(1, 33))


async def paired_store(store: SqliteStore, sid: str = "s") -> DeviceKeys:
    keys = make_device_keys()
    await store.sessions.create(sid)
    await store.credentials.save_new(sid, keys)
    return keys


async def test_save_and_load_round_trip(store: SqliteStore) -> None:
    keys = make_device_keys(registration_id=0xFFFFFFFF)
    await store.sessions.create("s")
    saved = await store.credentials.save_new("s", keys)
    assert saved.keys == keys
    assert saved.session_id == "s"
    assert not saved.is_paired and not saved.retired
    assert saved.next_prekey_id == 1 and not saved.server_has_prekeys
    assert await store.credentials.load("s") == saved
    assert await store.credentials.load("nobody") is None


async def test_secrets_stay_out_of_repr(store: SqliteStore) -> None:
    keys = await paired_store(store)
    loaded = await store.credentials.load("s")
    text = repr(loaded)
    for secret in (keys.noise.private, keys.identity.private, keys.adv_secret):
        assert repr(secret) not in text
    assert repr(keys.identity.public) in text


async def test_existing_identity_is_never_overwritten(store: SqliteStore) -> None:
    original = await paired_store(store)
    with pytest.raises(IdentityExists, match="already has an identity"):
        await store.credentials.save_new("s", make_device_keys())
    loaded = await store.credentials.load("s")
    assert loaded is not None and loaded.keys == original


async def test_keys_of_another_or_retired_identity_are_never_reused(store: SqliteStore) -> None:
    keys = await paired_store(store, "a")
    await store.sessions.create("b")
    with pytest.raises(IdentityExists, match="never reused"):
        await store.credentials.save_new("b", keys)
    await store.credentials.retire("a", "logged out")
    with pytest.raises(IdentityExists, match="never reused"):
        await store.credentials.save_new("a", keys)
    assert await store.credentials.load("a") is None


async def test_save_for_a_missing_session_is_not_found(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        await store.credentials.save_new("ghost", make_device_keys())


async def test_mark_paired_once(store: SqliteStore) -> None:
    await paired_store(store)
    paired = await store.credentials.mark_paired(
        "s",
        signed_device_identity=b"\x0a\x01adv",
        pn_jid="15550001111:3@s.whatsapp.net",
        lid_jid="123456789:3@lid",
        platform="android",
        push_name="Shop",
    )
    assert paired.is_paired and paired.paired_at is not None
    assert (paired.pn_jid, paired.lid_jid, paired.platform, paired.push_name) == (
        "15550001111:3@s.whatsapp.net",
        "123456789:3@lid",
        "android",
        "Shop",
    )
    again = await store.credentials.mark_paired(
        "s",
        signed_device_identity=b"\x0a\x01adv",
        pn_jid="15550001111:3@s.whatsapp.net",
        lid_jid="123456789:3@lid",
        platform="android",
        push_name="Shop",
    )
    assert again == paired
    with pytest.raises(IdentityExists, match="already paired"):
        await store.credentials.mark_paired(
            "s",
            signed_device_identity=b"\x0a\x01adv",
            pn_jid="15559999999:1@s.whatsapp.net",
            lid_jid=None,
            platform=None,
            push_name=None,
        )
    assert await store.credentials.load("s") == paired


async def test_small_updates(store: SqliteStore) -> None:
    await paired_store(store)
    await store.credentials.set_push_name("s", "New Name")
    await store.credentials.set_server_has_prekeys("s", True)
    loaded = await store.credentials.load("s")
    assert loaded is not None
    assert loaded.push_name == "New Name" and loaded.server_has_prekeys
    with pytest.raises(NotFound):
        await store.credentials.set_push_name("ghost", "x")


async def test_prekey_ids_are_allocated_once(store: SqliteStore) -> None:
    await paired_store(store)
    first = await store.credentials.allocate_prekey_ids("s", 812)
    second = await store.credentials.allocate_prekey_ids("s", 50)
    assert first == range(1, 813)
    assert second == range(813, 863)
    loaded = await store.credentials.load("s")
    assert loaded is not None and loaded.next_prekey_id == 863
    with pytest.raises(ValueError):
        await store.credentials.allocate_prekey_ids("s", 0)
    with pytest.raises(NotFound):
        await store.credentials.allocate_prekey_ids("ghost", 1)


async def test_prekey_ids_exhausted_is_an_error_not_a_wrap(store: SqliteStore) -> None:
    await paired_store(store)
    last = await store.credentials.allocate_prekey_ids("s", MAX_PREKEY_ID - 1)
    assert last == range(1, MAX_PREKEY_ID)
    assert await store.credentials.allocate_prekey_ids("s", 1) == range(
        MAX_PREKEY_ID, MAX_PREKEY_ID + 1
    )
    with pytest.raises(StorageError, match="exhausted"):
        await store.credentials.allocate_prekey_ids("s", 1)


async def test_retire_keeps_the_identity_and_drops_its_keys(store: SqliteStore) -> None:
    keys = await paired_store(store)
    await store.prekeys.add_batch("s", make_prekeys(range(1, 4)))
    await store.signal_sessions.store("s", "1.0", b"rec")
    await store.identities.save("s", "1.0", PEER_KEY)
    await store.sender_keys.store("s", "g@g.us", "1.0", b"sk")
    await store.app_state_keys.store("s", AppStateSyncKey(b"k", b"d", b"", 1))

    retired = await store.credentials.retire("s", "401 device_removed")
    assert retired.retired and retired.logged_out_at is not None
    assert retired.retired_reason == "401 device_removed"
    assert retired.keys == keys
    assert await store.credentials.load("s") is None
    assert await store.prekeys.count("s") == 0
    assert await store.signal_sessions.load("s", "1.0") is None
    assert await store.identities.load("s", "1.0") is None
    assert await store.sender_keys.load("s", "g@g.us", "1.0") is None
    assert await store.app_state_keys.latest("s") is None
    with pytest.raises(NotFound):
        await store.credentials.retire("s", "again")

    fresh = make_device_keys()
    await store.credentials.save_new("s", fresh)
    history = await store.credentials.history("s")
    assert [c.keys for c in history] == [keys, fresh]
    assert [c.retired for c in history] == [True, False]


# ------------------------------------------------------------------ damaged rows


async def test_wrong_key_length_is_corrupt_not_missing(store: SqliteStore) -> None:
    await paired_store(store)
    await damage(store.db, "UPDATE device_credentials SET identity_private = ?", (os.urandom(31),))
    with pytest.raises(CorruptAuthState, match="32 bytes, got 31") as caught:
        await store.credentials.load("s")
    assert caught.value.session_id == "s"
    assert caught.value.table == "device_credentials"


async def test_zeroed_secret_is_corrupt(store: SqliteStore) -> None:
    # What a full disk left behind in the wild: a file of zeros where the secrets were.
    await paired_store(store)
    await damage(store.db, "UPDATE device_credentials SET adv_secret = ?", (bytes(32),))
    with pytest.raises(CorruptAuthState, match="all zero"):
        await store.credentials.load("s")


async def test_mismatched_key_pair_is_corrupt(store: SqliteStore) -> None:
    await paired_store(store)
    await damage(store.db, "UPDATE device_credentials SET noise_public = ?", (os.urandom(32),))
    with pytest.raises(CorruptAuthState, match="noise key pair"):
        await store.credentials.load("s")


async def test_corrupt_identity_blocks_saving_a_new_one(store: SqliteStore) -> None:
    await paired_store(store)
    await damage(
        store.db, "UPDATE device_credentials SET signed_prekey_signature = ?", (bytes(64),)
    )
    with pytest.raises(CorruptAuthState):
        await store.credentials.load("s")
    with pytest.raises(IdentityExists):
        await store.credentials.save_new("s", make_device_keys())


async def test_schema_refuses_malformed_keys_on_write(store: SqliteStore) -> None:
    await store.sessions.create("s")
    with pytest.raises(StorageError):
        await store.db.execute(
            "INSERT INTO device_credentials (session_id, noise_private, noise_public, "
            "identity_private, identity_public, registration_id, signed_prekey_id, "
            "signed_prekey_private, signed_prekey_public, signed_prekey_signature, adv_secret, "
            "created_at) VALUES ('s', ?, ?, ?, ?, 1, 1, ?, ?, ?, ?, 0)",
            (b"short", *[os.urandom(32)] * 5, os.urandom(64), os.urandom(32)),
        )
    assert await store.credentials.load("s") is None


def test_key_values_validate_on_construction() -> None:
    pair = make_key_pair()
    with pytest.raises(ValueError, match="does not belong"):
        KeyPair(private=pair.private, public=make_key_pair().public)
    with pytest.raises(ValueError, match="32 bytes"):
        KeyPair(private=pair.private, public=pair.public + b"\x00")
    with pytest.raises(ValueError, match="signature"):
        SignedPreKey(key_id=1, key_pair=pair, signature=os.urandom(63))
    with pytest.raises(ValueError, match="signed prekey id"):
        SignedPreKey(key_id=MAX_PREKEY_ID + 1, key_pair=pair, signature=os.urandom(64))
    keys = make_device_keys()
    with pytest.raises(ValueError, match="registration id"):
        replace(keys, registration_id=-1)
    with pytest.raises(ValueError, match="adv secret"):
        replace(keys, adv_secret=bytes(32))
