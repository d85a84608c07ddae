"""SqliteSessionRepo: session rows, status transitions with reasons, cascade delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from storage_factories import FakeClock, damage, make_device_keys, make_prekeys

from storage.errors import (
    AlreadyExists,
    Constraint,
    ConstraintViolation,
    CorruptAuthState,
    NotFound,
)
from storage.sqlite import SqliteStore
from storage.values import AppStateSyncKey, SessionStatus

S = SessionStatus


async def test_create_get_and_list(store: SqliteStore, clock: FakeClock) -> None:
    created = await store.sessions.create("b", name="Sales", auto_connect=False)
    await store.sessions.create("a")
    assert created.id == "b"
    assert created.name == "Sales"
    assert not created.auto_connect
    assert created.active
    assert created.status is S.NEW
    assert created.status_reason == "created"
    assert created.created_at <= clock.now
    assert created.last_error is None and created.last_connected_at is None
    assert await store.sessions.get("b") == created
    assert await store.sessions.get("nope") is None
    assert [s.id for s in await store.sessions.list_all()] == ["b", "a"]  # oldest first


async def test_duplicate_session_is_refused(store: SqliteStore) -> None:
    await store.sessions.create("a", name="first")
    with pytest.raises(AlreadyExists):
        await store.sessions.create("a", name="second")
    session = await store.sessions.get("a")
    assert session is not None and session.name == "first"


@pytest.mark.parametrize("bad", ["", "x" * 129])
async def test_invalid_session_id_is_refused(store: SqliteStore, bad: str) -> None:
    with pytest.raises(ValueError):
        await store.sessions.create(bad)


async def test_transitions_are_recorded_in_order_with_reasons(
    store: SqliteStore, clock: FakeClock
) -> None:
    await store.sessions.create("s")
    steps = [
        (S.PAIRING, "qr shown"),
        (S.CONNECTING, "paired"),
        (S.CONNECTED, "login ok"),
        (S.BACKING_OFF, "stream error 503"),
        (S.CONNECTING, "retry 1"),
        (S.LOGGED_OUT, "401 device_removed"),
    ]
    returned = [await store.sessions.update_status("s", to, why) for to, why in steps]
    history = await store.sessions.transitions("s")
    assert history[1:] == returned
    assert [t.seq for t in history] == list(range(1, len(steps) + 2))
    assert [(t.to_status, t.reason) for t in history] == [(S.NEW, "created"), *steps]
    assert [t.from_status for t in history] == [None, S.NEW, *[to for to, _ in steps[:-1]]]
    times = [t.at for t in history]
    assert times == sorted(times) and len(set(times)) == len(times)

    session = await store.sessions.get("s")
    assert session is not None
    assert session.status is S.LOGGED_OUT
    assert session.status_reason == "401 device_removed"
    assert session.status_changed_at == history[-1].at
    assert session.last_connected_at == history[3].at  # when it entered CONNECTED

    assert [t.seq for t in await store.sessions.transitions("s", after_seq=5)] == [6, 7]
    assert [t.seq for t in await store.sessions.transitions("s", limit=2)] == [1, 2]


async def test_transition_error_becomes_last_error(store: SqliteStore) -> None:
    await store.sessions.create("s")
    await store.sessions.update_status("s", S.BACKING_OFF, "dial failed", error="ECONNREFUSED")
    await store.sessions.update_status("s", S.CONNECTING, "retry")
    session = await store.sessions.get("s")
    assert session is not None and session.last_error == "ECONNREFUSED"


async def test_transition_histories_are_per_session(store: SqliteStore) -> None:
    await store.sessions.create("a")
    await store.sessions.create("b")
    await store.sessions.update_status("a", S.CONNECTING, "a1")
    await store.sessions.update_status("b", S.CONNECTING, "b1")
    await store.sessions.update_status("a", S.CONNECTED, "a2")
    assert [t.seq for t in await store.sessions.transitions("a")] == [1, 2, 3]
    assert [t.seq for t in await store.sessions.transitions("b")] == [1, 2]


async def test_updates_on_a_missing_session_raise_not_found(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        await store.sessions.update_status("ghost", S.CONNECTING, "x")
    with pytest.raises(NotFound):
        await store.sessions.update_settings("ghost", name="x")
    with pytest.raises(NotFound):
        await store.sessions.record_activity("ghost", message_at=None)
    with pytest.raises(NotFound):
        await store.sessions.delete("ghost")
    assert await store.sessions.transitions("ghost") == []


async def test_settings_and_activity(store: SqliteStore, clock: FakeClock) -> None:
    await store.sessions.create("s", name="old")
    updated = await store.sessions.update_settings("s", auto_connect=False, active=False)
    assert (updated.name, updated.auto_connect, updated.active) == ("old", False, False)
    updated = await store.sessions.update_settings("s", name="new")
    assert (updated.name, updated.auto_connect, updated.active) == ("new", False, False)

    message_at = clock.now + timedelta(seconds=10)
    await store.sessions.record_activity("s", message_at=message_at)
    check_at = clock.now + timedelta(seconds=20)
    await store.sessions.record_activity("s", status_check_at=check_at)
    session = await store.sessions.get("s")
    assert session is not None
    assert session.last_message_at == message_at
    assert session.last_status_check == check_at


async def test_history_is_append_only(store: SqliteStore) -> None:
    await store.sessions.create("s")
    with pytest.raises(ConstraintViolation) as caught:
        await store.db.execute("UPDATE session_transitions SET reason = 'rewritten'")
    assert caught.value.constraint is Constraint.TRIGGER
    with pytest.raises(ConstraintViolation):
        await store.db.execute("DELETE FROM session_transitions")
    assert [t.reason for t in await store.sessions.transitions("s")] == ["created"]


async def test_delete_cascades_to_every_table_of_that_session_only(store: SqliteStore) -> None:
    for sid in ("doomed", "other"):
        await store.sessions.create(sid)
        await store.sessions.update_status(sid, S.CONNECTING, "dial")
        await store.credentials.save_new(sid, make_device_keys())
        await store.prekeys.add_batch(sid, make_prekeys(range(1, 6)))
        await store.signal_sessions.store(sid, "1.0", b"rec")
        await store.identities.save(sid, "1.0", b"\x05" + bytes(range(1, 33)))
        await store.sender_keys.store(sid, "g@g.us", "1.0", b"sk")
        await store.app_state_keys.store(sid, AppStateSyncKey(b"k", b"data", b"", 1))

    await store.sessions.delete("doomed")

    per_session_tables = [
        "sessions",
        "session_transitions",
        "device_credentials",
        "prekeys",
        "signal_sessions",
        "signal_identities",
        "sender_keys",
        "app_state_sync_keys",
    ]
    for table in per_session_tables:
        column = "id" if table == "sessions" else "session_id"
        for sid, expected_empty in (("doomed", True), ("other", False)):
            row = await store.db.fetch_one(
                f"SELECT count(*) FROM {table} WHERE {column} = ?", (sid,)
            )
            assert row is not None
            assert (row[0] == 0) is expected_empty, (table, sid)


async def test_unknown_stored_status_is_reported(store: SqliteStore) -> None:
    await store.sessions.create("s")
    await damage(store.db, "UPDATE sessions SET status = 'dancing' WHERE id = 's'")
    with pytest.raises(CorruptAuthState, match="dancing") as caught:
        await store.sessions.get("s")
    assert caught.value.session_id == "s"
    assert caught.value.table == "sessions"
