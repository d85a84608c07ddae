"""A real daemon process: ``GET /sessions/{id}`` tells the truth on read.

The status check pings over the session's socket; its answer fills ``liveness``. When the
sandbox swallows that ping, the same request answers not-connected, the stored status changes
with it, and a recovery (counted against the hourly limit) reconnects the session.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from daemon_harness import Api, DaemonFactory, admin, paired_daemon

from sandbox.app import SandboxServer

# Keepalive pings rare and the frame watchdog lenient, so the swallowed iq is the status
# check's ping and nothing but the status check notices it.
SETTINGS = {
    "client": {"keepalive_min_s": 60.0, "keepalive_max_s": 60.0, "keepalive_timeout_s": 30.0},
    "recovery": {"check_interval_s": 0.5, "dead_after_s": 120.0, "probe_timeout_s": 1.0},
}


def stored(database: Path, session_id: str) -> tuple[str, str]:
    with sqlite3.connect(str(database)) as db:
        row = db.execute(
            "SELECT status, status_reason FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


async def settled(api: Api) -> None:
    """Waits until the post-pairing work (app-state keys, history) is done: the event log
    stops growing for a second. Then the next iq the session sends is the status check's."""
    last = -1
    async with asyncio.timeout(30):
        while True:
            page = (await api.call("GET", "/sessions/alice/events?limit=1000")).body
            seq = page["events"][-1]["seq"] if page["events"] else 0
            if seq == last:
                return
            last = seq
            await asyncio.sleep(1.0)


async def test_a_failed_status_check_flips_the_status_at_once_and_recovers(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    paired = await paired_daemon(daemon_factory, sandbox, "15550001111", **SETTINGS)
    daemon, api = paired.daemon, paired.api
    await settled(api)

    checked = (await api.call("GET", "/sessions/alice")).body
    assert checked["status"] == "connected" and checked["socketAlive"] is True
    assert checked["liveness"]["lastPongAt"] is not None
    assert checked["liveness"]["pingRttMs"] >= 0
    assert checked["lastStatusCheck"] is not None

    jid = str(checked["jid"])
    await admin(
        sandbox,
        "POST",
        "/faults/stanzas",
        {"direction": "from_device", "action": "drop", "tag": "iq", "count": 1, "device": jid},
    )
    failed = (await api.call("GET", "/sessions/alice")).body
    assert failed["status"] != "connected", failed
    assert failed["socketAlive"] is False
    assert failed["recoveriesLastHour"] == 1
    status, reason = stored(daemon.database, "alice")
    assert status != "connected", (status, reason)
    recovering = daemon.matching("manager.recovering", session="alice")
    assert len(recovering) == 1
    assert recovering[0]["reason"].startswith("status check failed")

    # The recovery reconnects it; the next check pings again and succeeds.
    await api.wait_for("/sessions/alice", lambda s: s["status"] == "connected")
    events = (await api.call("GET", "/sessions/alice/events?types=session.recovery")).body
    assert [e["data"]["action"] for e in events["events"]] == ["reconnect"]
    assert await daemon.stop() == 0
