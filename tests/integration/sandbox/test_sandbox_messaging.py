"""Message routing: fan-out, server acks, receipts, retries, the offline queue, groups,
presence and chatstate, with raw stanzas from test clients."""

from __future__ import annotations

from helpers import (
    Companion,
    TestClient,
    login,
    pair_directly,
    pn,
    tag_is,
    text_message,
)

from daemon.binary import GROUP_SERVER_JID, JID, Node, Server
from sandbox.app import SandboxServer


async def two_accounts(server: SandboxServer) -> tuple[Companion, Companion]:
    network = server.network
    alice = await network.create_account("15550010001", push_name="Alice", enforcing=False)
    bob = await network.create_account("15550010002", push_name="Bob", enforcing=False)
    return await pair_directly(server, alice, "alice-pc"), await pair_directly(
        server, bob, "bob-pc"
    )


async def test_one_to_one_fan_out_ack_and_delivery_receipt(bare_sandbox: SandboxServer) -> None:
    alice, bob = await two_accounts(bare_sandbox)
    a, b = await login(bare_sandbox, alice), await login(bare_sandbox, bob)
    bob_user = bob.jid.to_non_ad()
    message = text_message(
        "3EB0AAAA",
        bob_user,
        {
            bob.jid: b"for-bob",
            pn("15550010002", 0): b"for-bobs-phone",
            pn("15550010001", 0): b"for-alices-phone",
        },
    )
    await a.send(message)
    server_ack = await a.wait_for(tag_is("ack", id="3EB0AAAA"))
    assert server_ack.attr_str("class") == "message" and server_ack.attr_str("t")
    assert server_ack.attr_jid("from") == bob_user

    received = await b.wait_for(tag_is("message", id="3EB0AAAA"))
    assert received.attr_jid("from") == alice.jid
    assert received.attr_str("notify") == "alice-pc"
    assert (
        received.attr_jid("sender_lid") == bare_sandbox.network.directory.account("15550010001").lid
    )
    assert received.attr_str("t") == server_ack.attr_str("t")
    enc = received.child("enc")
    assert enc is not None and enc.content_bytes() == b"for-bob"

    # The copies for both phones wait in their queues (no phone is attached in a bare sandbox);
    # Alice's phone's copy names the chat it went to. (Alice's stanzas are routed in order, so
    # once her ping is answered her message has been fanned out completely.)
    await a.iq("w:p", "get")
    alice_phone_queue = await bare_sandbox.network.offline.pending(pn("15550010001"))
    assert alice_phone_queue[0].attr_jid("recipient") == bob_user

    # Bob's delivery receipt (sent "inactive", as Baileys does) reaches Alice as a plain one.
    await b.send(Node("receipt", {"id": "3EB0AAAA", "to": alice.jid, "type": "inactive"}))
    await b.wait_for(tag_is("ack", id="3EB0AAAA"))
    receipt = await a.wait_for(tag_is("receipt", id="3EB0AAAA"))
    assert receipt.attr_jid("from") == bob.jid and receipt.attr_str("type") is None
    # ... and the receipt removed Bob's copy from his queue.
    assert await bare_sandbox.network.offline.pending(bob.jid) == []

    await b.send(Node("receipt", {"id": "3EB0AAAA", "to": alice.jid, "type": "read", "t": "5"}))
    read = await a.wait_for(tag_is("receipt", id="3EB0AAAA"))
    assert read.attr_str("type") == "read" and read.attr_str("t") == "5"
    await a.close()
    await b.close()


async def test_lid_addressed_send_arrives_from_the_sender_lid(bare_sandbox: SandboxServer) -> None:
    alice, bob = await two_accounts(bare_sandbox)
    directory = bare_sandbox.network.directory
    a, b = await login(bare_sandbox, alice), await login(bare_sandbox, bob)
    bob_account = directory.account("15550010002")
    bob_lid_device = bob_account.lid_device(1)
    await a.send(text_message("3EB0LID1", bob_account.lid, {bob_lid_device: b"x"}))
    received = await b.wait_for(tag_is("message", id="3EB0LID1"))
    alice_account = directory.account("15550010001")
    assert received.attr_jid("from") == alice_account.lid_device(1)
    assert received.attr_jid("sender_pn") == alice_account.pn
    await a.close()
    await b.close()


async def test_offline_queue_redelivers_until_acked(bare_sandbox: SandboxServer) -> None:
    alice, bob = await two_accounts(bare_sandbox)
    a = await login(bare_sandbox, alice)
    await a.send(text_message("3EB0OFF1", bob.jid.to_non_ad(), {bob.jid: b"while-away"}))
    await a.wait_for(tag_is("ack", id="3EB0OFF1"))

    first = await login(bare_sandbox, bob, auto_ack=False)
    queued = await first.wait_for(tag_is("message", id="3EB0OFF1"))
    assert queued.attr_str("offline") == "1"
    marker = await first.wait_for(tag_is("ib"))
    assert marker.child("offline").attr_str("count") == "1"  # type: ignore[union-attr]
    await first.close()  # gone without acking: the server must deliver it again

    second = await login(bare_sandbox, bob, auto_ack=False)
    again = await second.wait_for(tag_is("message", id="3EB0OFF1"))
    assert again.child("enc").content_bytes() == b"while-away"  # type: ignore[union-attr]
    await second.send(Node("ack", {"class": "message", "id": "3EB0OFF1", "to": alice.jid}))
    await second.iq("w:p", "get")  # the ack has been processed once the ping is answered
    await second.close()

    third = await login(bare_sandbox, bob, auto_ack=False)
    marker = await third.wait_for(tag_is("ib"))
    assert marker.child("offline").attr_str("count") == "0"  # type: ignore[union-attr]
    assert not any(n.tag == "message" for n in third.inbox)
    await third.close()
    await a.close()


async def test_queue_kept_over_a_restart_is_emptied_by_the_ack(bare_sandbox: SandboxServer) -> None:
    alice, bob = await two_accounts(bare_sandbox)
    a = await login(bare_sandbox, alice)
    for message_id in ("3EB0RST1", "3EB0RST2"):
        await a.send(text_message(message_id, bob.jid.to_non_ad(), {bob.jid: b"queued"}))
        await a.wait_for(tag_is("ack", id=message_id))
    await a.close()
    await bare_sandbox.restart()

    # The server learns what is queued from its database: the ack of one removes just that one.
    first = await login(bare_sandbox, bob, auto_ack=False)
    await first.wait_for(tag_is("message", id="3EB0RST2"))
    await first.send(Node("ack", {"class": "message", "id": "3EB0RST1", "to": alice.jid}))
    await first.iq("w:p", "get")
    await first.close()

    second = await login(bare_sandbox, bob, auto_ack=False)
    marker = await second.wait_for(tag_is("ib"))
    assert marker.child("offline").attr_str("count") == "1"  # type: ignore[union-attr]
    assert [n.attr_str("id") for n in second.inbox if n.tag == "message"] == ["3EB0RST2"]
    await second.close()


async def test_retry_receipt_goes_only_to_the_sending_device(bare_sandbox: SandboxServer) -> None:
    network = bare_sandbox.network
    alice_account = await network.create_account("15550010011", enforcing=False)
    bob_account = await network.create_account("15550010012", enforcing=False)
    alice1 = await pair_directly(bare_sandbox, alice_account)
    alice2 = await pair_directly(bare_sandbox, alice_account)
    bob = await pair_directly(bare_sandbox, bob_account)
    a1, a2, b = [await login(bare_sandbox, c) for c in (alice1, alice2, bob)]
    await a1.send(
        text_message("3EB0RTRY", bob_account.pn, {bob.jid: b"garbled", alice2.jid: b"dsm"})
    )
    await b.wait_for(tag_is("message", id="3EB0RTRY"))
    await a2.wait_for(tag_is("message", id="3EB0RTRY"))
    retry = Node(
        "receipt",
        {"id": "3EB0RTRY", "to": alice1.jid, "type": "retry"},
        [
            Node("retry", {"count": "1", "id": "3EB0RTRY", "t": "1", "v": "1"}),
            Node("registration", {}, b"\x00\x00\x00\x07"),
        ],
    )
    await b.send(retry)
    forwarded = await a1.wait_for(tag_is("receipt", id="3EB0RTRY"))
    assert forwarded.attr_str("type") == "retry" and forwarded.attr_jid("from") == bob.jid
    assert forwarded.child("registration").content_bytes() == b"\x00\x00\x00\x07"  # type: ignore[union-attr]
    await a1.iq("w:p", "get")
    await a2.iq("w:p", "get")
    assert not any(n.tag == "receipt" for n in a2.inbox)
    for client in (a1, a2, b):
        await client.close()


async def test_group_create_notifies_invitees_and_fans_out_skmsg(
    bare_sandbox: SandboxServer,
) -> None:
    alice, bob = await two_accounts(bare_sandbox)
    a, b = await login(bare_sandbox, alice), await login(bare_sandbox, bob)
    created = await a.iq(
        "w:g2",
        "set",
        [
            Node(
                "create",
                {"subject": "Team", "key": "3EB0KEY"},
                [Node("participant", {"jid": bob.jid.to_non_ad()})],
            )
        ],
        to=GROUP_SERVER_JID,
    )
    group_node = created.child("group")
    assert group_node is not None and group_node.attr_str("subject") == "Team"
    group = JID(group_node.attr_str("id") or "", Server.GROUP)
    members = {p.attr_jid("jid") for p in group_node.children_by_tag("participant")}
    assert members == {alice.jid.to_non_ad(), bob.jid.to_non_ad()}

    notification = await b.wait_for(tag_is("notification", type="w:gp2"))
    assert notification.attr_jid("from") == group
    assert notification.child("create", "group").attr_str("subject") == "Team"  # type: ignore[union-attr]

    metadata = await b.iq("w:g2", "get", [Node("query", {"request": "interactive"})], to=group)
    assert metadata.attr_jid("from") == group
    assert metadata.child("group").attr_str("id") == group.user  # type: ignore[union-attr]

    message = Node(
        "message",
        {"id": "3EB0GRP1", "to": group, "type": "text"},
        [
            Node(
                "participants",
                {},
                [Node("to", {"jid": bob.jid}, [Node("enc", {"v": "2", "type": "pkmsg"}, b"skdm")])],
            ),
            Node("enc", {"v": "2", "type": "skmsg"}, b"group-payload"),
            Node("device-identity", {}, b"adv"),
        ],
    )
    await a.send(message)
    await a.wait_for(tag_is("ack", id="3EB0GRP1"))
    received = await b.wait_for(tag_is("message", id="3EB0GRP1"))
    assert received.attr_jid("from") == group and received.attr_jid("participant") == alice.jid
    assert [e.attr_str("type") for e in received.children_by_tag("enc")] == ["pkmsg", "skmsg"]
    assert received.child("device-identity") is not None

    participating = await b.iq("w:g2", "get", [Node("participating")], to=GROUP_SERVER_JID)
    assert [g.attr_str("id") for g in participating.child("groups").children] == [group.user]  # type: ignore[union-attr]

    await a.iq("w:g2", "set", [Node("subject", {}, b"Renamed")], to=group)
    change = await b.wait_for(tag_is("notification", type="w:gp2"))
    assert change.child("subject").attr_str("subject") == "Renamed"  # type: ignore[union-attr]

    removed = await a.iq(
        "w:g2",
        "set",
        [Node("remove", {}, [Node("participant", {"jid": bob.jid.to_non_ad()})])],
        to=group,
    )
    assert removed.attr_str("type") == "result"
    gone = await b.wait_for(tag_is("notification", type="w:gp2"))
    assert gone.child("remove") is not None
    denied = await b.iq("w:g2", "get", [Node("query", {"request": "interactive"})], to=group)
    assert denied.attr_str("type") == "error"
    await a.close()
    await b.close()


async def test_presence_and_chatstate_are_relayed(bare_sandbox: SandboxServer) -> None:
    alice, bob = await two_accounts(bare_sandbox)
    a, b = await login(bare_sandbox, alice), await login(bare_sandbox, bob)
    bob_user = bob.jid.to_non_ad()
    await a.send(Node("presence", {"type": "subscribe", "to": bob_user}))
    first = await a.wait_for(tag_is("presence"))
    assert first.attr_jid("from") == bob_user and first.attr_str("type") == "unavailable"
    await b.send(Node("presence", {"type": "available", "name": "Bobby"}))
    online = await a.wait_for(tag_is("presence"))
    assert online.attr_jid("from") == bob_user and online.attr_str("type") is None
    assert bare_sandbox.network.directory.device(bob.jid).push_name == "Bobby"  # type: ignore[union-attr]

    await a.send(Node("chatstate", {"to": bob_user}, [Node("composing")]))
    typing = await b.wait_for(tag_is("chatstate"))
    assert typing.attr_jid("from") == alice.jid.to_non_ad()
    assert typing.child("composing") is not None
    await a.close()
    await b.close()


async def test_second_login_replaces_the_first(bare_sandbox: SandboxServer) -> None:
    account = await bare_sandbox.network.create_account("15550010021")
    companion = await pair_directly(bare_sandbox, account)
    first = await login(bare_sandbox, companion)
    second = await login(bare_sandbox, companion)
    error = await first.wait_for(tag_is("stream:error"))
    assert error.child("conflict").attr_str("type") == "replaced"  # type: ignore[union-attr]
    await first.wait_closed()
    assert (await second.iq("w:p", "get")).attr_str("type") == "result"
    await second.close()


async def test_messages_from_a_companion_reach_the_phone_endpoint(sandbox: SandboxServer) -> None:
    # With simulated phones, device 0 is attached: its copy is handed over, not queued.
    alice = await sandbox.network.create_account("15550010031", enforcing=False)
    bob = await sandbox.network.create_account("15550010032", enforcing=False)
    companion = await pair_directly(sandbox, alice)
    client: TestClient = await login(sandbox, companion)
    await client.send(text_message("3EB0PH01", bob.pn, {bob.pn_device(0): b"not-signal"}))
    await client.wait_for(tag_is("ack", id="3EB0PH01"))
    assert await sandbox.network.offline.pending(bob.pn_device(0)) == []
    await client.close()


async def test_receipts_among_own_devices_go_to_the_named_device(
    bare_sandbox: SandboxServer,
) -> None:
    account = await bare_sandbox.network.create_account("15550010041")
    first = await pair_directly(bare_sandbox, account)
    second = await pair_directly(bare_sandbox, account)
    a, b = await login(bare_sandbox, first), await login(bare_sandbox, second)
    # After a history sync from the phone, a companion answers hist_sync to its own number.
    await a.send(Node("receipt", {"id": "3EB0HIST", "to": account.pn, "type": "hist_sync"}))
    await a.iq("w:p", "get")  # routed in order: the receipt has been relayed
    (queued,) = await bare_sandbox.network.offline.pending(account.pn_device(0))
    assert queued.attr_str("type") == "hist_sync" and queued.attr_jid("from") == first.jid
    # A peer_msg receipt naming the other companion reaches it, and no one else.
    await a.send(Node("receipt", {"id": "3EB0PEER", "to": second.jid, "type": "peer_msg"}))
    relayed = await b.wait_for(tag_is("receipt", id="3EB0PEER"))
    assert relayed.attr_str("type") == "peer_msg"
    await a.iq("w:p", "get")
    assert len(await bare_sandbox.network.offline.pending(account.pn_device(0))) == 1
    await a.close()
    await b.close()
