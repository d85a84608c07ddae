"""SqlitePreKeyRepo: batches, consumption, upload flags, counts."""

from __future__ import annotations

import pytest
from storage_factories import make_prekeys

from storage.errors import AlreadyExists, NotFound
from storage.sqlite import SqliteStore
from storage.values import PreKey


@pytest.fixture
async def session(store: SqliteStore) -> str:
    await store.sessions.create("s")
    return "s"


async def test_batch_count_and_max(store: SqliteStore, session: str) -> None:
    assert await store.prekeys.count(session) == 0
    assert await store.prekeys.max_id(session) == 0
    batch = make_prekeys(range(1, 813))
    await store.prekeys.add_batch(session, batch)
    assert await store.prekeys.count(session) == 812
    assert await store.prekeys.count(session, uploaded=False) == 812
    assert await store.prekeys.count(session, uploaded=True) == 0
    assert await store.prekeys.max_id(session) == 812
    stored = await store.prekeys.get(session, 77)
    assert stored is not None
    assert (stored.key_id, stored.private, stored.public) == (
        77,
        batch[76].private,
        batch[76].public,
    )
    assert not stored.uploaded
    assert await store.prekeys.get(session, 813) is None


async def test_consume_removes_and_returns(store: SqliteStore, session: str) -> None:
    batch = make_prekeys(range(1, 6))
    await store.prekeys.add_batch(session, batch)
    consumed = await store.prekeys.consume(session, 3)
    assert consumed is not None
    assert (consumed.key_id, consumed.private) == (3, batch[2].private)
    assert await store.prekeys.consume(session, 3) is None
    assert await store.prekeys.get(session, 3) is None
    assert await store.prekeys.remove(session, 4)
    assert not await store.prekeys.remove(session, 4)
    assert await store.prekeys.count(session) == 3


async def test_max_id_does_not_count_consumed_keys(store: SqliteStore, session: str) -> None:
    await store.prekeys.add_batch(session, make_prekeys(range(1, 6)))
    await store.prekeys.consume(session, 5)
    # Why ids come from CredentialsRepo.allocate_prekey_ids, not from max_id() + 1.
    assert await store.prekeys.max_id(session) == 4


async def test_mark_uploaded_and_list_pending(store: SqliteStore, session: str) -> None:
    await store.prekeys.add_batch(session, make_prekeys(range(1, 11)))
    assert await store.prekeys.mark_uploaded(session, [1, 2, 3, 99]) == 3
    assert await store.prekeys.mark_uploaded(session, []) == 0
    assert await store.prekeys.count(session, uploaded=True) == 3
    assert await store.prekeys.count(session, uploaded=False) == 7
    pending = await store.prekeys.list_not_uploaded(session, 4)
    assert [p.key_id for p in pending] == [4, 5, 6, 7]
    uploaded = await store.prekeys.get(session, 2)
    assert uploaded is not None and uploaded.uploaded


async def test_batch_with_a_taken_id_writes_nothing(store: SqliteStore, session: str) -> None:
    await store.prekeys.add_batch(session, make_prekeys([5]))
    with pytest.raises(AlreadyExists):
        await store.prekeys.add_batch(session, make_prekeys(range(1, 11)))
    assert await store.prekeys.count(session) == 1


async def test_invalid_batches_are_refused(store: SqliteStore, session: str) -> None:
    with pytest.raises(ValueError, match="distinct"):
        await store.prekeys.add_batch(session, make_prekeys([1, 1]))
    with pytest.raises(NotFound):
        await store.prekeys.add_batch("ghost", make_prekeys([1]))
    with pytest.raises(ValueError, match="prekey id"):
        PreKey(key_id=0, private=b"\x01" * 32, public=b"\x02" * 32)
    await store.prekeys.add_batch(session, [])
    assert await store.prekeys.count(session) == 0


async def test_prekeys_are_per_session(store: SqliteStore, session: str) -> None:
    await store.sessions.create("t")
    await store.prekeys.add_batch(session, make_prekeys(range(1, 4)))
    await store.prekeys.add_batch("t", make_prekeys(range(1, 3)))
    assert await store.prekeys.count(session) == 3
    assert await store.prekeys.count("t") == 2
    await store.prekeys.consume("t", 1)
    assert await store.prekeys.get(session, 1) is not None
