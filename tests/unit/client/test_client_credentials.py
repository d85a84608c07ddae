"""Credentials are made once, reused after an interrupted pairing, and never re-minted over a
damaged or vanished identity."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import OpenEngine

from daemon.client.credentials import (
    credentials_for_pairing,
    load_credentials,
    new_device_keys,
)
from daemon.client.errors import AlreadyPaired, AuthStateError, NotPaired
from daemon.signal.curve import verify
from storage.sqlite import SqliteStore
from storage.values import SessionStatus


@pytest.fixture
async def store(open_engine: OpenEngine) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(await open_engine())
    await opened.sessions.create("s")
    yield opened
    await opened.close()


def test_new_keys_are_complete_and_signed() -> None:
    keys = new_device_keys()
    assert keys.signed_prekey.key_id == 1
    assert 1 <= keys.registration_id <= 16380
    assert len(keys.adv_secret) == 32
    assert keys.noise.public != keys.identity.public
    assert verify(
        keys.identity.public,
        b"\x05" + keys.signed_prekey.key_pair.public,
        keys.signed_prekey.signature,
    )
    assert new_device_keys().identity.public != keys.identity.public


async def test_pairing_reuses_unpaired_credentials(store: SqliteStore) -> None:
    first = await credentials_for_pairing(store, "s")
    again = await credentials_for_pairing(store, "s")
    assert again.keys.identity.public == first.keys.identity.public
    assert len(await store.credentials.history("s")) == 1
    with pytest.raises(NotPaired, match="not paired yet"):
        await load_credentials(store, "s")


async def test_paired_credentials_load_and_refuse_pairing(store: SqliteStore) -> None:
    await credentials_for_pairing(store, "s")
    await store.credentials.mark_paired(
        "s",
        signed_device_identity=b"adv",
        pn_jid="15550001111:3@s.whatsapp.net",
        lid_jid=None,
        platform="android",
        push_name="x",
    )
    loaded = await load_credentials(store, "s")
    assert loaded.is_paired and loaded.pn_jid == "15550001111:3@s.whatsapp.net"
    with pytest.raises(AlreadyPaired):
        await credentials_for_pairing(store, "s")


async def test_never_paired_session_has_nothing_missing(store: SqliteStore) -> None:
    with pytest.raises(NotPaired, match="no paired identity"):
        await load_credentials(store, "s")


async def test_vanished_credentials_are_an_error_not_a_new_identity(store: SqliteStore) -> None:
    await store.sessions.update_status("s", SessionStatus.CONNECTED, "logged in")
    for attempt in (load_credentials(store, "s"), credentials_for_pairing(store, "s")):
        with pytest.raises(AuthStateError, match="credentials are gone"):
            await attempt
    assert await store.credentials.history("s") == []


async def test_after_a_logout_pairing_makes_a_new_identity(store: SqliteStore) -> None:
    old = await credentials_for_pairing(store, "s")
    await store.sessions.update_status("s", SessionStatus.CONNECTED, "logged in")
    await store.credentials.retire("s", "logged out")
    new = await credentials_for_pairing(store, "s")
    assert new.keys.identity.public != old.keys.identity.public
    assert [c.retired for c in await store.credentials.history("s")] == [True, False]


async def test_damaged_credentials_are_reported(store: SqliteStore) -> None:
    await credentials_for_pairing(store, "s")
    await store.db.execute("UPDATE device_credentials SET adv_secret = ?", (bytes(32),))
    with pytest.raises(AuthStateError, match="damaged"):
        await credentials_for_pairing(store, "s")
    with pytest.raises(AuthStateError, match="damaged"):
        await load_credentials(store, "s")
