"""Daemons sharing one PostgreSQL database share its sessions, and a dead (or paused) daemon's
sessions move to the others with nothing lost, nothing duplicated, and never two daemons
connected for one device. Real ``wamd run`` processes, a real sandbox, a real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fleet_harness import (
    CUSTOMER,
    LEASE_TTL_S,
    Fleet,
    admin,
    counts,
    create_account,
    customer_sends,
    eventually_equal,
    pair_sessions,
    wait_until,
)
from postgres_server import PostgresServer

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig

SESSIONS = 30


@pytest.fixture
async def fleet(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Fleet]:
    url = await postgres_server.migrated_database()
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as sandbox:
        await create_account(sandbox, CUSTOMER, "Customer")
        group = Fleet(sandbox, tmp_path, url)
        try:
            yield group
        finally:
            await group.stop_all()
            group.report()


async def stored_texts(fleet: Fleet) -> Counter[tuple[str, str]]:
    """(session, text) of every message from the customer in the database, counted."""
    rows = await fleet.query(
        "SELECT session_id, text FROM messages WHERE from_me = 0 AND sender_jid LIKE $1",
        f"{CUSTOMER}@%",
    )
    return Counter((str(r["session_id"]), str(r["text"])) for r in rows)


async def received_events(fleet: Fleet) -> Counter[str]:
    rows = await fleet.query(
        "SELECT data FROM event_log WHERE type = 'message.received' AND data LIKE $1",
        f"%{CUSTOMER}%",
    )
    return Counter(str(r["data"]) for r in rows)


async def all_connected(fleet: Fleet, via: str, ids: list[str]) -> bool:
    api = fleet.api(via)
    for session_id in ids:
        reply = await api.call("GET", f"/sessions/{session_id}")
        if reply.status != 200 or reply.body["status"] != "connected":
            return False
    return True


async def send_from_sessions(fleet: Fleet, via: str, ids: list[str], tag: str) -> None:
    """Each session sends one text to the customer through daemon ``via``'s API (forwarded
    to the owner), retrying with the same idempotency key while the session moves."""
    api = fleet.api(via)

    async def one(session_id: str) -> None:
        body = {"to": CUSTOMER, "text": f"{tag} from {session_id}"}
        headers = {"Idempotency-Key": f"{tag}-{session_id}"}
        deadline = time.monotonic() + 60
        while True:
            reply = await api.call(
                "POST", f"/sessions/{session_id}/messages", body, headers=headers
            )
            if reply.status in (200, 202):
                return
            assert reply.status == 503, reply.body
            assert time.monotonic() < deadline, reply.body
            await asyncio.sleep(0.5)

    await asyncio.gather(*(one(s) for s in ids))


async def customer_texts(fleet: Fleet) -> Counter[str]:
    received = await admin(fleet.sandbox, "GET", f"/accounts/{CUSTOMER}/messages")
    return Counter(str(m["text"]) for m in received)


async def test_sessions_spread_and_move_off_a_killed_daemon_losing_nothing(fleet: Fleet) -> None:
    await fleet.start("a")
    await fleet.start("b")
    ids = await pair_sessions(fleet.api("a"), fleet.sandbox, SESSIONS)
    # Paired through a, half of them move to b a few per heartbeat.
    await fleet.wait_owners(
        lambda o: len(o) == SESSIONS and all(14 <= n <= 16 for n in counts(o, ["a", "b"]).values())
    )
    await fleet.start("c")
    owners = await fleet.wait_owners(
        lambda o: (
            len(o) == SESSIONS and all(9 <= n <= 11 for n in counts(o, ["a", "b", "c"]).values())
        )
    )
    await wait_until(lambda: all_connected(fleet, "c", ids), timeout=60)

    # Traffic both ways, and daemon b killed in the middle of it.
    for index in range(SESSIONS):
        await customer_sends(fleet.sandbox, index, f"before #{index}")
    sending = asyncio.create_task(send_from_sessions(fleet, "a", ids, "out1"))
    on_b = sorted(s for s, owner in owners.items() if owner == "b")
    await fleet.daemons["b"].kill()
    killed_at = time.monotonic()
    for index in range(SESSIONS):
        await customer_sends(fleet.sandbox, index, f"during #{index}")
    await fleet.wait_owners(
        lambda o: all(o.get(s) in ("a", "c") for s in on_b), timeout=LEASE_TTL_S + 20
    )
    await wait_until(lambda: all_connected(fleet, "a", on_b), timeout=30)
    takeover_s = time.monotonic() - killed_at
    assert takeover_s < 30, takeover_s
    await asyncio.wait_for(sending, 90)
    for index in range(SESSIONS):
        await customer_sends(fleet.sandbox, index, f"after #{index}")

    # The killed daemon comes back and takes its share back, a few sessions per heartbeat.
    await fleet.start("b")
    await fleet.wait_owners(
        lambda o: (
            len(o) == SESSIONS and all(9 <= n <= 11 for n in counts(o, ["a", "b", "c"]).values())
        ),
        timeout=60,
    )
    await wait_until(lambda: all_connected(fleet, "b", ids), timeout=60)
    await send_from_sessions(fleet, "c", ids, "out2")

    expected = Counter(
        (f"s{i:02d}", f"{phase} #{i}")
        for i in range(SESSIONS)
        for phase in ("before", "during", "after")
    )

    await eventually_equal(lambda: stored_texts(fleet), expected, timeout=60)
    events = await received_events(fleet)
    assert len(events) == 3 * SESSIONS and set(events.values()) == {1}
    sent = Counter({f"{tag} from {s}": 1 for s in ids for tag in ("out1", "out2")})

    await eventually_equal(lambda: customer_texts(fleet), sent, timeout=60)
    # Never two daemons on one device: no login ever pushed another socket of its device off.
    replaced = await admin(fleet.sandbox, "GET", "/logins/replaced")
    assert replaced["replaced"] == []


async def test_a_paused_daemon_is_fenced_off_and_drops_its_sockets(fleet: Fleet) -> None:
    await fleet.start("a")
    b = await fleet.start("b")
    ids = await pair_sessions(fleet.api("a"), fleet.sandbox, 8)
    owners = await fleet.wait_owners(
        lambda o: len(o) == 8 and all(n == 4 for n in counts(o, ["a", "b"]).values())
    )
    await wait_until(lambda: all_connected(fleet, "a", ids), timeout=60)
    on_b = sorted(s for s, owner in owners.items() if owner == "b")

    os.kill(b.pid, signal.SIGSTOP)
    try:
        await fleet.wait_owners(lambda o: all(o.get(s) == "a" for s in ids), timeout=30)
        await wait_until(lambda: all_connected(fleet, "a", ids), timeout=30)
        for index in range(8):
            await customer_sends(fleet.sandbox, index, f"while paused #{index}")
    finally:
        resumed_at = len(b.logs)
        os.kill(b.pid, signal.SIGCONT)
    for session_id in on_b:
        await b.wait_log("manager.session_relinquished", session=session_id, timeout=30)
    for index in range(8):
        await customer_sends(fleet.sandbox, index, f"after resume #{index}")

    expected = Counter(
        (f"s{i:02d}", f"{phase} #{i}")
        for i in range(8)
        for phase in ("while paused", "after resume")
    )

    await eventually_equal(lambda: stored_texts(fleet), expected, timeout=60)
    # Nothing the paused daemon did after it resumed reached the database (a stale
    # "replaced" status would show here) or the server (no login before letting go).
    await wait_until(lambda: all_connected(fleet, "b", ids), timeout=30)
    for session_id in on_b:
        after = [
            e["event"]
            for e in b.logs[resumed_at:]
            if e.get("session") == session_id
            and e.get("event") in ("client.connecting", "manager.session_relinquished")
        ]
        assert after[0] == "manager.session_relinquished", (session_id, after)
    # a's logins pushed the paused daemon's sockets off, one per moved device at most.
    replaced = await admin(fleet.sandbox, "GET", "/logins/replaced")
    devices = [r["device"] for r in replaced["replaced"]]
    assert len(devices) == len(set(devices)) <= len(on_b)
