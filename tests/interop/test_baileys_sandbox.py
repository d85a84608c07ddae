"""The sandbox proven against an independent client: the unmodified npm `baileys` 7.0.0-rc14,
told only the sandbox's websocket URL and root key, registers, shows a QR that the sandbox
phone scans (through the same `/admin/mock-phone/scan-qr` endpoint Baileys' own e2e harness
uses), receives pair-success, restarts on 515, logs in, messages another account's phone,
gets the phone's reply and delivery receipts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from baileys_client import (
    BaileysClient,
    BaileysTimeout,
    ConnectionEvent,
    CredsEvent,
    MessageStatus,
    MessageStatusEvent,
    NodeSetup,
    post_scan_qr,
)

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig


@pytest.fixture(params=["ws", "wss"])
async def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SandboxServer]:
    config = SandboxConfig(state_dir=tmp_path / "sandbox", tls=request.param == "wss")
    async with SandboxServer(config) as server:
        yield server


async def _admin(server: SandboxServer, method: str, path: str, body: object) -> object:
    connector = aiohttp.TCPConnector(ssl=False)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.request(method, server.origin.rstrip("/") + path, json=body) as response,
    ):
        assert response.status < 300, await response.text()
        return await response.json()


async def test_baileys_pairs_logs_in_and_talks_to_a_sandbox_phone(
    sandbox: SandboxServer, baileys_node: NodeSetup, tmp_path: Path
) -> None:
    target = "15550001111"
    await _admin(sandbox, "POST", "/admin/accounts", {"phone": target, "push_name": "Target"})
    await _admin(sandbox, "POST", f"/admin/accounts/{target}/auto-reply", {"enabled": True})

    async with BaileysClient(
        ws_url=sandbox.ws_url,
        auth_dir=tmp_path / "baileys-auth",
        root_key=sandbox.root_public_key,
        push_name="Interop Baileys",
    ) as baileys:
        assert await baileys.get_root_key() == sandbox.root_public_key
        start = baileys.mark()
        await baileys.connect()
        qr = await baileys.wait_qr(30, since=start)
        assert qr.startswith("https://wa.me/settings/linked_devices#")
        await post_scan_qr(sandbox.origin, qr)

        # pair-success gives Baileys its identity; the sandbox then ends the stream with 515
        # and Baileys (the driver, as its README says) comes back on a new socket and logs in.
        creds = await baileys.wait_for(CredsEvent, lambda e: e.me is not None, 30, since=start)
        assert creds.me is not None
        restart = await baileys.wait_for(
            ConnectionEvent, lambda e: e.connection == "close", 30, since=start
        )
        assert restart.status == 515
        opened = await baileys.wait_open(30, since=start)
        assert opened.socket > restart.socket
        me = await baileys.me()
        assert me is not None and me.lid is not None and me.lid.endswith("@lid")

        # The account now has a companion device, registered with Baileys' own keys.
        accounts = await _admin(sandbox, "GET", "/admin/accounts", None)
        assert isinstance(accounts, list)
        own_user = me.id.split(":")[0].split("@")[0]
        ours = next(a for a in accounts if a["phone"] == own_user)
        assert any(d["device_id"] != 0 for d in ours["devices"])

        sent = await baileys.send_text(f"{target}@s.whatsapp.net", "hello phone")
        reply = await baileys.wait_text("echo: hello phone", 30)
        assert reply.key.remote_jid is not None
        assert reply.key.remote_jid.split("@")[0] in {target, *_lids(accounts, target)}
        try:
            await baileys.wait_status(sent.id, MessageStatus.DELIVERY_ACK, 30)
        except BaileysTimeout:
            device = next(d for d in ours["devices"] if d["device_id"] != 0)["jid"]
            receipts = await _admin(
                sandbox, "GET", f"/admin/devices/{device}/received?tag=receipt", None
            )
            statuses = [e for e in baileys.events if isinstance(e, MessageStatusEvent)]
            pytest.fail(
                f"no delivery status for {sent.id}; statuses {statuses}; sandbox sent {receipts}"
            )

        received = await _admin(sandbox, "GET", f"/admin/accounts/{target}/messages", None)
        assert isinstance(received, list)
        assert any(m.get("text") == "hello phone" for m in received)
        assert baileys.errors == []


def _lids(accounts: list[dict[str, object]], phone: str) -> set[str]:
    account = next(a for a in accounts if a["phone"] == phone)
    lid = account.get("lid")
    return {str(lid).split("@")[0]} if lid else set()
