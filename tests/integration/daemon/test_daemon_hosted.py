"""A business with a hosted (Cloud API) device, through the HTTP API of a real daemon: a DM to
the business reaches and is decrypted by its hosted device (``<lid>:99@hosted.lid``) as well as
its phone, the hosted device's answer lands once in the business's one chat, and a group send
never includes the hosted device. A business that gets its hosted device later is reached once
the server's ``phash`` told the daemon its device list changed."""

from __future__ import annotations

import asyncio
from typing import Any

from daemon_harness import TIMEOUT, Api, DaemonFactory, admin, create_account, pair

from daemon.binary import JID, Node
from sandbox.app import SandboxServer

OWNER = "15550008001"
BIZ = "15550008002"
CARL = "15550008003"
LATER = "15550008004"


def pn(phone: str) -> str:
    return f"{phone}@s.whatsapp.net"


async def wait_admin(sandbox: SandboxServer, path: str, ready: Any) -> Any:
    async with asyncio.timeout(TIMEOUT):
        while not ready(found := await admin(sandbox, "GET", path)):
            await asyncio.sleep(0.1)
    return found


async def delivered(api: Api, message_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await api.wait_for(
        f"/sessions/shop/messages/{message_id}",
        lambda m: m["status"] in ("delivered", "read"),
        timeout=TIMEOUT,
    )
    return found


async def shop_paired(daemon_factory: DaemonFactory, sandbox: SandboxServer) -> Api:
    """A daemon with session ``shop`` paired to OWNER's phone, its history bootstrap (with the
    salt of our first-contact cstokens) received."""
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "shop", OWNER)
    await api.wait_for(
        "/sessions/shop/events?types=history.progress",
        lambda page: any(e["data"]["syncType"] == "INITIAL_BOOTSTRAP" for e in page["events"]),
        timeout=TIMEOUT,
    )
    return api


async def test_dm_reaches_the_hosted_device_and_groups_never_do(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, CARL, "Carl")
    business = await admin(
        sandbox, "POST", "/accounts", {"phone": BIZ, "push_name": "Biz", "hosted": True}
    )
    assert business["hosted_device"] == f"{BIZ}:99@hosted"
    hosted = await admin(sandbox, "GET", f"/accounts/{BIZ}/hosted")
    assert hosted["enabled"] and hosted["device"]["lid_jid"] == business["lid"].replace(
        "@lid", ":99@hosted.lid"
    )
    assert hosted["device"]["identity_public"] != business["identity_public"]
    assert hosted["device"]["prekeys"] > 0

    api = await shop_paired(daemon_factory, sandbox)
    session_jid = (await api.call("GET", "/sessions/shop")).body["jid"]

    # A DM to the business: its hosted device decrypts it, and so does its phone.
    sent = await api.call("POST", "/sessions/shop/messages", {"to": f"+{BIZ}", "text": "quote?"})
    assert sent.status == 202, sent.body
    await delivered(api, sent.body["id"])
    device = sandbox.network.directory.to_pn(JID.parse(session_jid))
    assert device is not None
    [dm_ack] = [
        n
        for n in sandbox.network.delivery_log.get(device, ())
        if n.tag == "ack" and n.attr_str("id") == sent.body["id"]
    ]
    assert dm_ack.attr_str("phash") is None  # the hosted device counted on both sides
    [got] = await wait_admin(sandbox, f"/accounts/{BIZ}/hosted/messages", bool)
    assert got["id"] == sent.body["id"] and got["text"] == "quote?"
    assert got["chat"] == pn(OWNER) and JID.parse(got["sender"]).user == OWNER
    phone_got = await wait_admin(sandbox, f"/accounts/{BIZ}/messages", bool)
    assert [m["text"] for m in phone_got] == ["quote?"]

    # The hosted device answers: one message, in the business's one chat.
    answer = await admin(
        sandbox, "POST", f"/accounts/{BIZ}/hosted/messages", {"to": OWNER, "text": "42 EUR"}
    )
    page = await api.wait_for(
        f"/sessions/shop/chats/{pn(BIZ)}/messages",
        lambda p: any(m["id"] == answer["id"] for m in p["messages"]),
        timeout=TIMEOUT,
    )
    [reply] = [m for m in page["messages"] if m["id"] == answer["id"]]
    [stanza] = [
        n
        for n in sandbox.network.delivery_log.get(device, ())
        if n.tag == "message" and n.attr_str("id") == answer["id"]
    ]
    assert str(stanza.attr_jid("from")) == hosted["device"]["lid_jid"]
    assert reply["text"] == "42 EUR" and not reply["fromMe"]
    chats = (await api.call("GET", "/sessions/shop/chats")).body["chats"]
    assert [c["jid"] for c in chats] == [pn(BIZ)]
    assert chats[0]["lid"] == business["lid"]
    received = (await api.call("GET", f"/sessions/shop/chats/{business['lid']}/messages")).body
    assert [m["text"] for m in received["messages"]].count("42 EUR") == 1

    # An answer the daemon cannot decrypt: its retry receipt reaches the hosted device, which
    # encrypts it again; it lands once.
    await admin(
        sandbox,
        "POST",
        "/faults/stanzas",
        {
            "direction": "to_device",
            "action": "corrupt",
            "device": session_jid,
            "tag": "message",
            "from": BIZ,
            "count": 1,
        },
    )
    again = await admin(
        sandbox, "POST", f"/accounts/{BIZ}/hosted/messages", {"to": OWNER, "text": "or 40"}
    )
    page = await api.wait_for(
        f"/sessions/shop/chats/{pn(BIZ)}/messages",
        lambda p: any(m["id"] == again["id"] and m["text"] for m in p["messages"]),
        timeout=TIMEOUT,
    )
    assert [m["text"] for m in page["messages"]].count("or 40") == 1
    retries = [
        n
        for n in sandbox.network.hosted_devices[BIZ].stanzas
        if n.tag == "receipt" and n.attr_str("type") == "retry"
    ]
    assert [n.attr_str("id") for n in retries] == [again["id"]]

    def from_hosted() -> list[Node]:
        return [
            n
            for n in sandbox.network.delivery_log.get(device, ())
            if n.tag == "message" and n.attr_str("id") == again["id"]
        ]

    async with asyncio.timeout(TIMEOUT):  # the broken one, then the answer to the retry
        while len(from_hosted()) < 2:
            await asyncio.sleep(0.05)
    assert len(from_hosted()) == 2
    resent = from_hosted()[1]
    assert str(resent.attr_jid("from")) == hosted["device"]["lid_jid"]
    assert [e.attr_str("count") for e in resent.children_by_tag("enc")] == ["1"]

    # A group with the business: its phone gets the message, its hosted device never does,
    # and the server's device hash (which leaves hosted devices out) matches ours.
    created = await api.call(
        "POST", "/sessions/shop/groups", {"subject": "Deal", "participants": [BIZ, CARL]}
    )
    assert created.status == 201, created.body
    group = created.body["jid"]
    to_group = await api.call("POST", "/sessions/shop/messages", {"to": group, "text": "team"})
    assert to_group.status == 202, to_group.body
    await wait_admin(
        sandbox,
        f"/accounts/{BIZ}/messages",
        lambda ms: any(m["chat"] == group and m["text"] == "team" for m in ms),
    )
    await wait_admin(
        sandbox,
        f"/accounts/{CARL}/messages",
        lambda ms: any(m["chat"] == group and m["text"] == "team" for m in ms),
    )
    hosted = await admin(sandbox, "GET", f"/accounts/{BIZ}/hosted")
    assert hosted["group_parts"] == 0 and hosted["messages"] == 1
    acks = [
        n
        for n in sandbox.network.delivery_log.get(device, ())
        if n.tag == "ack" and n.attr_str("id") == to_group.body["id"]
    ]
    assert len(acks) == 1 and acks[0].attr_str("phash") is None
    biz_device = JID.parse(f"{BIZ}:99@hosted")
    stanzas = sandbox.network.hosted_devices[BIZ].stanzas
    assert not any(
        n.tag == "message" and (n.attr_jid("from") or biz_device).is_group for n in stanzas
    )


async def test_a_hosted_device_switched_on_later_is_reached_after_the_phash_mismatch(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, LATER, "Later Biz")
    api = await shop_paired(daemon_factory, sandbox)

    async def send(text: str) -> str:
        sent = await api.call("POST", "/sessions/shop/messages", {"to": f"+{LATER}", "text": text})
        assert sent.status == 202, sent.body
        await delivered(api, sent.body["id"])
        return str(sent.body["id"])

    await send("first")  # the daemon caches the business's device list: its phone alone
    switched = await admin(sandbox, "POST", f"/accounts/{LATER}/hosted", {"enabled": True})
    assert switched["enabled"]
    stale = await send("second")  # sent to the cached list; the ack's phash says it is stale
    session_jid = (await api.call("GET", "/sessions/shop")).body["jid"]
    device = sandbox.network.directory.to_pn(JID.parse(session_jid))
    assert device is not None
    [ack] = [
        n
        for n in sandbox.network.delivery_log.get(device, ())
        if n.tag == "ack" and n.attr_str("id") == stale
    ]
    assert ack.attr_str("phash") is not None
    fresh = await send("third")  # asked again: the hosted device is on the list now
    got = await wait_admin(sandbox, f"/accounts/{LATER}/hosted/messages", bool)
    assert [(m["id"], m["text"]) for m in got] == [(fresh, "third")]
    phone_got = await admin(sandbox, "GET", f"/accounts/{LATER}/messages")
    assert [m["text"] for m in phone_got] == ["first", "second", "third"]
