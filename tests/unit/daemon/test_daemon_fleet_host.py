"""A session taken over from another daemon sends what that daemon left in its outbox: taking
it requeues the rows left mid-send and wakes this daemon's outbox for it, and leaves other
sessions' sends alone (a real outbox and manager over a real database)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from daemon_fakes import Clock, DeviceFactory, RecordingSender, fast_config

from daemon.eventlog import EventLog
from daemon.fleet.host import FleetHost
from daemon.manager import SessionManager
from daemon.outbox import Outbox
from daemon.send_request import parse_send_request
from storage.db import Database
from storage.outbox_values import OutboxStatus
from storage.sqlite.stores import SqliteStores

TIMEOUT = 10.0


async def test_a_session_taken_over_sends_what_its_last_owner_left(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "wamd.db")
    stores = SqliteStores(db)
    await stores.sessions.create("s1")
    await stores.sessions.create("s2")
    events = EventLog(stores)
    config = fast_config(tmp_path)
    # The daemon that held s1 accepted two sends and died, one of them on its way out; a live
    # daemon is sending for s2.
    gone = Outbox(stores, events, RecordingSender(connected=False), config.outbox)
    request = parse_send_request({"to": "15550001111", "text": "hi"})
    mid_send = await gone.accept("s1", request, None)
    left = await gone.accept("s1", request, None)
    elsewhere = await gone.accept("s2", request, None)
    await gone.stop(0.1)
    assert await stores.outbox.mark_sending(mid_send.row.id)
    assert await stores.outbox.mark_sending(elsewhere.row.id)

    # This daemon was already running (its outbox started before the row existed).
    sender = RecordingSender()
    outbox = Outbox(stores, events, sender, config.outbox)
    manager = SessionManager(config, stores, events, DeviceFactory(Clock()), fleet=True)
    host = FleetHost(manager, outbox, stores.outbox)
    try:
        assert await host.adopt("s1")
        async with asyncio.timeout(TIMEOUT):
            while len(sender.sent) < 2:
                await asyncio.sleep(0.01)
        assert {message.id for message in sender.sent} == {mid_send.row.id, left.row.id}
        again = await stores.outbox.get("s1", mid_send.row.id)
        assert again is not None and again.uncertain_sends == 1
        untouched = await stores.outbox.get("s2", elsewhere.row.id)
        assert untouched is not None and untouched.status is OutboxStatus.SENDING
    finally:
        await host.relinquish("s1", "test over")
        await outbox.stop(1.0)
        await db.close()
