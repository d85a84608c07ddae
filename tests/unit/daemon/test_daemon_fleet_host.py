"""A session taken over from another daemon sends what that daemon left in its outbox: taking
it wakes this daemon's outbox for it (a real outbox and manager over a real database)."""

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
from storage.sqlite.stores import SqliteStores

TIMEOUT = 10.0


async def test_a_session_taken_over_sends_what_its_last_owner_left(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "wamd.db")
    stores = SqliteStores(db)
    await stores.sessions.create("s1")
    events = EventLog(stores)
    config = fast_config(tmp_path)
    # The daemon that held s1 accepted a send, then died before it went out.
    gone = Outbox(stores, events, RecordingSender(connected=False), config.outbox)
    left = await gone.accept("s1", parse_send_request({"to": "15550001111", "text": "hi"}), None)
    await gone.stop(0.1)

    # This daemon was already running (its outbox started before the row existed).
    sender = RecordingSender()
    outbox = Outbox(stores, events, sender, config.outbox)
    manager = SessionManager(config, stores, events, DeviceFactory(Clock()), fleet=True)
    host = FleetHost(manager, outbox)
    try:
        assert await host.adopt("s1")
        async with asyncio.timeout(TIMEOUT):
            while not sender.sent:
                await asyncio.sleep(0.01)
        assert [message.id for message in sender.sent] == [left.row.id]
    finally:
        await host.relinquish("s1", "test over")
        await outbox.stop(1.0)
        await db.close()
