"""Fifty random connection drops in a row: the session comes back every time, its backoff
grows while the connection flaps and resets once it has been stable, and at no moment does it
hold two sockets — neither by its own count nor by the sandbox's."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from client_harness import FAST, client_config, collect_until, pair_by_qr
from sandbox_clients import next_event

from daemon.binary import JID
from daemon.client.disconnect import DisconnectAction
from daemon.client.events import Connected, Disconnected
from daemon.client.session import Session
from daemon.client.state import SessionState
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.db import Database
from storage.sqlite.stores import SqliteStores

DROPS = 50
BASE = 0.002
CAP = 0.032
STABLE_AFTER = 0.4


async def test_fifty_random_drops(
    sandbox: SandboxServer, account: Account, client_db: Database
) -> None:
    rng = random.Random(5)
    options = dataclasses.replace(
        FAST,
        backoff_base=BASE,
        backoff_cap=CAP,
        stable_after=STABLE_AFTER,
        uniform=lambda low, high: high,  # every delay is its ceiling: growth is visible
    )
    session = await Session.open(
        SqliteStores(client_db), "storm", client_config(sandbox), options=options
    )
    await pair_by_qr(sandbox, session, account)
    assert session.credentials is not None and session.credentials.pn_jid is not None
    jid = JID.parse(session.credentials.pn_jid)
    faults = sandbox.network.faults

    most_server_sockets = 0
    watching = True

    async def watch() -> None:
        nonlocal most_server_sockets
        while watching:
            most_server_sockets = max(most_server_sockets, len(faults.sockets(jid)))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    delays: list[float] = []
    stable_resets = 0
    with session.events() as events:
        for drop in range(DROPS):
            # Now and then stay connected long enough to count as stable.
            stable = drop % 10 == 9
            if stable:
                await asyncio.sleep(STABLE_AFTER + 0.05)
            kind = rng.choice(["abort", "stream-error", "stream-error-503", "abort"])
            if kind == "abort":
                assert faults.drop_connections(jid) == 1
            else:
                code = 503 if kind == "stream-error-503" else 500
                assert await faults.send_stream_error(code, jid) == 1
            disconnected, _ = await collect_until(events, Disconnected)
            assert disconnected.decision.action is DisconnectAction.BACK_OFF
            assert disconnected.retry_in is not None
            delays.append(disconnected.retry_in)
            if stable:
                assert disconnected.retry_in == BASE, "a stable connection resets the backoff"
                stable_resets += 1
            await next_event(events, Connected)
            assert session.state is SessionState.CONNECTED
    watching = False
    await watcher

    assert len(delays) == DROPS
    assert stable_resets == DROPS // 10
    # Between resets each delay doubles up to the cap.
    for index in range(1, DROPS):
        if delays[index] != BASE:
            assert delays[index] == min(CAP, delays[index - 1] * 2)
    assert max(delays) == CAP
    assert session.max_sockets_open == 1
    assert most_server_sockets == 1
    assert session.connect_attempts == 2 + DROPS  # registration, first login, one per drop
    await session.close()
