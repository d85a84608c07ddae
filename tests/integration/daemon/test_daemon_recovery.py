"""A real daemon process: automatic recovery of a dead socket, and its hourly limit, driven by
sandbox faults.

The client's keepalive is set slow here (pings every second, but 30 s to give up on an answer)
so that the manager's watchdog, which looks for frames, is the one that notices: the sandbox
swallows the next ping, no frame arrives for ``dead_after_s``, and the manager reconnects.
"""

from __future__ import annotations

import asyncio

from daemon_harness import Api, DaemonFactory, admin, create_account, pair

from sandbox.app import SandboxServer

SETTINGS = {
    "client": {"keepalive_min_s": 1.0, "keepalive_max_s": 1.0, "keepalive_timeout_s": 30.0},
    "recovery": {"check_interval_s": 0.25, "dead_after_s": 3.5, "max_per_hour": 3},
}


async def silence_next_ping(sandbox: SandboxServer, jid: str) -> None:
    await admin(
        sandbox,
        "POST",
        "/faults/stanzas",
        {"direction": "from_device", "action": "drop", "tag": "iq", "count": 1, "device": jid},
    )


async def connected_and_settled(api: Api) -> dict[str, object]:
    session = await api.wait_for("/sessions/alice", lambda s: s["status"] == "connected")
    # Let the post-login queries finish, so the swallowed iq is a keepalive ping.
    await asyncio.sleep(0.5)
    return dict(session)


async def test_dead_sockets_are_recovered_three_times_an_hour_then_wait(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, "15550001111", "Alice")
    daemon = await daemon_factory(**SETTINGS)
    api = daemon.api()
    await pair(api, sandbox, "alice", "15550001111")
    jid = str((await api.call("GET", "/sessions/alice")).body["jid"])

    for attempt in (1, 2, 3):
        await connected_and_settled(api)
        await silence_next_ping(sandbox, jid)
        recovered = await daemon.wait_log("manager.recovering", count=attempt, session="alice")
        assert recovered["attempt"] == attempt
        assert recovered["reason"].startswith("no frame received for")

    await connected_and_settled(api)
    await silence_next_ping(sandbox, jid)
    await daemon.wait_log("manager.recovery_limit", session="alice")
    session = await api.wait_for("/sessions/alice", lambda s: s["status"] == "needs_attention")
    assert "automatic recovery limit reached (3 in the last hour)" in session["statusReason"]
    assert session["recoveriesLastHour"] == 3
    await asyncio.sleep(1.0)
    still = (await api.call("GET", "/sessions/alice")).body
    assert still["status"] == "needs_attention"  # nobody reconnects it automatically

    events = (await api.call("GET", "/sessions/alice/events?types=session.recovery,alert")).body
    actions = [e["data"].get("action") for e in events["events"] if e["type"] == "session.recovery"]
    assert actions == ["reconnect", "reconnect", "reconnect", "needs_attention"]
    assert any(e["data"].get("kind") == "needs_attention" for e in events["events"])

    # A person reconnects it.
    result = (await api.call("POST", "/sessions/alice/reconnect")).body
    assert result["success"] is True, result
    assert (await api.call("GET", "/sessions/alice")).body["recoveriesLastHour"] == 0
    assert await daemon.stop() == 0
