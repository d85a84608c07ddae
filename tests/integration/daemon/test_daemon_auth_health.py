"""A real daemon process: the auth matrix, and /health and /health/deep shapes and status
derivation for ok, degraded and error (the database locked by another process)."""

from __future__ import annotations

import asyncio
import sqlite3

from daemon_harness import ADMIN_KEY, DaemonFactory, admin, create_account, pair

from sandbox.app import SandboxServer

HEALTH_KEYS = {"status", "timestamp", "uptime", "sessions", "fleet"}
DEEP_KEYS = {"status", "timestamp", "uptime", "database", "sessions"}
DEEP_SESSION_KEYS = {
    "sessionId",
    "phoneNumber",
    "connectionStatus",
    "lastConnectedAt",
    "lastMessageAt",
    "socketAlive",
    "restrictions",  # reachout time-lock / message cap the service announced (issue 12)
    "servedBy",  # the daemon that owns the session (null without a fleet)
}


async def test_auth_matrix(daemon_factory: DaemonFactory) -> None:
    daemon = await daemon_factory()
    api = daemon.api()
    alice = (await api.call("POST", "/sessions", {"id": "alice"})).body["apiKey"]["key"]
    bob = (await api.call("POST", "/sessions", {"id": "bob"})).body["apiKey"]["key"]
    assert (await api.call("GET", "/health", key=None)).status == 200
    for path in ("/sessions/alice", "/sessions", "/health/deep", "/openapi.json", "/webhooks"):
        assert (await api.call("GET", path, key=None)).status == 401, path
        assert (await api.call("GET", path, key="wrong-key")).status == 401, path
    assert (await api.call("GET", "/sessions/alice", key=alice)).status == 200
    refused = await api.call("GET", "/sessions/alice", key=bob)
    assert refused.status == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    sent = await api.call("POST", "/sessions/alice/messages", {"to": "123", "text": "x"}, key=bob)
    assert sent.status == 403
    assert (await api.call("GET", "/sessions/alice/events", key=bob)).status == 403
    assert (await api.call("DELETE", "/sessions/alice", key=alice)).status == 403
    assert (await api.call("GET", "/sessions/bob", key=ADMIN_KEY)).status == 200
    assert await daemon.stop() == 0


async def test_health_ok_degraded_error(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, "15550001111", "Alice")
    daemon = await daemon_factory()
    api = daemon.api()
    empty = await api.call("GET", "/health", key=None)
    assert set(empty.body) == HEALTH_KEYS and empty.body["status"] == "ok"
    assert empty.body["fleet"] is None  # one daemon on SQLite: no fleet

    await pair(api, sandbox, "alice", "15550001111")
    ok = await api.call("GET", "/health", key=None)
    assert ok.status == 200 and ok.body["status"] == "ok"
    assert ok.body["sessions"] == {"total": 1, "connected": 1, "connecting": 0, "disconnected": 0}
    deep = await api.call("GET", "/health/deep")
    assert set(deep.body) == DEEP_KEYS
    assert set(deep.body["database"]) == {"connected", "latencyMs"}
    assert deep.body["database"]["connected"] is True
    (entry,) = deep.body["sessions"]
    assert set(entry) == DEEP_SESSION_KEYS
    assert entry["connectionStatus"] == "connected" and entry["socketAlive"] is True
    assert entry["phoneNumber"] == "15550001111" and entry["lastConnectedAt"] is not None

    # The server refuses this device's logins and drops its socket: not connected → degraded.
    session = (await api.call("GET", "/sessions/alice")).body
    await admin(sandbox, "POST", "/faults/refuse-logins", {"reason": 503, "device": session["jid"]})
    await admin(sandbox, "POST", "/faults/drop", {"device": session["jid"]})
    degraded = await api.wait_for("/health", lambda h: h["status"] == "degraded")
    assert degraded["sessions"]["connected"] == 0
    assert degraded["sessions"]["connecting"] + degraded["sessions"]["disconnected"] == 1
    stale = await api.call("GET", "/health/deep")
    assert stale.body["sessions"][0]["socketAlive"] is False
    await admin(sandbox, "DELETE", "/faults/refuse-logins", {"device": session["jid"]})
    await api.wait_for("/health", lambda h: h["status"] == "ok")

    # Another process takes the database's write lock: the daemon cannot persist → error.
    blocker = sqlite3.connect(daemon.database, isolation_level=None, timeout=5)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        error = await api.call("GET", "/health", key=None)
        assert error.status == 503 and error.body["status"] == "error"
        assert set(error.body) == HEALTH_KEYS
        deep_error = await api.call("GET", "/health/deep")
        assert deep_error.status == 503
        assert deep_error.body["database"] == {"connected": False, "latencyMs": None}
        assert [s["sessionId"] for s in deep_error.body["sessions"]] == ["alice"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    async with asyncio.timeout(15):
        while (await api.call("GET", "/health", key=None)).body["status"] != "ok":
            await asyncio.sleep(0.2)
    assert await daemon.stop() == 0
