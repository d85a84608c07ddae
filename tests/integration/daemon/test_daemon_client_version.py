"""Client version freshness through a real daemon: with the default ``client_version = "auto"``
it announces the version the service's page names; when the service starts refusing that version
(405) it re-checks once, takes the newer one and reconnects; when nothing newer is announced the
session ends ``outdated`` with an alert that says what to do."""

from __future__ import annotations

from daemon_harness import DaemonFactory, admin, create_account, device_jid, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
FIRST = "2.3000.1100000000"
SECOND = "2.3000.1200000000"


async def test_auto_version_rechecked_on_405_then_outdated(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await admin(sandbox, "POST", "/client-version", {"current": FIRST})
    daemon = await daemon_factory()
    chosen = daemon.matching("daemon.client_version")
    assert chosen and chosen[0]["version"] == FIRST and chosen[0]["source"] == "service"
    api = daemon.api()
    await pair(api, sandbox, "crm", OWNER)
    device = device_jid((await api.call("GET", "/sessions/crm")).body)

    # The service retires FIRST and announces SECOND: one 405, a re-check, back online.
    await admin(sandbox, "POST", "/client-version", {"current": SECOND, "minimum": SECOND})
    await admin(sandbox, "POST", "/faults/drop", {"device": device})
    await daemon.wait_log("client.version_rechecked", refused=FIRST, latest=SECOND)
    await daemon.wait_log("client.state", to_state="connected", count=2)
    session = (await api.call("GET", "/sessions/crm")).body
    assert session["status"] == "connected"

    # It retires SECOND too but announces nothing newer: outdated, and the alert says why.
    await admin(sandbox, "POST", "/client-version", {"minimum": "2.3000.1300000000"})
    await admin(sandbox, "POST", "/faults/drop", {"device": device})
    await api.wait_for("/sessions/crm", lambda s: s["status"] == "outdated")
    body = await api.wait_for("/sessions/crm/events?types=alert", lambda b: len(b["events"]) >= 1)
    alert = body["events"][0]["data"]
    assert alert["kind"] == "client_outdated"
    assert SECOND in alert["message"] and '"auto"' in alert["message"]
    assert "re-checking" in alert["message"]
    assert await daemon.stop() == 0
