"""The event log repository on both engines: a unit's events appended at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage.engine import SqlEngine
from storage.event_values import NewEvent
from storage.sqlite.eventlog import SqliteEventLogRepo
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
