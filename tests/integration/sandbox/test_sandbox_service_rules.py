"""The sandbox is the 2026 service: LID-first DMs, privacy tokens and restrictions, enforced per
account (``sandbox.service_rules``)."""

from __future__ import annotations

import json

from daemon.binary import Node
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.service_rules import cstoken
from tests.integration.sandbox.helpers import (
    Companion,
    admin,
    login,
    pair_directly,
    tag_is,
    text_message,
)


async def enforced_pair(server: SandboxServer) -> tuple[Account, Account, Companion, Companion]:
    network = server.network
    alice = await network.create_account("15550060001", push_name="Alice")
    bob = await network.create_account("15550060002", push_name="Bob")
    return alice, bob, await pair_directly(server, alice), await pair_directly(server, bob)


def with_child(message: Node, child: Node) -> Node:
    return Node(message.tag, dict(message.attrs), [*message.children, child])


async def test_enforced_dms_need_lid_addressing_and_a_privacy_token(
    bare_sandbox: SandboxServer,
) -> None:
    network = bare_sandbox.network
    alice, bob, alice_pc, bob_pc = await enforced_pair(bare_sandbox)
    a, b = await login(bare_sandbox, alice_pc), await login(bare_sandbox, bob_pc)
    salt = network.rules.of(alice.phone_user).nct_salt
    good_cstoken = Node("cstoken", {}, cstoken(salt, bob.lid))

    # To the phone number of a migrated account: acked, never delivered.
    to_pn = with_child(text_message("3EB0RULE01", bob.pn, {bob_pc.jid: b"x"}), good_cstoken)
    await a.send(to_pn)
    ack = await a.wait_for(tag_is("ack", id="3EB0RULE01"))
    assert ack.attr_str("error") is None

    # To the LID without any token: nacked 463, not delivered either.
    bob_device = bob.lid_device(bob_pc.jid.device)
    await a.send(text_message("3EB0RULE02", bob.lid, {bob_device: b"x"}))
    nack = await a.wait_for(tag_is("ack", id="3EB0RULE02"))
    assert nack.attr_str("error") == "463"

    # With a cstoken from Alice's NCT salt (a first contact): delivered.
    await a.send(with_child(text_message("3EB0RULE03", bob.lid, {bob_device: b"x"}), good_cstoken))
    await a.wait_for(tag_is("ack", id="3EB0RULE03"))
    delivered = await b.wait_for(tag_is("message", id="3EB0RULE03"))
    assert delivered.attr_jid("from") == alice.lid_device(alice_pc.jid.device)
    assert delivered.attr_jid("sender_pn") == alice.pn
    assert [n.attr_str("id") for n in b.inbox if n.tag == "message"] == []

    # Bob issues Alice a token: she is told in a privacy_token notification, and it works.
    await b.iq(
        "privacy",
        "set",
        [
            Node(
                "tokens",
                {},
                [Node("token", {"jid": alice.lid, "t": "1", "type": "trusted_contact"})],
            )
        ],
    )
    notification = await a.wait_for(tag_is("notification", type="privacy_token"))
    assert notification.attr_jid("from") == bob.pn
    assert notification.attr_jid("sender_lid") == bob.lid
    token = notification.child("tokens", "token")
    assert token is not None and token.attr_str("type") == "trusted_contact"
    tctoken = Node("tctoken", {}, token.content_bytes())
    await a.send(with_child(text_message("3EB0RULE04", bob.lid, {bob_device: b"x"}), tctoken))
    await b.wait_for(tag_is("message", id="3EB0RULE04"))

    # A reachout time-lock blocks new chats (cstoken) but not the established one (tctoken);
    # Alice's companion is told in a mex notification.
    status, rules = await admin(
        bare_sandbox,
        "POST",
        f"/admin/accounts/{alice.phone_user}/reachout-timelock",
        {"active": True, "enforcement_type": "BIZ_QUALITY", "seconds": 600},
    )
    assert status == 200 and rules["new_chats_blocked"] and rules["notified"] == 1
    mex = await a.wait_for(tag_is("notification", type="mex"))
    update = mex.child("update")
    assert (
        update is not None
        and update.attr_str("op_name") == "NotificationUserReachoutTimelockUpdate"
    )
    payload = json.loads(update.content_bytes() or b"")
    lock = payload["data"]["xwa2_notify_account_reachout_timelock"]
    assert lock["is_active"] is True and lock["enforcement_type"] == "BIZ_QUALITY"
    assert int(lock["time_enforcement_ends"]) > network.now()
    await a.send(with_child(text_message("3EB0RULE05", bob.lid, {bob_device: b"x"}), good_cstoken))
    assert (await a.wait_for(tag_is("ack", id="3EB0RULE05"))).attr_str("error") == "463"
    await a.send(with_child(text_message("3EB0RULE06", bob.lid, {bob_device: b"x"}), tctoken))
    await b.wait_for(tag_is("message", id="3EB0RULE06"))
    await a.close()
    await b.close()


async def test_enforcement_is_switchable_per_account(bare_sandbox: SandboxServer) -> None:
    alice, bob, alice_pc, bob_pc = await enforced_pair(bare_sandbox)
    status, account = await admin(bare_sandbox, "GET", f"/admin/accounts/{alice.phone_user}")
    assert status == 200 and account["enforcing"] is True
    status, rules = await admin(
        bare_sandbox, "POST", f"/admin/accounts/{alice.phone_user}/rules", {"enforcing": False}
    )
    assert status == 200 and rules["enforcing"] is False
    a, b = await login(bare_sandbox, alice_pc), await login(bare_sandbox, bob_pc)
    # A legacy client's DM to a phone number, without tokens, is served as before.
    await a.send(text_message("3EB0LEGACY", bob.pn, {bob_pc.jid: b"x"}))
    await b.wait_for(tag_is("message", id="3EB0LEGACY"))
    status, problem = await admin(
        bare_sandbox, "POST", f"/admin/accounts/{alice.phone_user}/rules", {"enforcing": "yes"}
    )
    assert status == 400 and "enforcing" in problem["detail"]
    await a.close()
    await b.close()


async def test_admin_accounts_are_enforced_with_a_salt(
    sandbox: SandboxServer,
) -> None:
    status, made = await admin(sandbox, "POST", "/admin/accounts", {"phone": "15550060010"})
    assert status == 201 and made["enforcing"] is True
    assert sandbox.network.rules.of("15550060010").nct_salt
