"""The admin API with simulated phones: accounts, QR scans (ours and the Baileys-compatible
one), a phone sending through the network, what a device received, auto-scan."""

from __future__ import annotations

from pathlib import Path

from helpers import (
    DeviceKeys,
    admin,
    answer_pair_success,
    expect_restart,
    login,
    start_registration,
    tag_is,
)

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import phone_for_push_name
from sandbox.phone import SimulatedPhone


async def test_info_and_accounts(sandbox: SandboxServer) -> None:
    status, info = await admin(sandbox, "GET", "/admin/info")
    assert status == 200 and info["ws_url"] == sandbox.ws_url
    assert info["root_public_key"] == sandbox.root_public_key.hex()
    assert (sandbox.state_dir / "root.pub").read_text().strip() == info["root_public_key"]

    status, account = await admin(
        sandbox, "POST", "/admin/accounts", {"phone": "15550050001", "push_name": "Carol"}
    )
    assert status == 201 and account["jid"] == "15550050001@s.whatsapp.net"
    assert account["lid"].endswith("@lid") and account["has_phone"]
    assert [d["device_id"] for d in account["devices"]] == [0]
    status, _ = await admin(sandbox, "POST", "/admin/accounts", {"phone": "15550050001"})
    assert status == 409
    status, problem = await admin(sandbox, "GET", "/admin/accounts/15559999999")
    assert status == 404 and problem["status"] == 404
    status, listing = await admin(sandbox, "GET", "/admin/accounts")
    assert [a["phone"] for a in listing] == ["15550050001"]


async def test_scan_qr_through_the_admin_api_then_phone_sends(sandbox: SandboxServer) -> None:
    await admin(sandbox, "POST", "/admin/accounts", {"phone": "15550050011", "push_name": "Dan"})
    status, erin = await admin(sandbox, "POST", "/admin/accounts", {"phone": "15550050012"})
    assert status == 201
    registering = await start_registration(sandbox, push_name="dan-laptop")
    import asyncio

    scan = asyncio.create_task(
        admin(sandbox, "POST", "/admin/accounts/15550050011/scan-qr", {"qr": registering.qr})
    )
    jid = await answer_pair_success(registering)
    status, device = await scan
    assert status == 200 and device["jid"] == str(jid) == "15550050011:1@s.whatsapp.net"
    await expect_restart(registering.client)

    from helpers import Companion

    client = await login(sandbox, Companion(registering.keys, jid, "dan-laptop"))
    # Erin's phone writes to Dan: Dan's companion gets it, encrypted for it (a pkmsg).
    status, sent = await admin(
        sandbox,
        "POST",
        "/admin/accounts/15550050012/messages",
        {"to": "15550050011", "text": "hi Dan"},
    )
    assert status == 200
    message = await client.wait_for(tag_is("message", id=sent["id"]))
    # Accounts are LID-migrated: the DM comes from Erin's LID, her number beside it.
    assert message.attr_str("from") == erin["lid"]
    assert message.attr_str("sender_pn") == erin["jid"]
    assert message.child("enc").attr_str("type") == "pkmsg"  # type: ignore[union-attr]
    status, received = await admin(sandbox, "GET", f"/admin/devices/{jid}/received?tag=message")
    assert status == 200 and sent["id"] in [m["attrs"]["id"] for m in received]
    await client.close()


async def test_baileys_compatible_mock_phone_scan_qr(sandbox: SandboxServer) -> None:
    registering = await start_registration(sandbox, push_name="integration-bot")
    import asyncio

    scan = asyncio.create_task(
        admin(sandbox, "POST", "/admin/mock-phone/scan-qr", data=registering.qr)
    )
    jid = await answer_pair_success(registering)
    status, body = await scan
    assert status == 200
    # The account was made on the fly, its number derived from the push name.
    assert body["account"]["phone"] == phone_for_push_name("integration-bot") == jid.user
    # Baileys' harness contract: accounts made on the fly are served as legacy clients.
    assert body["account"]["enforcing"] is False
    await expect_restart(registering.client)
    # Its history goes inline: Baileys downloads history blobs only from WhatsApp's media host.
    made = sandbox.network.phones[jid.user]
    assert isinstance(made, SimulatedPhone) and made.settings.history.inline_everything

    status, problem = await admin(sandbox, "POST", "/admin/mock-phone/scan-qr", data="not a qr")
    assert status == 400 and problem["title"] == "bad request"


async def test_auto_scan_links_clients_that_use_the_known_adv_secret(tmp_path: Path) -> None:
    config = SandboxConfig(state_dir=tmp_path / "auto", auto_scan=True)
    async with SandboxServer(config) as server:
        keys = DeviceKeys(adv_secret=config.auto_scan_adv_secret)
        registering = await start_registration(server, keys, push_name="auto-client")
        jid = await answer_pair_success(registering)
        await expect_restart(registering.client)
        assert jid.user == phone_for_push_name("auto-client")
        device = server.network.directory.device(jid)
        assert device is not None and device.noise_public == keys.noise.public
