"""daemon.client.privacy_cache: the session's privacy tokens and NCT salt are read from storage
once, and every write through it is seen by the next read. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import OpenEngine
from sync_fakes import FakeConnection, attach, iq_result, make_world

from daemon.binary import JID, Node
from daemon.client.privacy import PrivacyTokens
from daemon.client.privacy_cache import CachedPrivacyTokens
from storage.sqlite import SqliteStore
from storage.sqlite.message_store import SqliteMessageStore

SID = "s1"
BOB = "123456789012345@lid"


@pytest.fixture
async def store(open_engine: OpenEngine) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(await open_engine())
    await opened.sessions.create(SID)
    yield opened
    await opened.close()


async def test_reads_are_kept_and_writes_are_seen(store: SqliteStore) -> None:
    privacy = CachedPrivacyTokens(SqliteMessageStore(store.db).privacy, store.after_commit)
    assert await privacy.get(SID, BOB) is None and await privacy.get_salt(SID) is None
    for _ in range(3):
        assert await privacy.get(SID, BOB) is None and await privacy.get_salt(SID) is None
    assert (privacy.tokens.counters.misses, privacy.salts.counters.misses) == (1, 1)

    assert await privacy.put_token(SID, BOB, b"token", 2000)
    await privacy.set_sender_at(SID, BOB, 1500)
    await privacy.put_salt(SID, b"salt")
    stored = await privacy.get(SID, BOB)
    assert stored is not None and (stored.token, stored.sender_at) == (b"token", 1500)
    assert await privacy.get_salt(SID) == b"salt"
    assert [t.jid for t in await privacy.all(SID)] == [BOB]


async def test_a_rolled_back_write_is_not_seen(store: SqliteStore) -> None:
    privacy = CachedPrivacyTokens(SqliteMessageStore(store.db).privacy, store.after_commit)
    await privacy.put_salt(SID, b"committed")
    assert await privacy.get_salt(SID) == b"committed"
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await privacy.put_salt(SID, b"rolled back")
            raise RuntimeError
    assert await privacy.get_salt(SID) == b"committed"


async def test_no_background_issue_after_a_send_once_our_token_is_known_issued(
    open_engine: OpenEngine,
) -> None:
    world = await make_world(await open_engine())
    try:
        m = world.m
        contact = JID.parse(BOB)
        issued: list[Node] = []

        async def answer(request: Node) -> Node:
            issued.append(request)
            return iq_result(request)

        connection = FakeConnection(answer)
        attach(world, connection)
        tokens = PrivacyTokens(m)
        tokens.after_send(connection, contact)  # nothing kept yet: looked up in the background
        await connection.settle()
        assert len(issued) == 1  # our token, issued for this bucket
        await m.privacy.get(m.session_id, BOB)  # kept from now on
        for _ in range(3):
            tokens.after_send(connection, contact)
        assert connection.tasks == [] and len(issued) == 1
    finally:
        await world.close()
