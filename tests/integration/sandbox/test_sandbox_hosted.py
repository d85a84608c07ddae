"""A business account's hosted (Cloud API) device (``sandbox.phone.hosted``): switched on and off
through the admin API, listed by usync as ``is_hosted``, reached by phones' DMs, answering them,
and keeping its identity and sessions across a sandbox restart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from daemon.binary import JID, Node
from sandbox.app import SandboxServer
from tests.integration.sandbox.helpers import TIMEOUT, admin, login, pair_directly

ALICE = "15550090001"
BIZ = "15550090002"


async def until(check: Callable[[], Awaitable[Any]]) -> Any:
    async with asyncio.timeout(TIMEOUT):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


async def ok(server: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    status, payload = await admin(server, method, path, body)
    assert status < 300, payload
    return payload


async def test_hosted_device_switch_dms_replies_and_restart(sandbox: SandboxServer) -> None:
    await ok(sandbox, "POST", "/admin/accounts", {"phone": ALICE, "push_name": "Alice"})
    business = await ok(sandbox, "POST", "/admin/accounts", {"phone": BIZ, "push_name": "Biz"})
    assert business["hosted_device"] is None
    status, _ = await admin(sandbox, "GET", f"/admin/accounts/{BIZ}/hosted/messages")
    assert status == 409
    status, _ = await admin(sandbox, "POST", f"/admin/accounts/{BIZ}/hosted", {"enabled": "yes"})
    assert status == 400

    switched = await ok(sandbox, "POST", f"/admin/accounts/{BIZ}/hosted", {"enabled": True})
    assert switched["enabled"] and switched["device"]["jid"] == f"{BIZ}:99@hosted"
    identity = switched["device"]["identity_public"]
    assert identity != business["identity_public"] and switched["device"]["key_index"] > 0

    # Usync lists it apart, as the service does.
    network = sandbox.network
    alice = network.directory.account(ALICE)
    companion = await login(sandbox, await pair_directly(sandbox, alice))
    answer = await companion.iq(
        "usync",
        "get",
        [
            Node(
                "usync",
                {"sid": "s1", "mode": "query", "context": "message", "last": "true", "index": "0"},
                [
                    Node("query", {}, [Node("devices", {"version": "2"})]),
                    Node("list", {}, [Node("user", {"jid": JID(BIZ, "s.whatsapp.net")})]),
                ],
            )
        ],
    )
    device_list = answer.child("usync", "list", "user", "devices", "device-list")
    assert device_list is not None
    listed = {d.attr_str("id"): dict(d.attrs) for d in device_list.children_by_tag("device")}
    assert listed["99"]["is_hosted"] == "true" and listed["99"]["key-index"]
    assert "is_hosted" not in listed["0"]
    await companion.close()

    # Alice's phone writes to the business: its hosted device decrypts the DM and answers.
    sent = await ok(sandbox, "POST", f"/admin/accounts/{ALICE}/messages", {"to": BIZ, "text": "hi"})
    got = await until(lambda: ok(sandbox, "GET", f"/admin/accounts/{BIZ}/hosted/messages"))
    assert [(m["id"], m["text"], m["chat"]) for m in got] == [
        (sent["id"], "hi", f"{ALICE}@s.whatsapp.net")
    ]
    reply = await ok(
        sandbox, "POST", f"/admin/accounts/{BIZ}/hosted/messages", {"to": ALICE, "text": "hello"}
    )

    async def alice_got(message_id: str) -> list[Any]:
        messages = await ok(sandbox, "GET", f"/admin/accounts/{ALICE}/messages")
        return [m for m in messages if m["id"] == message_id]

    [seen] = await until(lambda: alice_got(reply["id"]))
    assert seen["text"] == "hello" and seen["chat"] == f"{BIZ}@s.whatsapp.net"

    # A restart keeps the business's hosted device, its identity and its sessions.
    await sandbox.restart()
    again = await ok(sandbox, "GET", f"/admin/accounts/{BIZ}/hosted")
    assert again["enabled"] and again["device"]["identity_public"] == identity
    second = await ok(
        sandbox, "POST", f"/admin/accounts/{ALICE}/messages", {"to": BIZ, "text": "still there?"}
    )

    async def hosted_got() -> list[Any]:
        messages = await ok(sandbox, "GET", f"/admin/accounts/{BIZ}/hosted/messages")
        return [m for m in messages if m["id"] == second["id"]]

    await until(hosted_got)
    later = await ok(
        sandbox, "POST", f"/admin/accounts/{BIZ}/hosted/messages", {"to": ALICE, "text": "yes"}
    )
    await until(lambda: alice_got(later["id"]))

    # Switched off: no longer listed, no longer reached.
    off = await ok(sandbox, "POST", f"/admin/accounts/{BIZ}/hosted", {"enabled": False})
    assert not off["enabled"] and off["device"] is None
    assert (await ok(sandbox, "GET", f"/admin/accounts/{BIZ}"))["hosted_device"] is None
    status, _ = await admin(sandbox, "GET", f"/admin/accounts/{BIZ}/hosted/messages")
    assert status == 409
