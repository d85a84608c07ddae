"""A real daemon process: the start-up retry schedule driven by a sandbox that refuses logins,
and the shutdown (SIGTERM → sessions recorded as disconnected, exit 0, in bounded time)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from pathlib import Path

from daemon_harness import DaemonFactory, admin, create_account, pair

from sandbox.app import SandboxServer

DELAYS = [0.3, 0.6, 1.2]


def stored_status(database: object, session_id: str) -> tuple[str, str | None, str]:
    with sqlite3.connect(str(database)) as db:
        row = db.execute(
            "SELECT status, last_error, status_reason FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    assert row is not None
    return str(row[0]), row[1], str(row[2])


def notifications(sock: socket.socket) -> list[dict[str, str]]:
    found = []
    while True:
        try:
            datagram = sock.recv(4096)
        except BlockingIOError:
            return found
        found.append(dict(line.split("=", 1) for line in datagram.decode().split("\n")))


async def test_shutdown_marks_sessions_disconnected_and_exits_zero(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, tmp_path: Path
) -> None:
    await create_account(sandbox, "15550001111", "Alice")
    await create_account(sandbox, "15550002222", "Bob")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.setblocking(False)
    environ = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "400000"}
    daemon = await daemon_factory(environ=environ)
    await asyncio.sleep(0.5)
    started_up = notifications(notify)
    assert started_up[0] == {"STATUS": "starting"}
    assert started_up[1]["READY"] == "1" and started_up[1]["MAINPID"] == str(daemon.pid)
    assert sum(n == {"WATCHDOG": "1"} for n in started_up) >= 2  # every 200 ms
    api = daemon.api()
    await pair(api, sandbox, "alice", "15550001111")
    await pair(api, sandbox, "bob", "15550002222")
    sockets_before = len(sandbox.network.faults.sockets())
    assert sockets_before == 2
    started = time.monotonic()
    assert await daemon.stop() == 0
    assert time.monotonic() - started < 10.0
    for session_id in ("alice", "bob"):
        status, _error, reason = stored_status(daemon.database, session_id)
        assert (status, reason) == ("disconnected", "daemon stopped")
    # Sockets were closed by the daemon, not left to time out.
    assert len(sandbox.network.faults.sockets()) == 0
    stopping = daemon.matching("daemon.stopping")
    assert stopping and daemon.matching("daemon.stopped")
    assert {"STOPPING": "1", "STATUS": "stopping"} in notifications(notify)
    notify.close()


async def test_startup_retry_schedule_then_the_client_backoff(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, "15550001111", "Alice")
    first = await daemon_factory()
    session = (await pair(first.api(), sandbox, "alice", "15550001111"))["sessionId"]
    jid = (await first.api().call("GET", f"/sessions/{session}")).body["jid"]
    assert await first.stop() == 0

    # The server refuses this device's logins with 503 (a transient failure).
    await admin(sandbox, "POST", "/faults/refuse-logins", {"reason": 503, "device": jid})
    second = await daemon_factory(manager={"startup_retry_delays_s": DELAYS})
    await second.wait_log("manager.status", to_status="disconnected", session="alice")
    failures = second.matching("manager.startup_attempt_failed", session="alice")
    assert [f["attempt"] for f in failures] == [1, 2, 3, 4]
    assert all(f["error"].startswith("503") for f in failures)
    scheduled = second.matching("manager.startup_retry_scheduled", session="alice")
    assert [s["delay"] for s in scheduled] == DELAYS
    # Each retry starts after its delay (the attempt itself takes a few milliseconds more).
    for earlier, later, delay in zip(failures, failures[1:], DELAYS, strict=False):
        gap = later["_at"] - earlier["_at"]
        assert delay <= gap < delay + 1.5, (gap, delay)
    status, last_error, reason = stored_status(second.database, "alice")
    assert last_error is not None and last_error.startswith("503")
    assert "client backoff takes over" in reason or status in ("connecting", "backing_off")
    # The client's own backoff retries from here; to an operator the session stays
    # disconnected (and is counted so) until it connects.
    await asyncio.sleep(1.0)
    assert (await second.api().call("GET", "/sessions/alice")).body["status"] == "disconnected"
    counts = (await second.api().call("GET", "/health")).body["sessions"]
    assert (counts["disconnected"], counts["connecting"]) == (1, 0)

    # The client's own backoff keeps trying: lifting the refusal gets the session connected.
    await admin(sandbox, "DELETE", "/faults/refuse-logins", {"device": jid})
    await second.api().wait_for("/sessions/alice", lambda s: s["status"] == "connected")
    assert await second.stop() == 0
