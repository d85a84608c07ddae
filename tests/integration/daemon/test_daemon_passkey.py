"""Passkey linking through a real daemon: for an account that requires a passkey the session
does not stall in ``pairing`` — it ends ``passkey_required`` with an alert that says what to do
(the API shows the state and the reason) — and pairs normally once the requirement is lifted."""

from __future__ import annotations

import aiohttp
from daemon_harness import DaemonFactory, admin, create_account

from sandbox.app import SandboxServer

OWNER = "15550001111"


async def _scan(sandbox: SandboxServer, qr: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{sandbox.admin_url}/accounts/{OWNER}/scan-qr", json={"qr": qr}) as response,
    ):
        return response.status


async def test_a_passkey_account_ends_passkey_required_then_pairs_once_lifted(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await admin(sandbox, "POST", f"/accounts/{OWNER}/passkey", {"required": True})
    daemon = await daemon_factory()
    api = daemon.api()
    created = await api.call("POST", "/sessions", {"id": "crm", "name": "crm"})
    assert created.status == 201
    qr = await api.call("POST", "/sessions/crm/pair")
    assert qr.status == 200
    assert await _scan(sandbox, qr.body["qr"]) == 409  # the phone cannot finish the link

    session = await api.wait_for("/sessions/crm", lambda s: s["status"] == "passkey_required")
    assert "passkey" in str(session)
    alerts = await api.wait_for("/sessions/crm/events?types=alert", lambda b: len(b["events"]) >= 1)
    alert = alerts["events"][0]["data"]
    assert alert["kind"] == "passkey_required"
    assert "Settings > Account > Passkeys" in alert["message"]
    states = await api.call("GET", "/sessions/crm/events?types=connection.state")
    assert states.body["events"][-1]["data"]["to"] == "passkey_required"
    await daemon.wait_log("client.passkey_required", rp_id="whatsapp.com")

    await admin(sandbox, "POST", f"/accounts/{OWNER}/passkey", {"required": False})
    again = await api.call("POST", "/sessions/crm/pair")
    assert again.status == 200, again.body
    assert await _scan(sandbox, again.body["qr"]) == 200
    await api.wait_for("/sessions/crm", lambda s: s["status"] == "connected")
    assert await daemon.stop() == 0
