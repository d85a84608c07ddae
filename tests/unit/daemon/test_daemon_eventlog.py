"""The event log: sequence numbers, stable ids, cursors, following, the messaging sink,
retention."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from backends import BackendStores, OpenEngine, stores_over

from daemon import event_format
from daemon.client import message_events as me
from daemon.client.disconnect import Decision, DisconnectAction
from daemon.client.events import Alert, AlertKind, Disconnected, QrCode, StateChanged
from daemon.client.state import SessionState, Trigger
from daemon.event_format import (
    EventType,
    envelope,
    envelope_json,
    iso_from_unix,
    iso_utc,
    new_event_id,
)
from daemon.event_records import from_client_event, from_messaging_event
from daemon.eventlog import EventLog, EventLogSink
from storage.message_values import (
    ChatKind,
    ChatRecord,
    ContentType,
    MessageRecord,
    MessageStatus,
    ReceiptStatus,
)
from storage.outbox_values import NewOutboxRow, OutboxRequest


@pytest.fixture
async def stores(open_engine: OpenEngine, tmp_path: Path) -> BackendStores:
    """Two sessions in a new database of each backend."""
    opened = stores_over(await open_engine(), tmp_path)
    await opened.sessions.create("s1")
    await opened.sessions.create("s2")
    return opened


def test_event_ids_are_unique_and_sort_by_time() -> None:
    early = new_event_id(1_700_000_000.0, bytes(10))
    late = new_event_id(1_700_000_001.0, bytes(10))
    assert re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", early)
    assert early < late
    assert len({new_event_id() for _ in range(1000)}) == 1000


async def test_sequences_are_per_session_and_positions_global(stores: BackendStores) -> None:
    log = EventLog(stores)
    a1 = await log.append("s1", EventType.ALERT, {"n": 1})
    b1 = await log.append("s2", EventType.ALERT, {"n": 2})
    a2 = await log.append("s1", EventType.ALERT, {"n": 3})
    assert (a1.seq, b1.seq, a2.seq) == (1, 1, 2)
    assert a1.position < b1.position < a2.position
    assert [e.data["n"] for e in await log.read("s1")] == [1, 3]
    assert [e.seq for e in await log.read("s1", after_seq=1)] == [2]
    shape = envelope(a2)
    assert shape["id"] == a2.id and shape["seq"] == 2 and shape["sessionId"] == "s1"
    assert shape["createdAt"].endswith("Z")


async def test_an_event_commits_with_its_transaction_or_not_at_all(stores: BackendStores) -> None:
    log = EventLog(stores)
    with pytest.raises(RuntimeError):
        async with stores.transaction():
            await log.append("s1", EventType.ALERT, {"n": 1})
            raise RuntimeError("the write this event reports failed")
    assert await log.read("s1") == []
    # The sequence number is not burnt by the rollback either.
    assert (await log.append("s1", EventType.ALERT, {})).seq == 1


async def test_numbering_continues_after_the_session_is_deleted(stores: BackendStores) -> None:
    log = EventLog(stores)
    await log.append("s1", EventType.ALERT, {})
    await stores.sessions.delete("s1")
    await stores.sessions.create("s1")
    assert (await log.append("s1", EventType.ALERT, {})).seq == 2


async def test_follow_replays_then_streams_new_events(stores: BackendStores) -> None:
    log = EventLog(stores)
    await log.append("s1", EventType.ALERT, {"n": 1})
    await log.append("s1", EventType.QR_CODE, {"n": 2})
    seen: list[int] = []

    async def consume() -> None:
        async for event in log.follow("s1", after_seq=1):
            seen.append(event.data["n"])
            if len(seen) == 3:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await log.append("s2", EventType.ALERT, {"n": 99})
    await log.append("s1", EventType.ALERT, {"n": 3})
    await log.append("s1", EventType.ALERT, {"n": 4})
    async with asyncio.timeout(2):
        await task
    assert seen == [2, 3, 4]


async def test_follow_with_a_type_filter_skips_others(stores: BackendStores) -> None:
    log = EventLog(stores)
    for n, kind in enumerate([EventType.ALERT, EventType.QR_CODE, EventType.ALERT]):
        await log.append("s1", kind, {"n": n})
    got = []
    async for event in log.follow("s1", types=frozenset({"alert"})):
        got.append(event.data["n"])
        if len(got) == 2:
            break
    assert got == [0, 2]


async def test_a_typed_waiter_wakes_only_for_its_types_once_committed(
    stores: BackendStores,
) -> None:
    log = EventLog(stores)
    alerts = log.waiter(frozenset({"alert"}))
    anything = log.waiter()
    async with stores.transaction():
        await log.append("s1", EventType.QR_CODE, {"n": 1})
        await asyncio.sleep(0)
        assert not anything.done()  # not before the commit
    await asyncio.sleep(0)
    assert anything.done()
    assert not alerts.done()
    await log.append("s1", EventType.ALERT, {"n": 2})
    async with asyncio.timeout(2):
        await alerts


def test_client_events_map_to_records() -> None:
    changed = StateChanged(
        "s1", SessionState.CONNECTING, SessionState.CONNECTED, Trigger.LOGGED_IN, "ok", 1.0
    )
    record = from_client_event(changed)
    assert record.type is EventType.CONNECTION_STATE
    assert record.data == {
        "from": "connecting",
        "to": "connected",
        "trigger": "logged_in",
        "reason": "ok",
        "at": "1970-01-01T00:00:01.000Z",
    }
    assert from_client_event(QrCode("s1", "qr", 2, 10.0)).data["index"] == 2
    closed = from_client_event(
        Disconnected("s1", Decision(DisconnectAction.BACK_OFF, 503, "unavailable"), 1.5)
    )
    assert closed.data == {
        "code": 503,
        "action": "back_off",
        "reason": "unavailable",
        "retryInSeconds": 1.5,
    }
    alert = from_client_event(Alert("s1", AlertKind.BANNED, "banned"))
    assert alert.type is EventType.ALERT and alert.data["kind"] == "banned"


def _message(**changes: object) -> MessageRecord:
    fields: dict[str, object] = {
        "chat": "15550002222@s.whatsapp.net",
        "message_id": "ABC",
        "sender": "15550002222@s.whatsapp.net",
        "from_me": False,
        "sent_at": datetime(2026, 1, 1, tzinfo=UTC),
        "content_type": ContentType.TEXT,
        "status": MessageStatus.RECEIVED,
        "text": "hi",
    }
    fields.update(changes)
    return MessageRecord(**fields)  # type: ignore[arg-type]


def test_messaging_events_map_to_records() -> None:
    received = from_messaging_event(me.MessageReceived("s1", _message()))
    assert received.type is EventType.MESSAGE_RECEIVED
    assert received.data["message"]["text"] == "hi"
    assert received.data["message"]["timestamp"] == "2026-01-01T00:00:00.000Z"
    receipt = from_messaging_event(
        me.ReceiptReceived("s1", "c@s.whatsapp.net", ("A", "B"), "d", ReceiptStatus.READ, 2.0)
    )
    assert receipt.type is EventType.RECEIPT and receipt.data["ids"] == ["A", "B"]
    chat = ChatRecord(
        "c@s.whatsapp.net", ChatKind.USER, None, "A", "c", False, "hi", None, 3, datetime.now(UTC)
    )
    updated = from_messaging_event(me.ChatUpdated("s1", chat))
    assert updated.data["chat"]["unreadCount"] == 3


async def test_the_sink_writes_inside_the_callers_transaction(stores: BackendStores) -> None:
    log = EventLog(stores)
    inbound: list[tuple[str, float]] = []
    sink = EventLogSink(log, stores, on_inbound=lambda s, at: inbound.append((s, at)))
    outbox = stores.outbox
    await outbox.insert(
        NewOutboxRow("OUT1", "s1", None, bytes(32), "c@s.whatsapp.net", "text", {"text": "x"})
    )
    await outbox.mark_sending("OUT1")
    await outbox.mark_done("OUT1")
    delivered = me.MessageUpdated(
        "s1",
        "c@s.whatsapp.net",
        "OUT1",
        "me",
        me.UpdateKind.STATUS,
        status=MessageStatus.DELIVERED,
    )
    async with stores.transaction():
        await sink.record("s1", [me.MessageReceived("s1", _message()), delivered])
    types = [e.type for e in await log.read("s1")]
    assert types == ["message.received", "message.updated"]
    # A receipt is the message row's (the client writes it); the outbox row is not touched.
    row = await outbox.get("s1", "OUT1")
    assert row is not None and row.request is OutboxRequest.DONE
    session = await stores.sessions.get("s1")
    assert session is not None and session.last_message_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert inbound == [("s1", datetime(2026, 1, 1, tzinfo=UTC).timestamp())]

    with pytest.raises(RuntimeError):
        async with stores.transaction():
            await sink.record("s1", [me.MessageReceived("s1", _message(message_id="Z"))])
            raise RuntimeError("decrypt state failed to commit")
    assert len(await log.read("s1")) == 2


async def test_prune_keeps_what_is_still_needed(stores: BackendStores) -> None:
    log = EventLog(stores)
    await stores.webhooks.create(
        "wh_1", session_id=None, url="http://127.0.0.1:9/", secret="s" * 16, events=frozenset()
    )
    for n in range(3):
        await log.append("s1", EventType.ALERT, {"n": n})
    # Nothing is dispatched yet (cursor 0): nothing may go.
    assert await log.prune(timedelta(seconds=-60)) == 0
    await log.repo.set_cursor("webhook_dispatch", 2)
    assert await log.prune(timedelta(seconds=-60)) == 2
    assert [e.data["n"] for e in await log.read("s1")] == [2]


async def test_with_no_webhook_enabled_prune_needs_no_dispatch(stores: BackendStores) -> None:
    """The dispatcher idles (reads and writes nothing) without a webhook, so its cursor stays
    behind: events are no less prunable for that."""
    log = EventLog(stores)
    for n in range(3):
        await log.append("s1", EventType.ALERT, {"n": n})
    assert await log.prune(timedelta(seconds=-60)) == 3


async def test_an_events_json_is_rendered_once_then_reused(stores: BackendStores) -> None:
    """The text the log stores is the text every stream and webhook sends: the envelope is
    built around it, not rendered again from ``data``."""
    log = EventLog(stores)
    appended = await log.append("s1", EventType.ALERT, {"message": "olá", "n": [1, 2.5, None]})
    (read_back,) = await log.read("s1")
    stored_text = '{"message":"olá","n":[1,2.5,null]}'
    assert appended.data_json == read_back.data_json == stored_text
    for event in (appended, read_back):
        text = envelope_json(event)
        assert text == json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False)
        assert json.loads(text) == envelope(event)
    # Built from the stored text, not from the dict: a changed dict does not show.
    assert stored_text in envelope_json(dataclasses.replace(appended, data={}))
    # Without a stored text (an event built by hand) the data is rendered.
    bare = dataclasses.replace(appended, data_json=None)
    assert envelope_json(bare) == envelope_json(appended)


def test_times_are_rendered_once_per_instant_in_a_bounded_cache() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    text = iso_utc(at)
    assert text == "2026-01-02T03:04:05.678Z"
    assert iso_utc(at) is text  # rendered once
    assert iso_utc(at.astimezone(timezone(timedelta(hours=2)))) == text
    assert iso_from_unix(at.timestamp()) == text
    assert iso_from_unix(1.0) == iso_from_unix(1) == "1970-01-01T00:00:01.000Z"
    assert iso_utc(None) is None and iso_from_unix(None) is None
    for n in range(1000):
        assert iso_from_unix(n + 0.25) == iso_utc(datetime.fromtimestamp(n + 0.25, UTC))
    assert len(event_format._ISO_CACHE) <= 256
