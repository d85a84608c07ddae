"""API keys (scopes that their webhooks follow) and the totals ``/metrics`` reads, on SQLite and
on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from backends import BackendStores, OpenEngine, stores_over
from storage_factories import FakeClock

from storage.errors import AlreadyExists, NotFound
from storage.outbox_values import NewOutboxRow
from storage.webhook_values import WEBHOOK_DISPATCH_CURSOR

HASH = bytes(range(32))


@pytest.fixture
async def stores(open_engine: OpenEngine, clock: FakeClock, tmp_path: Path) -> BackendStores:
    opened = stores_over(await open_engine(clock), tmp_path)
    await opened.sessions.create("s1")
    return opened


async def test_a_key_s_scope_changes_and_its_webhooks_follow(stores: BackendStores) -> None:
    keys = stores.api_keys
    created = await keys.create("key_0001", "s1", HASH, "desk", chats=("b@s.whatsapp.net",))
    assert created.chats == ("b@s.whatsapp.net",) and created.can_send
    with pytest.raises(AlreadyExists):
        await keys.create("key_0001", "s1", HASH)
    with pytest.raises(NotFound):
        await keys.create("key_0002", "nobody", HASH)
    hook = await stores.webhooks.create(
        "wh_1",
        session_id="s1",
        url="http://127.0.0.1:9/",
        secret="s" * 16,
        events=frozenset(),
        api_key_id="key_0001",
    )
    assert hook.chats == frozenset({"b@s.whatsapp.net"})

    # Only the label: the chats stay.
    renamed = await keys.update("s1", "key_0001", label="front desk")
    assert renamed.label == "front desk" and renamed.chats == ("b@s.whatsapp.net",)
    # New chats, reading only: the key's webhook follows in the same transaction.
    scoped = await keys.update(
        "s1", "key_0001", set_chats=True, chats=("a@s.whatsapp.net", "c@g.us"), can_send=False
    )
    assert scoped.chats == ("a@s.whatsapp.net", "c@g.us") and not scoped.can_send
    assert scoped.updated_at is not None
    followed = await stores.webhooks.get("wh_1")
    assert followed is not None and followed.chats == frozenset(scoped.chats)
    # Lifting the restriction.
    opened = await keys.update("s1", "key_0001", set_chats=True, chats=None)
    assert opened.chats is None and not opened.can_send
    with pytest.raises(NotFound):
        await keys.update("s1", "key_9999", label="x")
    assert [k.id for k in await keys.list_for_session("s1")] == ["key_0001"]
    assert await keys.delete("s1", "key_0001")
    assert await keys.get("key_0001") is None
    assert await stores.webhooks.get("wh_1") is None  # made with the key, gone with it


async def test_totals_count_what_the_database_holds(stores: BackendStores) -> None:
    empty = await stores.metrics.totals()
    assert empty.outbox == {} and empty.webhook_deliveries == {}
    assert empty.oldest_pending_delivery is None
    for n in range(3):
        await stores.outbox.insert(
            NewOutboxRow(f"OUT{n}", "s1", None, HASH, "b@s.whatsapp.net", "text", {"text": "x"})
        )
    assert await stores.outbox.mark_sending("OUT0")
    await stores.webhooks.create(
        "wh_1", session_id=None, url="http://127.0.0.1:9/", secret="s" * 16, events=frozenset()
    )
    for n in range(2):
        await stores.events.append("s1", "alert", {"n": n}, f"evt_{n}")
    step = await stores.webhooks.dispatch(WEBHOOK_DISPATCH_CURSOR, lambda _e, hooks: hooks)
    assert step.looked == 2
    totals = await stores.metrics.totals()
    assert totals.outbox == {("s1", "pending"): 2, ("s1", "sending"): 1}
    assert totals.webhook_deliveries == {"pending": 2}
    assert totals.event_seq == {"s1": 2}
    oldest = totals.oldest_pending_delivery
    assert oldest is not None and oldest <= datetime.now(UTC)
