"""The outbox worker's open rows in memory: the same choice as storage's, no read per send in
steady state, and a read whenever the rows may have changed behind the worker's back (a row
accepted while reading, a failed attempt, a reconnect, a wake-up from outside, a caller's
transaction, a backlog too big to hold); and an accept with a new idempotency key reads
nothing before its insert, and a routine message logs no info line."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from backends import BackendStores, OpenEngine, stores_over
from daemon_fakes import RecordingSender, fast_config

from daemon.config import OutboxConfig
from daemon.eventlog import EventLog
from daemon.outbox import Outbox, TransientSendError, parse_send_request
from daemon.outbox_queue import OpenRows, choose
from storage.outbox_values import NewOutboxRow, OutboxRequest, OutboxRow, OutboxStatus

TIMEOUT = 10.0
SID = "s1"
A = "15550001111@s.whatsapp.net"
B = "15550002222@s.whatsapp.net"
C = "15550003333@s.whatsapp.net"


@pytest.fixture
async def stores(open_engine: OpenEngine, tmp_path: Path) -> BackendStores:
    opened = stores_over(await open_engine(), tmp_path)
    await opened.sessions.create(SID)
    return opened


def outbox_config(tmp_path: Path, **changes: object) -> OutboxConfig:
    return dataclasses.replace(fast_config(tmp_path).outbox, **changes)  # type: ignore[arg-type]


async def until(predicate: object, timeout: float = TIMEOUT) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def insert(stores: BackendStores, message_id: str, chat: str) -> OutboxRow:
    new = NewOutboxRow(message_id, SID, None, bytes(32), chat, "text", {"text": message_id})
    return await stores.outbox.insert(new)


# ---------------------------------------------------------------- the choice


async def test_the_choice_in_memory_is_storages_choice(stores: BackendStores) -> None:
    for message_id, chat in (
        ("a1", A),
        ("b1", B),
        ("a2", A),
        ("c1", C),
        ("a3", A),
        ("b2", B),
        ("c2", C),
    ):
        await insert(stores, message_id, chat)
    now = stores.now()
    # A retry backing off (its chat's later rows wait behind it) and a chat held for longer.
    assert await stores.outbox.reschedule("a1", now + timedelta(minutes=5), "no ack")
    assert await stores.outbox.reschedule("c1", now + timedelta(minutes=2), "held")
    held = await stores.outbox.open_rows(SID, 100)
    assert [row.id for row in held] == ["a1", "b1", "a2", "c1", "a3", "b2", "c2"]
    cases = [[], ["b1"], ["a1"], ["a1", "b1"], ["a1", "a2", "c1"], ["b1", "b2"], ["a1", "c1"]]
    for in_flight in cases:
        for limit in (1, 2, 3, 8):
            stored = await stores.outbox.next_open_past(SID, in_flight, limit, now)
            chosen = choose(held, set(in_flight), limit, now)
            assert [r.id for r in chosen] == [r.id for r in stored], (in_flight, limit)
    # Due rows first in order of acceptance, then by when they come due.
    assert [r.id for r in choose(held, set(), 8, now)] == ["b1", "c1", "a1"]


# ---------------------------------------------------------------- the rows in memory


def row_of(template: OutboxRow, message_id: str) -> OutboxRow:
    return dataclasses.replace(template, id=message_id)


async def test_a_row_accepted_while_reading_is_held_once(stores: BackendStores) -> None:
    template = await insert(stores, "r1", A)
    rows = OpenRows()
    reading = asyncio.Event()
    answer = asyncio.Event()
    reads = 0

    async def load(_count: int) -> list[OutboxRow]:
        nonlocal reads
        reads += 1
        reading.set()
        await answer.wait()
        return [template, row_of(template, "r2")]

    async def past() -> list[OutboxRow]:
        raise AssertionError("every row fits in memory")

    now = stores.now
    before = rows.generation  # an accept's transaction began before the read
    look = asyncio.create_task(rows.look(load, past, (), 8, now))
    await reading.wait()
    # Accepted while reading: the read may or may not have seen them, nothing was sent.
    rows.arrived(row_of(template, "r2"), before)
    rows.arrived(row_of(template, "r3"), rows.generation)
    answer.set()
    assert [r.id for r in await look] == ["r1"]  # one chat: its first row
    assert [r.id for r in await rows.look(load, past, ("r1", "r2"), 8, now)] == ["r3"]
    rows.settled("r1")
    rows.settled("r2")
    assert [r.id for r in await rows.look(load, past, (), 8, now)] == ["r3"]
    assert reads == 1


async def test_a_row_accepted_across_a_read_is_held_unless_that_read_had_it(
    stores: BackendStores,
) -> None:
    template = await insert(stores, "r1", A)
    rows = OpenRows()
    stored = [template, row_of(template, "r2")]
    reads = 0

    async def load(_count: int) -> list[OutboxRow]:
        nonlocal reads
        reads += 1
        return list(stored)

    async def past() -> list[OutboxRow]:
        raise AssertionError("every row fits in memory")

    async def ids(*in_flight: str) -> list[str]:
        return [r.id for r in await rows.look(load, past, in_flight, 8, stores.now)]

    before = rows.generation  # two accepts' transactions begin
    assert await ids() == ["r1"]
    # The read saw r2, which was then sent: its late arrival does not bring it back.
    rows.settled("r2")
    rows.arrived(row_of(template, "r2"), before)
    # The read did not see r3: it is held without a read.
    rows.arrived(row_of(template, "r3"), before)
    assert await ids("r1") == ["r3"]
    assert reads == 1
    # A transaction that spans two reads makes a third.
    before = rows.generation
    rows.invalidate()
    assert await ids("r1") == ["r2"]
    assert reads == 2
    stored.append(row_of(template, "r4"))
    rows.arrived(row_of(template, "r4"), before)
    assert await ids("r1", "r2") == ["r4"]
    assert reads == 3


async def test_a_backlog_past_the_limit_is_read_as_it_goes(stores: BackendStores) -> None:
    template = await insert(stores, "r1", A)
    rows = OpenRows(held_at_most=3, reload_every=2)
    stored = [row_of(template, f"r{n}") for n in range(1, 6)]
    loads = 0
    pasts = 0

    async def load(count: int) -> list[OutboxRow]:
        nonlocal loads
        loads += 1
        return stored[:count]

    async def past() -> list[OutboxRow]:
        nonlocal pasts
        pasts += 1
        return stored[:1]

    assert [r.id for r in await rows.look(load, past, (), 8, stores.now)] == ["r1"]
    assert (loads, pasts) == (1, 1)
    rows.arrived(row_of(template, "r6"), rows.generation)  # not held: storage has it
    for sent in ("r1", "r2"):
        stored = [r for r in stored if r.id != sent]
        rows.settled(sent)
    # Two settled: read again; three rows left fit in memory.
    assert [r.id for r in await rows.look(load, past, (), 8, stores.now)] == ["r3"]
    assert (loads, pasts) == (2, 1)
    assert [r.id for r in await rows.look(load, past, ("r3",), 8, stores.now)] == ["r4"]
    assert (loads, pasts) == (2, 1)


# ---------------------------------------------------------------- the worker


async def test_steady_state_sends_read_no_rows(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender()
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    for n in range(20):
        request = parse_send_request({"to": A if n % 2 else B, "text": f"m{n}"})
        await outbox.accept(SID, request, None)
        await until(lambda n=n: len(sender.sent) == n + 1)  # type: ignore[misc]
    await outbox.stop(1.0)
    # The worker read its rows once, when it started; every later row reached it in memory.
    assert outbox.reads == 1
    assert await stores.outbox.open_rows(SID, 100) == []


async def test_a_burst_goes_in_order_per_chat(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender()
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    ids: dict[str, list[str]] = {A: [], B: []}
    for n in range(30):
        chat = A if n % 3 else B
        accepted = await outbox.accept(SID, parse_send_request({"to": chat, "text": f"{n}"}), None)
        ids[chat].append(accepted.row.id)
    await until(lambda: len(sender.sent) == 30)
    for chat, expected in ids.items():
        assert [m.id for m in sender.sent if m.request.to == chat] == expected
    assert len({m.id for m in sender.sent}) == 30
    await outbox.stop(1.0)


async def test_a_failed_attempt_and_a_reconnect_read_the_rows(
    stores: BackendStores, tmp_path: Path
) -> None:
    sender = RecordingSender(failures=[TransientSendError("no ack")])
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    first = await outbox.accept(SID, parse_send_request({"to": A, "text": "a"}), None)
    await until(lambda: len(sender.sent) == 1)
    assert sender.attempts == [first.row.id, first.row.id]
    assert outbox.reads == 2  # at start, and after the failed attempt (a retry's new state)
    sender.connected = False
    await outbox.accept(SID, parse_send_request({"to": A, "text": "b"}), None)
    await asyncio.sleep(0.3)  # the worker looks again while waiting for the connection
    assert outbox.reads == 2
    # Meanwhile rows change elsewhere (another daemon's, a restart's): the reconnect reads.
    late = await insert(stores, "ELSEWHERE", B)
    sender.connected = True
    await until(lambda: len(sender.sent) == 3)
    assert late.id in {m.id for m in sender.sent}
    assert outbox.reads == 3
    await outbox.stop(1.0)


async def test_a_wake_up_from_outside_reads_the_rows(stores: BackendStores, tmp_path: Path) -> None:
    sender = RecordingSender()
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    await outbox.accept(SID, parse_send_request({"to": A, "text": "a"}), None)
    await until(lambda: len(sender.sent) == 1)
    # What a fleet hand-over or a restart's requeue leaves for the worker to find.
    row = await insert(stores, "TAKEN-OVER", B)
    outbox.wake(SID)
    await until(lambda: len(sender.sent) == 2)
    assert sender.sent[1].id == row.id and outbox.reads == 2
    await outbox.stop(1.0)


async def test_an_accept_in_a_callers_transaction_goes_only_once_committed(
    stores: BackendStores, tmp_path: Path
) -> None:
    sender = RecordingSender()
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    await outbox.accept(SID, parse_send_request({"to": A, "text": "a"}), None)
    await until(lambda: len(sender.sent) == 1)

    class Undone(Exception):
        pass

    with pytest.raises(Undone):
        async with stores.transaction():
            await outbox.accept(SID, parse_send_request({"to": A, "text": "undone"}), None)
            raise Undone
    async with stores.transaction():
        kept = await outbox.accept(SID, parse_send_request({"to": A, "text": "kept"}), None)
    await until(lambda: len(sender.sent) == 2)
    await asyncio.sleep(0.1)
    assert [m.request.text for m in sender.sent] == ["a", "kept"]
    assert sender.attempts == [sender.sent[0].id, kept.row.id]
    row = await stores.outbox.get(SID, kept.row.id)
    assert row is not None and row.status is OutboxStatus.SENT
    await outbox.stop(1.0)


def test_due_rows_come_in_order_of_acceptance_then_by_due_time() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def row(message_id: str, chat: str, due_in_s: float) -> OutboxRow:
        at = now + timedelta(seconds=due_in_s)
        return OutboxRow(
            id=message_id,
            session_id=SID,
            idempotency_key=None,
            request_hash=bytes(32),
            chat_jid=chat,
            kind="text",
            payload={},
            request=OutboxRequest.PENDING,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=at,
            last_error=None,
            created_at=now,
            updated_at=now,
            sent_at=None,
            uncertain_sends=0,
        )

    rows = [row("x", A, 60), row("y", B, 0), row("z", C, 30), row("w", "d@s.whatsapp.net", -5)]
    assert [r.id for r in choose(rows, set(), 8, now)] == ["y", "w", "z", "x"]
    assert [r.id for r in choose(rows, set(), 1, now)] == ["y"]
    assert [r.id for r in choose(rows, {"y"}, 2, now)] == ["w", "z"]


async def test_a_new_idempotency_key_costs_no_read(
    stores: BackendStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = Outbox(
        stores, EventLog(stores), RecordingSender(connected=False), outbox_config(tmp_path)
    )
    looked_up: list[str] = []
    find_by_key = outbox.repo.find_by_key

    async def counted(session_id: str, key: str) -> OutboxRow | None:
        looked_up.append(key)
        return await find_by_key(session_id, key)

    monkeypatch.setattr(outbox.repo, "find_by_key", counted)
    request = parse_send_request({"to": A, "text": "hi"})
    first = await outbox.accept(SID, request, "order-1")
    assert looked_up == []  # the insert found the key new
    again = await outbox.accept(SID, request, "order-1")
    assert again.replayed and again.row.id == first.row.id and looked_up == ["order-1"]
    await outbox.stop(1.0)


async def test_a_message_accepted_and_sent_logs_nothing_at_info(
    stores: BackendStores, tmp_path: Path
) -> None:
    sender = RecordingSender(failures=[TransientSendError("no ack")])
    outbox = Outbox(stores, EventLog(stores), sender, outbox_config(tmp_path))
    with structlog.testing.capture_logs() as logs:
        await outbox.accept(SID, parse_send_request({"to": A, "text": "a"}), None)
        await until(lambda: len(sender.sent) == 1)
        await outbox.stop(1.0)
    levels = {entry["event"]: entry["log_level"] for entry in logs}
    assert levels["outbox.accepted"] == "debug" and levels["outbox.sent"] == "debug"
    assert levels["outbox.retry_scheduled"] == "info"  # what is not routine keeps its level
