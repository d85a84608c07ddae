"""The server's iq handlers, asked by a logged-in test client."""

from __future__ import annotations

from helpers import Companion, TestClient, login, pair_directly, pn, tag_is, upload_prekeys

from daemon.binary import JID, Node, Server
from sandbox.app import SandboxServer


async def logged_in(server: SandboxServer, phone: str) -> tuple[Companion, TestClient]:
    account = await server.network.create_account(phone, push_name=f"user {phone}")
    companion = await pair_directly(server, account)
    return companion, await login(server, companion)


async def test_prekey_count_upload_fetch_and_low_notification(bare_sandbox: SandboxServer) -> None:
    _alice, a = await logged_in(bare_sandbox, "15550030001")
    bob, b = await logged_in(bare_sandbox, "15550030002")
    count = await b.iq("encrypt", "get", [Node("count")])
    assert count.child("count").attr_str("value") == "0"  # type: ignore[union-attr]
    await upload_prekeys(b, bob.keys, 6)
    count = await b.iq("encrypt", "get", [Node("count")])
    assert count.child("count").attr_str("value") == "6"  # type: ignore[union-attr]

    fetched = await a.iq("encrypt", "get", [Node("key", {}, [Node("user", {"jid": bob.jid})])])
    user = fetched.child("list", "user")
    assert user is not None and user.attr_jid("jid") == bob.jid
    assert user.child("registration").content_bytes() == bob.keys.registration_id.to_bytes(4, "big")  # type: ignore[union-attr]
    assert user.child("identity").content_bytes() == bob.keys.identity.public  # type: ignore[union-attr]
    assert user.child("skey", "signature").content_bytes() == bob.keys.signed_prekey_signature  # type: ignore[union-attr]
    assert user.child("key", "id").content_bytes() == (1).to_bytes(3, "big")  # type: ignore[union-attr]

    # The fetch consumed key 1; 5 are left, the next fetch leaves 4 (< 5): Bob is told.
    await a.iq("encrypt", "get", [Node("key", {}, [Node("user", {"jid": bob.jid})])])
    low = await b.wait_for(tag_is("notification", type="encrypt"))
    assert low.child("count").attr_str("value") == "4"  # type: ignore[union-attr]

    missing = await a.iq(
        "encrypt", "get", [Node("key", {}, [Node("user", {"jid": pn("15559999999", 1)})])]
    )
    assert missing.child("list", "user", "error").attr_str("code") == "404"  # type: ignore[union-attr]
    digest = await b.iq("encrypt", "get", [Node("digest")])
    assert digest.child("digest") is not None
    await a.close()
    await b.close()


async def test_prekey_upload_with_a_bad_signature_is_refused(bare_sandbox: SandboxServer) -> None:
    companion, client = await logged_in(bare_sandbox, "15550030011")
    keys = companion.keys
    answer = await client.iq(
        "encrypt",
        "set",
        [
            Node("registration", {}, keys.registration_id.to_bytes(4, "big")),
            Node("type", {}, b"\x05"),
            Node("identity", {}, keys.identity.public),
            Node("list", {}, []),
            Node(
                "skey",
                {},
                [
                    Node("id", {}, b"\x00\x00\x02"),
                    Node("value", {}, b"\x01" * 32),
                    Node("signature", {}, b"\x00" * 64),
                ],
            ),
        ],
    )
    assert answer.attr_str("type") == "error"
    assert answer.child("error").attr_str("code") == "406"  # type: ignore[union-attr]
    await client.close()


async def test_usync_devices_lid_and_contact(bare_sandbox: SandboxServer) -> None:
    _alice, a = await logged_in(bare_sandbox, "15550030021")
    bob_account = await bare_sandbox.network.create_account("15550030022")
    await pair_directly(bare_sandbox, bob_account)
    await pair_directly(bare_sandbox, bob_account)
    query = Node(
        "usync",
        {"sid": "s1", "mode": "query", "context": "message", "last": "true", "index": "0"},
        [
            Node("query", {}, [Node("devices", {"version": "2"}), Node("lid"), Node("contact")]),
            Node(
                "list",
                {},
                [
                    Node("user", {"jid": bob_account.pn}),
                    Node("user", {}, [Node("contact", {}, "+15550099999")]),
                ],
            ),
        ],
    )
    answer = await a.iq("usync", "get", [query])
    users = answer.child("usync", "list").children  # type: ignore[union-attr]
    bob = users[0]
    assert bob.attr_jid("jid") == bob_account.pn
    devices = bob.child("devices", "device-list").children  # type: ignore[union-attr]
    assert [(d.attr_str("id"), d.attr_str("key-index")) for d in devices] == [
        ("0", None),
        ("1", "1"),
        ("2", "2"),
    ]
    assert bob.child("lid").attr_jid("val") == bob_account.lid  # type: ignore[union-attr]
    assert bob.child("contact").attr_str("type") == "in"  # type: ignore[union-attr]
    assert users[1].child("contact").attr_str("type") == "out"  # type: ignore[union-attr]

    by_lid = Node(
        "usync",
        {"sid": "s2", "mode": "query", "context": "message"},
        [
            Node("query", {}, [Node("devices", {"version": "2"})]),
            Node("list", {}, [Node("user", {"jid": JID(bob_account.lid_user, Server.LID)})]),
        ],
    )
    answer = await a.iq("usync", "get", [by_lid])
    assert len(answer.child("usync", "list", "user", "devices", "device-list").children) == 3  # type: ignore[union-attr]
    await a.close()


async def test_small_namespaces(bare_sandbox: SandboxServer) -> None:
    _, client = await logged_in(bare_sandbox, "15550030031")
    assert (await client.iq("w:p", "get", [Node("ping")])).attr_str("type") == "result"
    assert (await client.iq("passive", "set", [Node("active")])).attr_str("type") == "result"
    privacy = await client.iq("privacy", "get", [Node("privacy")])
    settings = privacy.child("privacy")
    assert settings is not None
    categories = {c.attr_str("name"): c.attr_str("value") for c in settings.children}
    assert categories["readreceipts"] == "all"
    media = (await client.iq("w:m", "set", [Node("media_conn")])).child("media_conn")
    assert media is not None
    assert all(media.attr_str(k) for k in ("auth", "ttl", "auth_ttl", "max_buckets"))
    assert media.child("host").attr_str("hostname") == f"127.0.0.1:{bare_sandbox.port}"  # type: ignore[union-attr]
    props = await client.iq("abt", "get", [Node("props", {"protocol": "1"})])
    assert props.child("props") is not None

    blocked = pn("15550000042")
    await client.iq("blocklist", "set", [Node("item", {"action": "block", "jid": blocked})])
    listing = await client.iq("blocklist", "get")
    assert [i.attr_jid("jid") for i in listing.child("list").children] == [blocked]  # type: ignore[union-attr]

    unknown = await client.iq("w:nonsense", "get")
    assert unknown.attr_str("type") == "error"
    assert unknown.child("error").attr_str("code") == "501"  # type: ignore[union-attr]
    await client.close()


async def test_logout_by_the_device_itself(bare_sandbox: SandboxServer) -> None:
    companion, client = await logged_in(bare_sandbox, "15550030041")
    answer = await client.iq(
        "md",
        "set",
        [Node("remove-companion-device", {"jid": companion.jid, "reason": "user_initiated"})],
    )
    assert answer.attr_str("type") == "result"
    await client.wait_closed()
    device = bare_sandbox.network.directory.device(companion.jid)
    assert device is not None and device.logged_out
