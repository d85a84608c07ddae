"""The outbox: validation, idempotency, ordered sending, retries, failure, restriction pause,
requeue after a crash, the token bucket."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from backends import BackendStores, OpenEngine, stores_over
from daemon_fakes import RecordingSender, fast_config

from daemon.config import OutboxConfig
from daemon.eventlog import EventLog
from daemon.outbox import (
    HeldError,
    IdempotencyConflict,
    InvalidSendRequest,
    MessageKind,
    Outbox,
    PermanentSendError,
    RestrictedError,
    TokenBucket,
    TransientSendError,
    normalize_chat,
    parse_send_request,
)
from daemon.retry import retry_delay
from storage.errors import NotFound
from storage.outbox_values import OutboxStatus

TIMEOUT = 5.0


@pytest.fixture
async def stores(open_engine: OpenEngine, tmp_path: Path) -> BackendStores:
    """A new database of each backend."""
    opened = stores_over(await open_engine(), tmp_path)
    await opened.sessions.create("s1")
    return opened


def outbox_config(tmp_path: Path, **changes: object) -> OutboxConfig:
    return dataclasses.replace(fast_config(tmp_path).outbox, **changes)  # type: ignore[arg-type]


async def wait_for(predicate: object, timeout: float = TIMEOUT) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------- request validation


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+1 (555) 000-1111", "15550001111@s.whatsapp.net"),
        ("15550001111@s.whatsapp.net", "15550001111@s.whatsapp.net"),
        ("15550001111:4@s.whatsapp.net", "15550001111@s.whatsapp.net"),
        ("1203630123456789@g.us", "1203630123456789@g.us"),
        ("987654321@lid", "987654321@lid"),
    ],
)
def test_chats_are_normalized(given: str, expected: str) -> None:
    assert normalize_chat(given) == expected


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "'to' is required"),
        ({"to": "012345678", "text": "x"}, "international"),
        ({"to": "123", "text": "x"}, "international"),
        ({"to": "status@broadcast", "text": "x"}, "user"),
        ({"to": "15550001111", "type": "sticker"}, "multipart"),
        ({"to": "15550001111", "type": "gif"}, "'type' must be one of"),
        ({"to": "15550001111", "type": "text"}, "'text' is required"),
        ({"to": "15550001111", "text": ""}, "must not be empty"),
        ({"to": "15550001111", "text": 5}, "must be a string"),
        ({"to": "15550001111", "type": "reply", "text": "x"}, "'quotedId'"),
        ({"to": "15550001111", "type": "reaction", "emoji": "x"}, "'messageId'"),
        ({"to": "15550001111", "type": "edit", "messageId": "A"}, "'text'"),
        ({"to": "15550001111", "text": "x", "colour": "red"}, "unknown field"),
    ],
)
def test_bad_requests_name_the_problem(body: dict[str, object], needle: str) -> None:
    with pytest.raises(InvalidSendRequest, match=None) as info:
        parse_send_request(body)
    assert needle in str(info.value)


def test_every_kind_parses() -> None:
    to = "15550001111"
    assert parse_send_request({"to": to, "text": "hi"}).kind is MessageKind.TEXT
    reply = parse_send_request({"to": to, "type": "reply", "text": "a", "quotedId": "Q"})
    assert reply.quoted_id == "Q"
    removal = parse_send_request({"to": to, "type": "reaction", "messageId": "M", "emoji": ""})
    assert removal.emoji == "" and removal.target_id == "M"
    edit = parse_send_request({"to": to, "type": "edit", "messageId": "M", "text": "b"})
    assert edit.text == "b"
    delete = parse_send_request({"to": to, "type": "delete", "messageId": "M"})
    assert delete.kind is MessageKind.DELETE and delete.payload()["messageId"] == "M"


# ---------------------------------------------------------------- accepting


async def test_the_same_key_returns_the_same_message(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender(connected=False)
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    request = parse_send_request({"to": "15550001111", "text": "hi"})
    first = await outbox.accept("s1", request, "key-1")
    again = await outbox.accept("s1", request, "key-1")
    assert not first.replayed and again.replayed
    assert again.row.id == first.row.id
    assert first.row.id.startswith("3EB0") and len(first.row.id) == 22
    other = parse_send_request({"to": "15550001111", "text": "something else"})
    with pytest.raises(IdempotencyConflict):
        await outbox.accept("s1", other, "key-1")
    without_key = await outbox.accept("s1", request, None)
    assert without_key.row.id != first.row.id
    with pytest.raises(NotFound):
        await outbox.accept("nope", request, None)
    counts = await outbox.repo.counts("s1")
    assert counts == {OutboxStatus.PENDING: 2}
    await outbox.stop(1.0)


async def test_concurrent_requests_with_one_key_store_one_row(
    stores: BackendStores, tmp_path: Path
) -> None:
    outbox = Outbox(
        stores,
        EventLog(stores),
        RecordingSender(connected=False),
        outbox_config(tmp_path),
    )
    request = parse_send_request({"to": "15550001111", "text": "hi"})
    results = await asyncio.gather(*(outbox.accept("s1", request, "k") for _ in range(10)))
    assert len({r.row.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    await outbox.stop(1.0)


# ---------------------------------------------------------------- sending


async def test_sends_in_order_once_connected(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender(connected=False)
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    ids = []
    for n in range(5):
        accepted = await outbox.accept(
            "s1", parse_send_request({"to": "15550001111", "text": f"m{n}"}), None
        )
        ids.append(accepted.row.id)
    await asyncio.sleep(0.1)
    assert sender.sent == []  # not connected: nothing goes, nothing fails
    sender.connected = True

    async def all_sent() -> bool:
        return len(sender.sent) == 5

    await wait_for(all_sent)
    assert [m.id for m in sender.sent] == ids
    assert [m.request.text for m in sender.sent] == [f"m{n}" for n in range(5)]
    rows = [await outbox.repo.get("s1", i) for i in ids]
    assert all(r is not None and r.status is OutboxStatus.SENT for r in rows)
    await outbox.stop(1.0)


async def test_transient_failures_retry_then_succeed(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender(failures=[TransientSendError("timeout"), TransientSendError("x")])
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    accepted = await outbox.accept(
        "s1", parse_send_request({"to": "15550001111", "text": "a"}), None
    )

    async def sent() -> bool:
        row = await outbox.repo.get("s1", accepted.row.id)
        return row is not None and row.status is OutboxStatus.SENT

    await wait_for(sent)
    assert sender.attempts == [accepted.row.id] * 3  # the same message id every attempt
    row = await outbox.repo.get("s1", accepted.row.id)
    assert row is not None and row.attempts == 3
    await outbox.stop(1.0)


async def test_gives_up_after_the_limit_with_a_reason(
    stores: BackendStores, tmp_path: Path
) -> None:
    sender = RecordingSender(failures=[TransientSendError("no ack")] * 5)
    events = EventLog(stores)
    outbox = Outbox(stores, events, sender, outbox_config(tmp_path, max_attempts=3))
    accepted = await outbox.accept(
        "s1", parse_send_request({"to": "15550001111", "text": "a"}), None
    )

    async def failed() -> bool:
        row = await outbox.repo.get("s1", accepted.row.id)
        return row is not None and row.status is OutboxStatus.FAILED

    await wait_for(failed)
    row = await outbox.repo.get("s1", accepted.row.id)
    assert row is not None and row.last_error == "gave up after 3 attempts: no ack"
    updates = [e for e in await events.read("s1") if e.type == "message.updated"]
    assert [u.data["status"] for u in updates] == ["failed"]
    assert updates[0].data["error"] == row.last_error
    await outbox.stop(1.0)


async def test_a_permanent_refusal_fails_at_once_and_the_next_goes(
    stores: BackendStores, tmp_path: Path
) -> None:
    sender = RecordingSender(failures=[PermanentSendError("not on WhatsApp")])
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    first = await outbox.accept("s1", parse_send_request({"to": "15550001111", "text": "a"}), None)
    second = await outbox.accept("s1", parse_send_request({"to": "15550001111", "text": "b"}), None)

    async def second_sent() -> bool:
        return any(m.id == second.row.id for m in sender.sent)

    await wait_for(second_sent)
    row = await outbox.repo.get("s1", first.row.id)
    assert row is not None and row.status is OutboxStatus.FAILED
    assert row.attempts == 1 and row.last_error == "not on WhatsApp"
    await outbox.stop(1.0)


async def test_a_restriction_pauses_the_session_and_raises_an_alert(
    stores: BackendStores, tmp_path: Path
) -> None:
    sender = RecordingSender(failures=[RestrictedError(429, "refused with error 429")])
    events = EventLog(stores)
    outbox = Outbox(stores, events, sender, outbox_config(tmp_path, restriction_pause_s=3600.0))
    accepted = await outbox.accept(
        "s1", parse_send_request({"to": "15550001111", "text": "a"}), None
    )

    async def paused() -> bool:
        return await outbox.pause_of("s1") is not None

    await wait_for(paused)
    await asyncio.sleep(0.1)
    assert sender.sent == []
    row = await outbox.repo.get("s1", accepted.row.id)
    assert row is not None and row.status is OutboxStatus.PENDING
    alerts = [e.data for e in await events.read("s1") if e.type == "alert"]
    assert alerts[0]["kind"] == "sending_paused" and alerts[0]["code"] == 429
    assert await outbox.resume("s1")

    async def sent() -> bool:
        return len(sender.sent) == 1

    await wait_for(sent)
    await outbox.stop(1.0)


async def test_a_crash_mid_send_resends_under_the_same_id(
    stores: BackendStores, tmp_path: Path
) -> None:
    config = outbox_config(tmp_path)
    sender = RecordingSender(connected=False)
    first = Outbox(stores, EventLog(stores), sender, config)
    accepted = await first.accept(
        "s1", parse_send_request({"to": "15550001111", "text": "a"}), None
    )
    await first.stop(1.0)
    # What a process killed between the send and its "sent" commit leaves behind.
    assert await first.repo.mark_sending(accepted.row.id)

    sender = RecordingSender()
    second = Outbox(stores, EventLog(stores), sender, config)
    await second.start()

    async def sent() -> bool:
        return len(sender.sent) == 1

    await wait_for(sent)
    assert sender.sent[0].id == accepted.row.id
    row = await second.repo.get("s1", accepted.row.id)
    assert row is not None and row.uncertain_sends == 1 and row.status is OutboxStatus.SENT
    await second.stop(1.0)


async def test_stop_lets_an_in_flight_send_finish(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender(delay=0.2)
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    accepted = await outbox.accept(
        "s1", parse_send_request({"to": "15550001111", "text": "a"}), None
    )
    await asyncio.sleep(0.05)
    assert outbox.in_flight == 1
    await outbox.stop(2.0)
    row = await outbox.repo.get("s1", accepted.row.id)
    assert row is not None and row.status is OutboxStatus.SENT


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    for _ in range(3):
        assert bucket.wait_time(100.0) == 0.0
        bucket.take(100.0)
    assert bucket.wait_time(100.0) == pytest.approx(0.5)
    assert bucket.wait_time(100.5) == 0.0
    bucket.take(100.5)
    assert bucket.wait_time(100.5) == pytest.approx(0.5)
    # Idle time refills only up to the burst.
    assert bucket.wait_time(1000.0) == 0.0
    assert bucket.tokens == 3.0


async def test_the_rate_limit_spaces_sends(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender()
    stamps: list[float] = []
    loop = asyncio.get_running_loop()
    sender.on_send = lambda _m: stamps.append(loop.time())
    outbox = Outbox(
        stores,
        EventLog(stores),
        sender,
        outbox_config(tmp_path, rate_per_minute=600.0, burst=1),
    )
    started = loop.time()
    for n in range(3):
        await outbox.accept("s1", parse_send_request({"to": "15550001111", "text": f"{n}"}), None)

    async def done() -> bool:
        return len(stamps) == 3

    await wait_for(done)
    # 600/min with a burst of one: the bucket holds at most the first send's token, so the
    # third send waits for two more, 100 ms each. (The gap between two sends' stamps can be
    # shorter than 100 ms when the first one's stamp was late, so that is not the bound.)
    assert stamps[2] - started >= 0.195, [stamp - started for stamp in stamps]
    await outbox.stop(1.0)


def test_retry_delays_grow_with_full_jitter() -> None:
    top = [retry_delay(n, 2.0, 300.0, lambda _a, b: b) for n in range(1, 12)]
    assert top[:5] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert top[-1] == 300.0
    assert retry_delay(3, 2.0, 300.0, lambda a, _b: a) == 0.2  # never zero


async def test_a_held_chat_waits_while_other_chats_flow_in_order(
    stores: BackendStores, tmp_path: Path
) -> None:
    until = time.time() + 3600
    sender = RecordingSender(failures=[HeldError(until, "new chats blocked: time-lock")])
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    held = await outbox.accept("s1", parse_send_request({"to": "15550001111", "text": "a"}), None)
    later = await outbox.accept("s1", parse_send_request({"to": "15550001111", "text": "b"}), None)
    other = [
        await outbox.accept("s1", parse_send_request({"to": "15550002222", "text": t}), None)
        for t in ("c", "d")
    ]

    async def others_sent() -> bool:
        return len(sender.sent) == 2

    await wait_for(others_sent)
    assert [m.id for m in sender.sent] == [a.row.id for a in other]  # their own order kept
    row = await outbox.repo.get("s1", held.row.id)
    assert row is not None and row.status is OutboxStatus.PENDING
    assert row.last_error is not None and row.last_error.startswith("held:")
    assert abs(row.next_attempt_at.timestamp() - until) < 5
    # The held chat's next message waits behind it; nothing paused the session.
    assert later.row.id not in sender.attempts
    assert await outbox.pause_of("s1") is None
    await outbox.stop(1.0)
