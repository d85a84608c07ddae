"""Every session of the fleet seen from one daemon, on a real PostgreSQL server: its own
session with live evidence, another daemon's from the stored row (status, phone from the stored
credentials, served by that daemon), an unheld one served by nobody; each valid against the
OpenAPI schema the API answers with."""

from __future__ import annotations

from pathlib import Path

from daemon_fakes import Clock, DeviceFactory, fast_config

from daemon.client.credentials import credentials_for_pairing
from daemon.eventlog import EventLog
from daemon.fleet.coordinator import FleetCoordinator
from daemon.fleet.views import session_views
from daemon.manager import SessionManager
from http_api.openapi import document
from http_api.openapi_check import validate
from http_api.shapes import deep_session_json, fleet_json, session_json
from storage.postgres.stores import PgStores
from storage.values import SessionStatus

DOC = document()
TTL_MS = 60_000


async def test_a_daemon_lists_every_session_of_the_fleet_with_its_owner(
    two_daemon_stores: tuple[PgStores, PgStores], tmp_path: Path
) -> None:
    mine, theirs = two_daemon_stores
    for session_id in ("s1", "s2", "s3"):
        await mine.sessions.create(session_id)
    await credentials_for_pairing(mine.auth, "s2")
    await mine.auth.credentials.mark_paired(
        "s2",
        signed_device_identity=b"adv",
        pn_jid="15550002222:3@s.whatsapp.net",
        lid_jid=None,
        platform="android",
        push_name="them",
    )
    # As its owner recorded it.
    await mine.db.execute("UPDATE sessions SET status = 'connected' WHERE id = 's2'")
    other_fleet = theirs.fleet
    assert other_fleet is not None
    assert await other_fleet.acquire("s2", "b", TTL_MS) is not None  # daemon b holds s2

    config = fast_config(tmp_path)
    events = EventLog(mine)
    manager = SessionManager(config, mine, events, DeviceFactory(Clock()), fleet=True)
    fleet = mine.fleet
    assert fleet is not None
    coordinator = FleetCoordinator(mine, fleet, config, "a", "http://a.invalid")
    coordinator.bind(manager)
    manager.use_fleet(coordinator.claim)
    assert await coordinator.claim("s1")  # asked for here: daemon a holds s1
    await coordinator.round()

    views = {view.row.id: view for view in await session_views(manager, mine, coordinator, any)}
    assert {sid: view.served_by for sid, view in views.items()} == {
        "s1": "a",
        "s2": "b",
        "s3": None,
    }
    remote = views["s2"]
    assert remote.status is SessionStatus.CONNECTED  # as its owner recorded it
    assert remote.phone_number == "15550002222" and not remote.socket_alive
    only_s2 = await session_views(manager, mine, coordinator, lambda sid: sid == "s2")
    assert [view.row.id for view in only_s2] == ["s2"]

    schemas = DOC["components"]["schemas"]
    for view in views.values():
        assert validate(DOC, schemas["Session"], session_json(view)) == []
    deep = schemas["DeepHealth"]["properties"]["sessions"]["items"]
    assert validate(DOC, deep, deep_session_json(remote)) == []
    health = fleet_json(coordinator.view)
    assert health["sessions"] == 1 and health["nodeId"] == "a"
    assert validate(DOC, schemas["FleetHealth"], health) == []
    await manager.shutdown()
    await coordinator.stop()
