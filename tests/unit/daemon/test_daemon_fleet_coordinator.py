"""Fleet coordinators of two daemons on one real PostgreSQL database, their rounds driven by
hand. The session manager is replaced by a host that records what it was told to adopt and let
go: the coordinator's contract with it is those two calls."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer

from daemon.config import Config, FleetConfig
from daemon.fleet.coordinator import FleetCoordinator
from daemon.startup_pacing import StartupRate, configured_rate
from storage.engine import Fence
from storage.errors import LeaseLost
from storage.postgres.engine import PgDatabase
from storage.postgres.stores import PgStores
from storage.values import SessionStatus

CONFIG = dataclasses.replace(
    Config(), fleet=FleetConfig(heartbeat_s=0.5, lease_ttl_s=30.0, handoffs_per_round=2)
)


class RecordingHost:
    def __init__(self) -> None:
        self.open: set[str] = set()
        self.relinquished: list[tuple[str, str]] = []
        self.rates: list[float] = []

    async def adopt(self, session_id: str) -> bool:
        await asyncio.sleep(0.01)  # opening a client awaits the database
        self.open.add(session_id)
        return True

    async def relinquish(self, session_id: str, reason: str) -> None:
        self.open.discard(session_id)
        self.relinquished.append((session_id, reason))

    def retune_startup(self, rate: StartupRate) -> None:
        self.rates.append(rate.connects_per_s)


@pytest.fixture
async def stores_pair(
    postgres_server: PostgresServer, tmp_path: Path
) -> AsyncIterator[tuple[PgStores, PgStores]]:
    url = await postgres_server.migrated_database()
    first = PgStores(await PgDatabase.open(url), tmp_path)
    second = PgStores(await PgDatabase.open(url), tmp_path)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def add_connected_sessions(stores: PgStores, count: int) -> list[str]:
    ids = [f"s{i:02d}" for i in range(count)]
    for session_id in ids:
        await stores.sessions.create(session_id)
        await stores.sessions.update_status(session_id, SessionStatus.CONNECTED, "logged in")
    return ids


def coordinator(stores: PgStores, name: str) -> tuple[FleetCoordinator, RecordingHost]:
    assert stores.fleet is not None
    host = RecordingHost()
    fleet = FleetCoordinator(stores, stores.fleet, CONFIG, name, f"http://{name}.invalid")
    fleet.bind(host)
    return fleet, host


async def test_two_daemons_split_the_sessions_and_fence_what_they_own(
    stores_pair: tuple[PgStores, PgStores],
) -> None:
    ids = await add_connected_sessions(stores_pair[0], 10)
    a, host_a = coordinator(stores_pair[0], "a")
    b, host_b = coordinator(stores_pair[1], "b")
    await a.round()  # alone: takes everything
    assert host_a.open == set(ids)
    for _ in range(6):
        await b.round()
        await a.round()
    assert len(host_a.open) + len(host_b.open) == 10
    assert host_a.open.isdisjoint(host_b.open)
    assert len(host_a.open) == len(host_b.open) == 5
    assert all(reason.startswith("handed back") for _, reason in host_a.relinquished)
    # The fleet's start-up rate is split between its daemons.
    full = configured_rate(CONFIG.manager).connects_per_s
    assert host_a.rates == [full, full / 2] and host_b.rates == [full / 2]
    moved = sorted(host_b.open)[0]
    # What a writes about a session it handed back is refused once b holds it.
    stale = stores_pair[0].owned_by(Fence(moved, "a", 1))
    with pytest.raises(LeaseLost):
        async with stale.transaction():
            await stale.sessions.update_status(moved, SessionStatus.REPLACED, "stale")
    async with b.owned(moved).transaction():
        await b.owned(moved).sessions.update_status(moved, SessionStatus.CONNECTING, "mine")
    row = await stores_pair[1].sessions.get(moved)
    assert row is not None and row.status is SessionStatus.CONNECTING


async def test_a_session_claimed_during_a_round_is_kept(
    stores_pair: tuple[PgStores, PgStores],
) -> None:
    ids = await add_connected_sessions(stores_pair[0], 4)
    a, host_a = coordinator(stores_pair[0], "a")
    await a.round()
    for session_id in ("n1", "n2", "n3"):
        await stores_pair[0].sessions.create(session_id)  # new: nobody takes them by itself
    claims = [a.claim(s) for s in ("n1", "n2", "n3")]
    results = await asyncio.gather(a.round(), *claims)
    assert results[1:] == [True, True, True]
    await a.round()
    assert host_a.open == set(ids) | {"n1", "n2", "n3"}
    assert host_a.relinquished == []


async def test_leaving_releases_every_lease_at_once(
    stores_pair: tuple[PgStores, PgStores],
) -> None:
    ids = await add_connected_sessions(stores_pair[0], 6)
    a, _ = coordinator(stores_pair[0], "a")
    b, host_b = coordinator(stores_pair[1], "b")
    await a.round()
    await b.round()
    await a.leaving()
    await a.stop()
    await b.round()
    assert host_b.open == set(ids)
