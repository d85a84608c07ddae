"""Privacy tokens and the NCT salt on SQLite and PostgreSQL (migration 0009)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.sqlite import SqliteStore
from storage.sqlite.message_store import SqliteMessageStore

SID = "s1"
BOB = "123456789012345@lid"


@pytest.fixture
async def messages(store: SqliteStore) -> AsyncIterator[SqliteMessageStore]:
    await store.sessions.create(SID)
    yield SqliteMessageStore(store.db)


async def test_the_newer_token_wins_and_sender_time_only_moves_forward(
    messages: SqliteMessageStore,
) -> None:
    repo = messages.privacy
    assert await repo.get(SID, BOB) is None
    assert await repo.put_token(SID, BOB, b"new", 2000)
    assert not await repo.put_token(SID, BOB, b"stale", 1000)  # a history copy after the fact
    await repo.set_sender_at(SID, BOB, 1500)
    await repo.set_sender_at(SID, BOB, 1200)
    stored = await repo.get(SID, BOB)
    assert stored is not None
    assert (stored.token, stored.token_at, stored.sender_at) == (b"new", 2000, 1500)
    await repo.set_sender_at(SID, "999@lid", 5)  # issued before any token came back
    assert [t.jid for t in await repo.all(SID)] == [BOB, "999@lid"]
    assert (await repo.get(SID, "999@lid")).token is None  # type: ignore[union-attr]


async def test_the_salt_is_kept_and_cleared(messages: SqliteMessageStore) -> None:
    repo = messages.privacy
    assert await repo.get_salt(SID) is None
    await repo.put_salt(SID, b"s" * 32)
    await repo.put_salt(SID, b"t" * 32)
    assert await repo.get_salt(SID) == b"t" * 32
    await repo.put_salt(SID, None)
    assert await repo.get_salt(SID) is None
