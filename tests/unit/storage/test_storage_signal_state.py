"""Signal sessions, peer identities, sender keys and app-state sync keys."""

from __future__ import annotations

import pytest
from storage_factories import damage

from storage.errors import CorruptAuthState, NotFound
from storage.sqlite import SqliteStore
from storage.values import AppStateSyncKey, IdentityChange

KEY = bytes(range(1, 33))
KEY_33 = b"\x05" + KEY
OTHER_KEY = bytes(range(2, 34))


@pytest.fixture
async def session(store: SqliteStore) -> str:
    await store.sessions.create("s")
    return "s"


# ------------------------------------------------------------------ Signal sessions


async def test_signal_session_store_load_replace_delete(store: SqliteStore, session: str) -> None:
    assert await store.signal_sessions.load(session, "111.0") is None
    await store.signal_sessions.store(session, "111.0", b"first")
    await store.signal_sessions.store(session, "111.0", b"second")
    assert await store.signal_sessions.load(session, "111.0") == b"second"
    assert await store.signal_sessions.delete(session, "111.0")
    assert not await store.signal_sessions.delete(session, "111.0")
    assert await store.signal_sessions.load(session, "111.0") is None


async def test_signal_session_store_many_in_one_write(store: SqliteStore, session: str) -> None:
    await store.signal_sessions.store(session, "111.0", b"old")
    records = [("111.0", b"new"), ("222.0", b"first"), ("222.0", b"second")]
    await store.signal_sessions.store_many(session, records)
    found = await store.signal_sessions.load_many(session, ["111.0", "222.0"])
    assert found == {"111.0": b"new", "222.0": b"second"}
    await store.signal_sessions.store_many(session, [])
    with pytest.raises(ValueError):
        await store.signal_sessions.store_many(session, [("333.0", b"ok"), ("", b"r")])
    assert await store.signal_sessions.load(session, "333.0") is None
    with pytest.raises(NotFound):
        await store.signal_sessions.store_many("ghost", [("1.0", b"r")])


async def test_signal_session_load_many(store: SqliteStore, session: str) -> None:
    for i in range(700):
        await store.signal_sessions.store(session, f"1{i}.0", bytes([i % 256]) * 3)
    wanted = [f"1{i}.0" for i in range(0, 700, 1)] + ["nobody.0"]
    found = await store.signal_sessions.load_many(session, wanted)
    assert len(found) == 700
    assert found["1699.0"] == bytes([699 % 256]) * 3
    assert "nobody.0" not in found
    assert await store.signal_sessions.load_many(session, []) == {}


async def test_delete_all_for_user_matches_both_spellings_only(
    store: SqliteStore, session: str
) -> None:
    for address in ("123.0", "123.7", "123:12", "123_1.0", "1234.0", "12.0", "124:0"):
        await store.signal_sessions.store(session, address, b"r")
    assert await store.signal_sessions.delete_all_for_user(session, "123") == 3
    remaining = await store.signal_sessions.load_many(
        session, ["123.0", "123.7", "123:12", "123_1.0", "1234.0", "12.0", "124:0"]
    )
    assert set(remaining) == {"1234.0", "123_1.0", "124:0", "12.0"}
    with pytest.raises(ValueError):
        await store.signal_sessions.delete_all_for_user(session, "123.0")


async def test_signal_session_for_a_missing_session_is_not_found(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        await store.signal_sessions.store("ghost", "1.0", b"r")
    with pytest.raises(ValueError):
        await store.signal_sessions.store("ghost", "1.0", b"")


# ------------------------------------------------------------------ identities


async def test_identity_new_unchanged_changed(store: SqliteStore, session: str) -> None:
    repo = store.identities
    assert await repo.load(session, "5.0") is None
    assert await repo.save(session, "5.0", KEY_33) is IdentityChange.NEW
    first = await repo.load(session, "5.0")
    assert first is not None and first.trusted and first.identity_key == KEY_33
    # The same key without the 0x05 prefix is the same identity.
    assert await repo.save(session, "5.0", KEY) is IdentityChange.UNCHANGED
    assert await repo.load(session, "5.0") == first
    assert await repo.save(session, "5.0", OTHER_KEY, trusted=False) is IdentityChange.CHANGED
    changed = await repo.load(session, "5.0")
    assert changed is not None
    assert changed.identity_key == OTHER_KEY and not changed.trusted
    assert changed.first_seen == first.first_seen and changed.updated_at > first.updated_at
    assert changed.matches(b"\x05" + OTHER_KEY) and not changed.matches(KEY)


async def test_identity_trust_and_delete(store: SqliteStore, session: str) -> None:
    await store.identities.save(session, "5.0", KEY)
    await store.identities.set_trusted(session, "5.0", False)
    loaded = await store.identities.load(session, "5.0")
    assert loaded is not None and not loaded.trusted
    with pytest.raises(NotFound):
        await store.identities.set_trusted(session, "6.0", True)
    assert await store.identities.delete(session, "5.0")
    assert await store.identities.load(session, "5.0") is None


@pytest.mark.parametrize("bad", [KEY[:31], b"\x06" + KEY, KEY + b"\x00\x00"])
async def test_malformed_identity_keys_are_refused(
    store: SqliteStore, session: str, bad: bytes
) -> None:
    with pytest.raises(ValueError):
        await store.identities.save(session, "5.0", bad)
    assert await store.identities.load(session, "5.0") is None


async def test_damaged_stored_identity_is_reported(store: SqliteStore, session: str) -> None:
    await store.identities.save(session, "5.0", KEY)
    await damage(store.db, "UPDATE signal_identities SET identity_key = ?", (b"\x01\x02",))
    with pytest.raises(CorruptAuthState, match="32 or 33"):
        await store.identities.load(session, "5.0")


# ------------------------------------------------------------------ sender keys


async def test_sender_keys(store: SqliteStore, session: str) -> None:
    repo = store.sender_keys
    assert await repo.load(session, "g@g.us", "9.0") is None
    await repo.store(session, "g@g.us", "9.0", b"one")
    await repo.store(session, "g@g.us", "9.0", b"two")
    await repo.store(session, "h@g.us", "9.0", b"other group")
    assert await repo.load(session, "g@g.us", "9.0") == b"two"
    assert await repo.load(session, "h@g.us", "9.0") == b"other group"
    assert await repo.delete(session, "g@g.us", "9.0")
    assert await repo.load(session, "g@g.us", "9.0") is None
    assert not await repo.delete(session, "g@g.us", "9.0")
    with pytest.raises(NotFound):
        await repo.store("ghost", "g@g.us", "9.0", b"x")


# ------------------------------------------------------------------ app-state keys


async def test_app_state_keys_newer_wins(store: SqliteStore, session: str) -> None:
    repo = store.app_state_keys
    assert await repo.latest(session) is None
    old = AppStateSyncKey(key_id=b"\x00\x01", key_data=b"a" * 32, fingerprint=b"fp", timestamp=10)
    assert await repo.store(session, old)
    newer = AppStateSyncKey(key_id=b"\x00\x01", key_data=b"b" * 32, fingerprint=b"", timestamp=20)
    assert await repo.store(session, newer)
    assert not await repo.store(session, old)  # an older copy does not replace a newer one
    assert await repo.load(session, b"\x00\x01") == newer
    other = AppStateSyncKey(key_id=b"\x00\x02", key_data=b"c" * 32, fingerprint=b"", timestamp=15)
    await repo.store(session, other)
    assert await repo.latest(session) == newer
    assert await repo.load(session, b"\x00\x03") is None
    with pytest.raises(NotFound):
        await repo.store("ghost", other)
    with pytest.raises(ValueError):
        AppStateSyncKey(key_id=b"", key_data=b"x", fingerprint=b"", timestamp=1)
