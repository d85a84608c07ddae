"""Every fault-injection endpoint of the admin API, shown on a connected client."""

from __future__ import annotations

import asyncio
import time

from helpers import (
    Companion,
    TestClient,
    admin,
    login,
    login_payload,
    pair_directly,
    tag_is,
    text_message,
)

from sandbox.app import SandboxServer


async def paired_client(
    server: SandboxServer, phone: str = "15550020001"
) -> tuple[Companion, TestClient]:
    account = await server.network.create_account(phone)
    companion = await pair_directly(server, account)
    return companion, await login(server, companion)


async def test_drop_one_connection_aborts_only_that_socket(bare_sandbox: SandboxServer) -> None:
    first, a = await paired_client(bare_sandbox, "15550020001")
    _second, b = await paired_client(bare_sandbox, "15550020002")
    status, body = await admin(
        bare_sandbox, "POST", "/admin/faults/drop", {"device": str(first.jid)}
    )
    assert status == 200 and body == {"dropped": 1}
    await a.wait_closed()
    # Aborted, not closed politely: the client saw no stream error.
    assert not any(n.tag == "stream:error" for n in a.inbox)
    assert (await b.iq("w:p", "get")).attr_str("type") == "result"
    # The dropped device can come straight back.
    again = await login(bare_sandbox, first)
    await again.close()
    await b.close()


async def test_drop_all_connections(bare_sandbox: SandboxServer) -> None:
    _, a = await paired_client(bare_sandbox, "15550020011")
    _, b = await paired_client(bare_sandbox, "15550020012")
    status, body = await admin(bare_sandbox, "POST", "/admin/faults/drop", {})
    assert status == 200 and body == {"dropped": 2}
    await a.wait_closed()
    await b.wait_closed()


async def test_stream_error_with_a_code(bare_sandbox: SandboxServer) -> None:
    companion, client = await paired_client(bare_sandbox, "15550020021")
    status, _ = await admin(
        bare_sandbox,
        "POST",
        "/admin/faults/stream-error",
        {"code": 503, "device": str(companion.jid)},
    )
    assert status == 200
    error = await client.wait_for(tag_is("stream:error"))
    assert error.attr_str("code") == "503" and error.children == []
    await client.wait_closed()


async def test_stream_error_440_is_a_replaced_conflict(bare_sandbox: SandboxServer) -> None:
    _companion, client = await paired_client(bare_sandbox, "15550020031")
    await admin(bare_sandbox, "POST", "/admin/faults/stream-error", {"code": 440})
    error = await client.wait_for(tag_is("stream:error"))
    assert error.attr_str("code") is None
    assert error.child("conflict").attr_str("type") == "replaced"  # type: ignore[union-attr]
    await client.wait_closed()


async def test_delay_stanzas_to_a_device(bare_sandbox: SandboxServer) -> None:
    companion, client = await paired_client(bare_sandbox, "15550020041")
    status, rule = await admin(
        bare_sandbox,
        "POST",
        "/admin/faults/stanzas",
        {
            "direction": "to_device",
            "action": "delay",
            "delay": 0.4,
            "device": str(companion.jid),
            "tag": "iq",
            "count": 1,
        },
    )
    assert status == 201 and rule["remaining"] == 1
    started = time.monotonic()
    await client.iq("w:p", "get")
    assert time.monotonic() - started >= 0.35
    started = time.monotonic()
    await client.iq("w:p", "get")  # the rule applied to one stanza only
    assert time.monotonic() - started < 0.35
    await client.close()


async def test_drop_stanzas_to_and_from_a_device(bare_sandbox: SandboxServer) -> None:
    network = bare_sandbox.network
    alice = await network.create_account("15550020051", enforcing=False)
    bob = await network.create_account("15550020052", enforcing=False)
    a_companion = await pair_directly(bare_sandbox, alice)
    b_companion = await pair_directly(bare_sandbox, bob)
    a, b = await login(bare_sandbox, a_companion), await login(bare_sandbox, b_companion)

    await admin(
        bare_sandbox,
        "POST",
        "/admin/faults/stanzas",
        {
            "direction": "to_device",
            "action": "drop",
            "device": str(b_companion.jid),
            "tag": "message",
        },
    )
    await a.send(text_message("3EB0DROP", bob.pn, {b_companion.jid: b"lost"}))
    await a.wait_for(tag_is("ack", id="3EB0DROP"))
    await b.iq("w:p", "get")
    assert not any(n.tag == "message" for n in b.inbox)
    # Dropped on the way, not lost: it stays queued until acked, so a reconnect brings it.
    assert [n.attr_str("id") for n in await network.offline.pending(b_companion.jid)] == [
        "3EB0DROP"
    ]
    status, _ = await admin(bare_sandbox, "DELETE", "/admin/faults/stanzas")
    assert status == 200

    await admin(
        bare_sandbox,
        "POST",
        "/admin/faults/stanzas",
        {
            "direction": "from_device",
            "action": "drop",
            "device": str(a_companion.jid),
            "tag": "iq",
            "count": 1,
        },
    )
    ping = asyncio.create_task(a.iq("w:p", "get"))
    await asyncio.sleep(0.3)
    assert not ping.done()  # the server never saw it
    ping.cancel()
    assert (await a.iq("w:p", "get")).attr_str("type") == "result"
    await a.close()
    await b.close()


async def test_refuse_logins_for_a_device_then_for_all(bare_sandbox: SandboxServer) -> None:
    account = await bare_sandbox.network.create_account("15550020061")
    companion = await pair_directly(bare_sandbox, account)
    status, _ = await admin(
        bare_sandbox,
        "POST",
        "/admin/faults/refuse-logins",
        {"reason": 403, "device": str(companion.jid)},
    )
    assert status == 201
    client = await TestClient.open(bare_sandbox, login_payload(companion.jid), companion.keys.noise)
    failure = await client.wait_for(tag_is("failure"))
    assert failure.attr_str("reason") == "403"
    await client.wait_closed()

    await admin(bare_sandbox, "DELETE", "/admin/faults/refuse-logins", {})
    await admin(bare_sandbox, "POST", "/admin/faults/refuse-logins", {"reason": 503})
    client = await TestClient.open(bare_sandbox, login_payload(companion.jid), companion.keys.noise)
    assert (await client.wait_for(tag_is("failure"))).attr_str("reason") == "503"
    await client.wait_closed()

    await admin(bare_sandbox, "DELETE", "/admin/faults/refuse-logins", {})
    client = await login(bare_sandbox, companion)
    await client.close()


async def test_log_a_device_out(bare_sandbox: SandboxServer) -> None:
    companion, client = await paired_client(bare_sandbox, "15550020071")
    status, body = await admin(bare_sandbox, "POST", f"/admin/devices/{companion.jid}/logout")
    assert status == 200 and body["closed"] == 1
    error = await client.wait_for(tag_is("stream:error"))
    assert error.attr_str("code") == "401"
    assert error.child("conflict").attr_str("type") == "device_removed"  # type: ignore[union-attr]
    await client.wait_closed()
    again = await TestClient.open(bare_sandbox, login_payload(companion.jid), companion.keys.noise)
    assert (await again.wait_for(tag_is("failure"))).attr_str("reason") == "401"
    # Gone from usync answers too.
    account = bare_sandbox.network.directory.account("15550020071")
    assert [d.device_id for d in bare_sandbox.network.directory.devices(account.phone_user)] == [0]


async def test_restart_keeps_accounts_devices_and_queued_messages(
    bare_sandbox: SandboxServer,
) -> None:
    network = bare_sandbox.network
    alice = await network.create_account("15550020081", push_name="Alice", enforcing=False)
    bob = await network.create_account("15550020082", enforcing=False)
    a_companion = await pair_directly(bare_sandbox, alice)
    b_companion = await pair_directly(bare_sandbox, bob)
    a = await login(bare_sandbox, a_companion)
    await a.send(text_message("3EB0RST1", bob.pn, {b_companion.jid: b"survives"}))
    await a.wait_for(tag_is("ack", id="3EB0RST1"))
    port, root = bare_sandbox.port, bare_sandbox.root_public_key

    status, _ = await admin(bare_sandbox, "POST", "/admin/restart")
    assert status == 202
    await a.wait_closed()
    for _ in range(100):
        if bare_sandbox.restarts == 1:
            break
        await asyncio.sleep(0.05)
    assert bare_sandbox.restarts == 1
    assert bare_sandbox.port == port and bare_sandbox.root_public_key == root
    assert bare_sandbox.network is not network
    restored = bare_sandbox.network.directory.account("15550020082")
    assert restored.identity == bob.identity

    b = await login(bare_sandbox, b_companion)
    message = await b.wait_for(tag_is("message", id="3EB0RST1"))
    assert message.child("enc").content_bytes() == b"survives"  # type: ignore[union-attr]
    a = await login(bare_sandbox, a_companion)
    await a.close()
    await b.close()
