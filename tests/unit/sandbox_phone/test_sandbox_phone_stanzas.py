"""The phone's client stanzas survive the wire codec and read the server's answers."""

from __future__ import annotations

import pytest

from daemon.binary import JID, SERVER_JID, Node, marshal, unmarshal
from daemon.signal import EncType, generate_identity_key_pair, generate_prekeys
from daemon.signal import generate_signed_prekey as make_signed_prekey
from sandbox.phone import client_stanzas as cs

ANN = JID("15550001111", "s.whatsapp.net")
BOB = JID("15550002222", "s.whatsapp.net")
GROUP = JID("120363000000000001", "g.us")


def wire(node: Node) -> Node:
    return unmarshal(marshal(node))


def test_usync_query_shape() -> None:
    node = wire(cs.usync_devices_iq("1.2-3", [BOB.with_device(2), ANN]))
    assert node.attrs["xmlns"] == "usync"
    assert node.attrs["to"] == SERVER_JID
    usync = node.child("usync")
    assert usync is not None
    assert usync.attr_str("context") == "message"
    query = usync.child("query")
    assert query is not None
    assert [c.tag for c in query.children] == ["devices", "lid"]
    listed = usync.child("list")
    assert listed is not None
    assert [u.attr_jid("jid") for u in listed.children] == [BOB, ANN]


def test_usync_answer_parse() -> None:
    answer = Node(
        "iq",
        {"type": "result", "id": "x", "from": SERVER_JID},
        [
            Node(
                "usync",
                {},
                [
                    Node(
                        "list",
                        {},
                        [
                            Node(
                                "user",
                                {"jid": BOB},
                                [
                                    Node(
                                        "devices",
                                        {},
                                        [
                                            Node(
                                                "device-list",
                                                {},
                                                [
                                                    Node("device", {"id": "0"}),
                                                    Node("device", {"id": "3", "key-index": "1"}),
                                                ],
                                            )
                                        ],
                                    ),
                                    Node("lid", {"val": JID("222", "lid")}),
                                ],
                            )
                        ],
                    )
                ],
            )
        ],
    )
    [bob] = cs.parse_usync_devices(wire(answer))
    assert bob.user == BOB
    assert bob.lid == JID("222", "lid")
    assert bob.device_jids() == [BOB, BOB.with_device(3)]


def test_usync_error_is_reported() -> None:
    answer = Node("iq", {"type": "error", "id": "x"}, [Node("error", {"code": "500"})])
    with pytest.raises(cs.StanzaError, match="500"):
        cs.parse_usync_devices(answer)


def _bundle_user(jid: JID, with_prekey: bool) -> Node:
    identity = generate_identity_key_pair()
    signed = make_signed_prekey(identity, 7)
    children = [
        Node("registration", {}, (1234).to_bytes(4, "big")),
        Node("type", {}, b"\x05"),
        Node("identity", {}, identity.public),
        Node(
            "skey",
            {},
            [
                Node("id", {}, (7).to_bytes(3, "big")),
                Node("value", {}, signed.key_pair.public),
                Node("signature", {}, signed.signature),
            ],
        ),
    ]
    if with_prekey:
        prekey = generate_prekeys(300, 1)[0]
        children.append(
            Node(
                "key",
                {},
                [
                    Node("id", {}, (300).to_bytes(3, "big")),
                    Node("value", {}, prekey.key_pair.public),
                ],
            )
        )
    return Node("user", {"jid": jid}, children)


def test_prekey_bundles_parse_and_errors_are_skipped() -> None:
    fetch = wire(cs.prekey_fetch_iq("i", [BOB.with_device(3)]))
    key = fetch.child("key")
    assert key is not None
    assert [u.attr_jid("jid") for u in key.children] == [BOB.with_device(3)]

    answer = Node(
        "iq",
        {"type": "result", "id": "i"},
        [
            Node(
                "list",
                {},
                [
                    _bundle_user(BOB, True),
                    _bundle_user(BOB.with_device(3), False),
                    Node("user", {"jid": ANN}, [Node("error", {"code": "404"})]),
                ],
            )
        ],
    )
    bundles = cs.parse_prekey_bundles(wire(answer))
    assert set(bundles) == {BOB, BOB.with_device(3)}
    assert bundles[BOB].prekey_id == 300
    assert bundles[BOB].registration_id == 1234
    assert bundles[BOB].signed_prekey_id == 7
    assert bundles[BOB.with_device(3)].prekey is None


def test_prekey_upload_shape() -> None:
    identity = generate_identity_key_pair()
    prekeys = generate_prekeys(1, 3)
    node = wire(
        cs.prekey_upload_iq(
            "u",
            registration_id=77,
            identity_public=identity.public,
            prekeys=prekeys,
            signed_prekey=make_signed_prekey(identity, 1),
        )
    )
    assert node.attr_str("type") == "set"
    assert node.child("registration") == Node("registration", {}, (77).to_bytes(4, "big"))
    listed = node.child("list")
    assert listed is not None
    ids = [k.child("id") for k in listed.children]
    assert [i.content for i in ids if i is not None] == [(n).to_bytes(3, "big") for n in (1, 2, 3)]
    assert node.child("skey", "signature") is not None
    count = Node("iq", {"type": "result", "id": "c"}, [Node("count", {"value": "12"})])
    assert cs.parse_prekey_count(count) == 12


def test_group_answer_parse() -> None:
    answer = Node(
        "iq",
        {"type": "result", "id": "g", "from": GROUP},
        [
            Node(
                "group",
                {"id": GROUP.user, "subject": "Team", "addressing_mode": "pn"},
                [Node("participant", {"jid": ANN}), Node("participant", {"jid": BOB})],
            )
        ],
    )
    info = cs.parse_group(wire(answer))
    assert info.jid == GROUP
    assert info.participants == (ANN, BOB)
    assert info.subject == "Team"


def test_message_with_fanout_and_shared_enc() -> None:
    enc = cs.enc_node(cs.EncNode(EncType.PKMSG, b"\x33abc"))
    shared = cs.enc_node(cs.EncNode(EncType.SKMSG, b"\x33def", retry_count=2))
    node = wire(
        cs.message_stanza(
            "3EB0X", GROUP, "text", fanout={BOB.with_device(1): enc}, content=[shared]
        )
    )
    assert node.attrs["to"] == GROUP
    to = node.child("participants", "to")
    assert to is not None
    assert to.attr_jid("jid") == BOB.with_device(1)
    assert to.child("enc") == Node("enc", {"v": "2", "type": "pkmsg"}, b"\x33abc")
    assert node.child("enc") == Node("enc", {"v": "2", "type": "skmsg", "count": "2"}, b"\x33def")


def test_incoming_group_message_and_own_device_copy() -> None:
    group_message = Node(
        "message",
        {"from": GROUP, "participant": BOB.with_device(2), "id": "M1", "t": "10", "notify": "Bob"},
        [Node("enc", {"v": "2", "type": "skmsg"}, b"x"), Node("enc", {"type": "weird"}, b"y")],
    )
    incoming = cs.parse_incoming_message(wire(group_message))
    assert incoming.is_group
    assert incoming.sender == BOB.with_device(2)
    assert incoming.chat == GROUP
    assert [e.kind for e in incoming.encs] == [EncType.SKMSG]
    assert incoming.push_name == "Bob"

    own_copy = Node(
        "message",
        {"from": ANN.with_device(1), "recipient": BOB, "id": "M2", "t": "11"},
        [Node("enc", {"v": "2", "type": "msg"}, b"z")],
    )
    incoming = cs.parse_incoming_message(wire(own_copy))
    assert incoming.chat == BOB
    assert incoming.sender == ANN.with_device(1)

    with pytest.raises(cs.StanzaError):
        cs.parse_incoming_message(Node("message", {"from": GROUP, "id": "M3"}))


def test_retry_receipt_round_trip_carries_a_bundle() -> None:
    identity = generate_identity_key_pair()
    prekey = generate_prekeys(40, 1)[0]
    signed = make_signed_prekey(identity, 1)
    incoming = cs.parse_incoming_message(
        Node("message", {"from": BOB.with_device(3), "id": "M9", "t": "99"}, [])
    )
    node = wire(
        cs.retry_receipt(
            incoming, count=2, registration_id=555, keys=(identity.public, prekey, signed)
        )
    )
    assert node.attr_str("type") == "retry"
    assert node.attrs["to"] == BOB.with_device(3)
    # The phone receives the receipt with ``from`` set by the server.
    received = Node("receipt", {**node.attrs, "from": node.attrs["to"]}, node.content)
    request = cs.parse_retry_receipt(received)
    assert request.message_id == "M9"
    assert request.requester == BOB.with_device(3)
    assert request.count == 2
    assert request.timestamp == 99
    assert request.registration_id == 555
    assert request.bundle is not None
    assert request.bundle.identity_key == identity.public
    assert request.bundle.prekey_id == 40
    assert request.bundle.signed_prekey == signed.key_pair.public


def test_receipt_and_ack_shapes() -> None:
    read = wire(cs.receipt(["A", "B", "C"], BOB, receipt_type="read", timestamp=5))
    assert read.attrs == {"id": "A", "to": BOB, "type": "read", "t": "5"}
    listed = read.child("list")
    assert listed is not None
    assert [i.attr_str("id") for i in listed.children] == ["B", "C"]
    delivery = cs.receipt(["A"], GROUP, participant=BOB.with_device(1))
    assert delivery.attrs == {"id": "A", "to": GROUP, "participant": BOB.with_device(1)}
    assert delivery.content is None

    notification = Node("notification", {"from": SERVER_JID, "id": "n1", "type": "encrypt"})
    assert cs.ack(notification).attrs == {
        "class": "notification",
        "id": "n1",
        "to": SERVER_JID,
        "type": "encrypt",
    }
    with pytest.raises(ValueError):
        cs.receipt([], BOB)
