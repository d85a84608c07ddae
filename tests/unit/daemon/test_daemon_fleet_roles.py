"""Fleet roles on a real PostgreSQL server: two coordinators (two daemons' pools on one
database) want the same role; one holds it, its work gets stores fenced by the role's lease, and
a holder that stops renewing loses the work at once and can no longer write."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from daemon.config import Config, FleetConfig
from daemon.eventlog import DISPATCH_CURSOR
from daemon.fleet.coordinator import FleetCoordinator
from daemon.startup_pacing import StartupRate
from storage.errors import LeaseLost
from storage.postgres.stores import PgStores
from storage.stores import Stores

ROLE = "webhooks"
WAIT_S = 30.0


class Work:
    """A role's work that records what the coordinator told it."""

    def __init__(self) -> None:
        self.stores: Stores | None = None
        self.held: Callable[[], bool] = lambda: False
        self.started = 0
        self.stopped = 0

    @property
    def running(self) -> bool:
        return self.stores is not None

    async def take_role(self, stores: Stores, held: Callable[[], bool]) -> None:
        self.stores = stores
        self.held = held
        self.started += 1

    async def drop_role(self) -> None:
        if self.stores is not None:
            self.stopped += 1
        self.stores = None


class NoSessions:
    async def adopt(self, session_id: str) -> bool:
        return False

    async def relinquish(self, session_id: str, reason: str) -> None:
        return None

    def retune_startup(self, rate: StartupRate) -> None:
        return None


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.05)


def coordinator(stores: PgStores, node: str, work: Work, ttl_s: float) -> FleetCoordinator:
    config = dataclasses.replace(
        Config(), fleet=FleetConfig(node_id=node, heartbeat_s=ttl_s / 4, lease_ttl_s=ttl_s)
    )
    fleet = stores.fleet
    assert fleet is not None
    coordinator = FleetCoordinator(stores, fleet, config, node, f"http://{node}.invalid")
    coordinator.bind(NoSessions())
    coordinator.want_role(ROLE, work)
    return coordinator


async def test_one_daemon_holds_a_role_and_a_stopped_one_hands_it_over(
    two_daemon_stores: tuple[PgStores, PgStores],
) -> None:
    a_work, b_work = Work(), Work()
    a = coordinator(two_daemon_stores[0], "a", a_work, 60.0)
    b = coordinator(two_daemon_stores[1], "b", b_work, 60.0)
    await asyncio.gather(a.round(), b.round())
    assert [a_work.running, b_work.running].count(True) == 1
    holder, other = (a, b) if a_work.running else (b, a)
    other_work = b_work if holder is a else a_work
    await other.round()
    assert holder.view.roles == {ROLE: holder.node_id}
    assert other.view.roles == {ROLE: holder.node_id}
    assert not other_work.running

    await holder.leaving()  # a graceful stop: the work stops and the lease is given back
    assert not (a_work if holder is a else b_work).running
    await other.round()
    assert other_work.running and other.holds_role(ROLE)
    await other.stop()
    assert not other_work.running


async def test_a_holder_that_stopped_renewing_stops_its_work_and_cannot_write(
    two_daemon_stores: tuple[PgStores, PgStores],
) -> None:
    a_work, b_work = Work(), Work()
    a = coordinator(two_daemon_stores[0], "a", a_work, 2.0)
    b = coordinator(two_daemon_stores[1], "b", b_work, 60.0)
    await a.round()
    assert a_work.running and a_work.held()
    fenced = a_work.stores
    assert fenced is not None
    await fenced.events.set_cursor(DISPATCH_CURSOR, 1)  # the holder writes through its fence

    # ``a`` is paused past its lease (no rounds): ``b`` takes the role over.
    async def b_took_over() -> None:
        while not b_work.running:
            await b.round()
            await asyncio.sleep(0.2)

    async with asyncio.timeout(WAIT_S):
        await b_took_over()
    assert not a_work.held()  # by a's own clock, before any round of a's noticed
    with pytest.raises(LeaseLost):
        await fenced.events.set_cursor(DISPATCH_CURSOR, 99)
    assert await two_daemon_stores[1].events.cursor(DISPATCH_CURSOR) == 1

    await a.round()  # ``a`` resumes: its renewal does not return the lease
    assert not a_work.running and a_work.stopped == 1
    assert not a.holds_role(ROLE) and a.view.roles == {ROLE: "b"}
    assert b_work.started == 1 and b_work.running
    await asyncio.gather(a.stop(), b.stop())
