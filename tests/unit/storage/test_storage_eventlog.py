"""The event log repository on both engines: a unit's events appended at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from counting_engine import CountingEngine

from storage.engine import Dialect, SqlEngine
from storage.event_values import NewEvent
from storage.sqlite.eventlog import INSERT_CHUNK, SqliteEventLogRepo
from storage.sqlite.sessions import SqliteSessionRepo


async def test_append_many_numbers_on_from_the_sessions_counter(
    open_engine: Callable[[], Awaitable[SqlEngine]],
) -> None:
    engine = await open_engine()
    await SqliteSessionRepo(engine).create("s1")
    repo = SqliteEventLogRepo(engine)
    first = await repo.append("s1", "alert", {"n": 0}, "evt_0")
    async with engine.transaction():
        await repo.append_many(
            "s1",
            [
                NewEvent("message.received", {"n": 1}, "evt_1"),
                NewEvent("chat.updated", {"n": 2}, "evt_2"),
            ],
        )
    await repo.append_many("s1", [])
    last = await repo.append("s1", "alert", {"n": 3}, "evt_3")
    events = await repo.read_session("s1")
    assert [(e.seq, e.type, e.data["n"], e.id) for e in events] == [
        (1, "alert", 0, "evt_0"),
        (2, "message.received", 1, "evt_1"),
        (3, "chat.updated", 2, "evt_2"),
        (4, "alert", 3, "evt_3"),
    ]
    assert first.position < events[1].position < events[2].position < last.position
    assert await repo.last_seq("s1") == 4


async def test_a_units_events_cost_one_counter_write_and_one_insert(
    open_engine: Callable[[], Awaitable[SqlEngine]],
) -> None:
    """Inside the caller's transaction: no savepoint of their own, the counter moved once and
    every row in one INSERT (plus the append lock on PostgreSQL); the stored events come
    back with their positions, as a read finds them."""
    engine = await open_engine()
    await SqliteSessionRepo(engine).create("s1")
    counting = CountingEngine(engine)
    repo = SqliteEventLogRepo(counting)
    new = [NewEvent("chat.updated", {"n": n, "text": "é"}, f"evt_{n}") for n in range(5)]
    async with engine.transaction():
        appended = await repo.append_many("s1", new)
    locks = 1 if engine.dialect is Dialect.POSTGRESQL else 0
    assert (len(counting.statements), counting.transactions) == (2 + locks, 0)
    assert appended == await repo.read_session("s1")

    many = [NewEvent("alert", {"n": n}, f"evt_many_{n}") for n in range(INSERT_CHUNK + 1)]
    appended = await repo.append_many("s1", many)
    assert [e.seq for e in appended] == list(range(6, 6 + INSERT_CHUNK + 1))
    assert appended == await repo.read_session("s1", after_seq=5, limit=1000)
