"""Registration, pairing (QR and pair code) and login against a real sandbox."""

from __future__ import annotations

import asyncio

import pytest
from helpers import (
    DeviceKeys,
    TestClient,
    answer_pair_success,
    child_bytes,
    companion_finish_node,
    companion_hello_node,
    login,
    login_payload,
    pair_directly,
    pn,
    start_registration,
    tag_is,
)

from daemon.binary import JID, SERVER_JID, Node, Server
from daemon.crypto import pair_code
from daemon.crypto.adv import sign_companion
from daemon.crypto.curve import KeyPair
from sandbox.app import SandboxServer
from sandbox.pairing import REF_COUNT, PairingFailed


async def test_register_pair_and_log_in(bare_sandbox: SandboxServer) -> None:
    account = await bare_sandbox.network.create_account("15550001111", push_name="Alice")
    registering = await start_registration(bare_sandbox)
    assert len(registering.refs) == REF_COUNT == 6
    await registering.client.close()

    companion = await pair_directly(bare_sandbox, account, push_name="alice-laptop")
    assert companion.jid == pn("15550001111", 1)
    device = bare_sandbox.network.directory.device(companion.jid)
    assert device is not None and device.noise_public == companion.keys.noise.public
    assert device.identity_public == companion.keys.identity.public
    assert device.key_index == 1 and account.next_key_index == 2

    client = await login(bare_sandbox, companion)
    marker = await client.wait_for(tag_is("ib"))
    assert marker.child("offline").attr_str("count") == "0"  # type: ignore[union-attr]
    await client.close()


async def test_success_carries_time_and_lid(bare_sandbox: SandboxServer) -> None:
    account = await bare_sandbox.network.create_account("15550001112")
    companion = await pair_directly(bare_sandbox, account)
    client = await TestClient.open(bare_sandbox, login_payload(companion.jid), companion.keys.noise)
    success = await client.wait_for(tag_is("success"))
    assert success.attr_jid("lid") == JID(account.lid_user, Server.LID, 1)
    assert abs(int(success.attr_str("t") or 0) - bare_sandbox.network.now()) <= 2
    await client.close()


async def test_unknown_device_and_wrong_noise_key_get_failure_401(
    bare_sandbox: SandboxServer,
) -> None:
    account = await bare_sandbox.network.create_account("15550001113")
    companion = await pair_directly(bare_sandbox, account)
    stranger = await TestClient.open(
        bare_sandbox, login_payload(pn("15550009999", 1)), KeyPair.generate()
    )
    assert (await stranger.wait_for(tag_is("failure"))).attr_str("reason") == "401"
    impostor = await TestClient.open(bare_sandbox, login_payload(companion.jid), KeyPair.generate())
    assert (await impostor.wait_for(tag_is("failure"))).attr_str("reason") == "401"
    await stranger.wait_closed()
    await impostor.wait_closed()


async def test_companion_refusing_pair_success_fails_the_pairing(
    bare_sandbox: SandboxServer,
) -> None:
    account = await bare_sandbox.network.create_account("15550001114")
    registering = await start_registration(bare_sandbox)
    client = registering.client
    # Signed with another ADV secret than the QR's: the companion must refuse it.
    container = sign_companion(
        account.identity, registering.keys.identity.public, b"\x01" * 32, 1, 1, 0
    )
    complete = asyncio.create_task(
        bare_sandbox.network.pairing.complete_qr(
            registering.refs[0], account, container, 1, "android"
        )
    )
    success = await client.wait_for(lambda n: n.child("pair-success") is not None)
    error = Node("error", {"code": "401", "text": "hmac-mismatch"})
    await client.send(
        Node("iq", {"to": SERVER_JID, "type": "error", "id": success.attr_str("id") or ""}, [error])
    )
    with pytest.raises(PairingFailed, match="hmac-mismatch"):
        await complete
    assert [d.device_id for d in bare_sandbox.network.directory.devices("15550001114")] == [0]
    await client.close()


async def test_unknown_ref_is_refused(bare_sandbox: SandboxServer) -> None:
    account = await bare_sandbox.network.create_account("15550001115")
    with pytest.raises(PairingFailed, match="ref"):
        await bare_sandbox.network.pairing.complete_qr("2@nope", account, b"", 1, "android")


async def test_pair_code_flow(bare_sandbox: SandboxServer) -> None:
    network = bare_sandbox.network
    account = await network.create_account("15550001116")
    keys = DeviceKeys()
    registering = await start_registration(bare_sandbox, keys)
    client = registering.client
    code = pair_code.new_code()
    ephemeral = KeyPair.generate()
    answer = await client.iq("md", "set", [companion_hello_node(account.pn, code, ephemeral, keys)])
    ref = child_bytes(answer, "link_code_companion_reg", "link_code_pairing_ref")

    confirm = asyncio.create_task(network.pairing.confirm_code(account, code))
    notification = await client.wait_for(tag_is("notification", type="link_code_companion_reg"))
    assert child_bytes(notification, "link_code_companion_reg", "link_code_pairing_ref") == ref
    finish = pair_code.companion_finish(
        code,
        ephemeral,
        keys.identity,
        child_bytes(
            notification,
            "link_code_companion_reg",
            "link_code_pairing_wrapped_primary_ephemeral_pub",
        ),
        child_bytes(notification, "link_code_companion_reg", "primary_identity_pub"),
    )
    keys.adv_secret = finish.adv_secret  # the derived secret replaces the QR's
    result = await client.iq("md", "set", [companion_finish_node(account.pn, finish, ref)])
    assert result.attr_str("type") == "result"
    jid = await answer_pair_success(registering)
    device = await confirm
    assert device.jid() == jid == pn("15550001116", 1)
    assert (await client.wait_for(tag_is("stream:error"))).attr_str("code") == "515"


async def test_pair_code_with_the_wrong_code_fails(bare_sandbox: SandboxServer) -> None:
    network = bare_sandbox.network
    account = await network.create_account("15550001117")
    keys = DeviceKeys()
    registering = await start_registration(bare_sandbox, keys)
    client = registering.client
    code = pair_code.new_code()
    ephemeral = KeyPair.generate()
    await client.iq("md", "set", [companion_hello_node(account.pn, code, ephemeral, keys)])
    wrong = "".join("2" if c != "2" else "3" for c in code)
    confirm = asyncio.create_task(network.pairing.confirm_code(account, wrong))
    notification = await client.wait_for(tag_is("notification"))
    # The companion unwraps the phone's key with the code it showed, which is not the one
    # the phone typed: the bundle it seals does not open on the phone's side.
    finish = pair_code.companion_finish(
        code,
        ephemeral,
        keys.identity,
        child_bytes(
            notification,
            "link_code_companion_reg",
            "link_code_pairing_wrapped_primary_ephemeral_pub",
        ),
        child_bytes(notification, "link_code_companion_reg", "primary_identity_pub"),
    )
    ref = child_bytes(notification, "link_code_companion_reg", "link_code_pairing_ref")
    await client.iq("md", "set", [companion_finish_node(account.pn, finish, ref)])
    with pytest.raises(PairingFailed, match="bundle"):
        await confirm
    await client.close()


async def test_confirm_code_without_a_waiting_device_fails(bare_sandbox: SandboxServer) -> None:
    account = await bare_sandbox.network.create_account("15550001118")
    with pytest.raises(PairingFailed, match="waiting"):
        await bare_sandbox.network.pairing.confirm_code(account, pair_code.new_code())
