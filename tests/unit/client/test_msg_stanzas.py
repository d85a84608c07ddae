"""The pure stanza readers and writers of messaging: incoming messages, receipts, retry
receipts, usync, prekey bundles, group queries and notifications, server acks, outgoing nodes."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from daemon.binary import JID, Node, Server, marshal, unmarshal
from daemon.client.awaited_answers import AwaitedAnswers
from daemon.client.devices import (
    DeviceCache,
    parse_device_changes,
    parse_devices_notification,
    participant_list_hash,
)
from daemon.client.errors import StanzaError
from daemon.client.groups import (
    ChangeKind,
    ParticipantAction,
    build_create,
    build_participants_change,
    parse_group_answer,
    parse_group_notification,
    parse_participant_results,
)
from daemon.client.incoming import parse_message
from daemon.client.prekey_fetch import build_prekey_request, parse_prekey_answer
from daemon.client.receipts import (
    MAX_MERGED_IDS,
    ReceiptType,
    build_receipt,
    merge_receipts,
    parse_receipt,
)
from daemon.client.retry import RetryKeys, build_retry_receipt, parse_retry_receipt, wants_keys
from daemon.client.send import build_message_node, enc_node
from daemon.client.server_acks import ServerAck, parse_server_ack
from daemon.client.usync import build_device_query, parse_device_answer
from daemon.signal.session import EncType
from storage.message_values import ParticipantRole, ReceiptStatus

BOB_PN = JID.parse("15550002222@s.whatsapp.net")
BOB_LID = JID.parse("222@lid")
GROUP = JID.parse("120363000000000001@g.us")


def wire(node: Node) -> Node:
    """What the node looks like after a round trip through the binary codec."""
    return unmarshal(marshal(node))


# ------------------------------------------------------------------------------ incoming


def test_one_to_one_from_a_phone_number_with_its_lid() -> None:
    node = Node(
        "message",
        {
            "id": "M1",
            "from": BOB_PN.with_device(2),
            "t": "1700000000",
            "type": "text",
            "notify": "Bob",
            "sender_lid": BOB_LID,
            "offline": "1",
        },
        [
            Node("enc", {"v": "2", "type": "pkmsg"}, b"\x33abc"),
            Node("enc", {"v": "2", "type": "bogus"}, b"x"),
            Node("enc", {"v": "2", "type": "msg", "count": "2", "mediatype": "image"}, b"\x33d"),
        ],
    )
    incoming = parse_message(wire(node))
    assert incoming.sender == BOB_PN.with_device(2) and incoming.chat == BOB_PN
    assert incoming.sender_alt == BOB_LID and incoming.push_name == "Bob"
    assert incoming.timestamp == 1700000000 and incoming.offline and not incoming.is_group
    assert [(e.kind, e.retry_count, e.media_type) for e in incoming.encs] == [
        (EncType.PKMSG, 0, None),
        (EncType.MSG, 2, "image"),
    ]


def test_lid_sender_with_phone_number_alt() -> None:
    node = Node("message", {"id": "M", "from": BOB_LID.with_device(1), "sender_pn": BOB_PN})
    incoming = parse_message(node)
    assert incoming.sender_alt == BOB_PN and incoming.chat == BOB_LID


def test_group_and_own_device_copies() -> None:
    group = parse_message(
        Node(
            "message",
            {
                "id": "G",
                "from": GROUP,
                "participant": BOB_PN.with_device(1),
                "participant_lid": BOB_LID.with_device(1),
                "addressing_mode": "pn",
            },
            [Node("enc", {"type": "skmsg"}, b"\x33x")],
        )
    )
    assert group.is_group and group.chat == GROUP and group.sender == BOB_PN.with_device(1)
    assert group.sender_alt == BOB_LID and group.addressing_mode == "pn"
    own = parse_message(
        Node(
            "message",
            {"id": "O", "from": JID.parse("15550001111:0@s.whatsapp.net"), "recipient": BOB_PN},
        )
    )
    assert own.chat == BOB_PN and own.recipient == BOB_PN and own.encs == ()


@pytest.mark.parametrize(
    "attrs",
    [
        {"from": BOB_PN},
        {"id": "X"},
        {"id": "X", "from": GROUP},
        {"id": "X", "from": "not a jid"},
        {"id": "X", "from": BOB_PN, "t": "soon"},
    ],
)
def test_unreadable_messages(attrs: dict[str, object]) -> None:
    with pytest.raises(StanzaError):
        parse_message(Node("message", attrs))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ receipts


def test_receipt_shapes() -> None:
    delivery = build_receipt(["A"], BOB_PN.with_device(2))
    assert dict(delivery.attrs) == {"id": "A", "to": BOB_PN.with_device(2)}
    read = build_receipt(
        ["A", "B", "C"], GROUP, kind=ReceiptType.READ, participant=BOB_PN, timestamp=5
    )
    assert read.attr_str("type") == "read" and read.attr_str("t") == "5"
    assert [i.attr_str("id") for i in read.child("list").children] == ["B", "C"]  # type: ignore[union-attr]
    sender = build_receipt(["A"], BOB_PN, kind=ReceiptType.SENDER, recipient=GROUP)
    assert sender.attr_jid("recipient") == GROUP
    with pytest.raises(ValueError):
        build_receipt([], BOB_PN)


def test_consecutive_receipts_to_one_place_merge_in_order() -> None:
    carol = BOB_PN.with_device(2)
    ack = Node("ack", {"id": "X", "class": "message", "to": carol})
    retry = build_receipt(["R"], carol, kind=ReceiptType.RETRY)
    retry = Node(retry.tag, retry.attrs, [Node("retry", {"count": "1", "id": "R"})])
    replies = [
        build_receipt(["A"], carol),
        build_receipt(["B", "C"], carol),
        build_receipt(["D"], BOB_PN),  # another device: another receipt
        build_receipt(["E"], BOB_PN),
        build_receipt(["F"], BOB_PN, kind=ReceiptType.SENDER, recipient=GROUP),
        retry,
        build_receipt(["G"], carol),
        ack,
        build_receipt(["H"], carol),
    ]
    merged = merge_receipts(replies)
    assert merged[0] == build_receipt(["A", "B", "C"], carol)
    assert merged[1] == build_receipt(["D", "E"], BOB_PN)
    assert merged[2:] == [replies[4], retry, replies[6], ack, replies[8]]
    assert parse_receipt(Node("receipt", {**merged[0].attrs, "from": carol}, merged[0].content))
    many = merge_receipts([build_receipt([str(i)], carol) for i in range(MAX_MERGED_IDS + 1)])
    assert [len(parse_ids(n)) for n in many] == [MAX_MERGED_IDS, 1]


def parse_ids(node: Node) -> list[str]:
    items = node.child("list")
    return [str(node.attrs["id"])] + [str(i.attrs["id"]) for i in (items.children if items else [])]


def test_incoming_receipts() -> None:
    [read] = parse_receipt(
        wire(
            Node(
                "receipt",
                {"id": "A", "from": BOB_PN.with_device(1), "type": "read", "t": "9"},
                [Node("list", {}, [Node("item", {"id": "B"})])],
            )
        )
    )
    assert read.message_ids == ("A", "B") and read.reader == BOB_PN.with_device(1)
    assert read.kind is ReceiptType.READ and read.kind.status is ReceiptStatus.READ
    [delivered] = parse_receipt(Node("receipt", {"id": "A", "from": GROUP, "participant": BOB_PN}))
    assert delivered.reader == BOB_PN and delivered.kind.status is ReceiptStatus.DELIVERED  # type: ignore[union-attr]
    grouped = parse_receipt(
        Node(
            "receipt",
            {"id": "A", "from": GROUP, "type": "read"},
            [Node("participants", {"key": "K"}, [Node("user", {"jid": BOB_PN, "t": "3"})])],
        )
    )
    assert [(r.message_ids, r.reader, r.timestamp) for r in grouped] == [(("K",), BOB_PN, 3)]
    [odd] = parse_receipt(Node("receipt", {"id": "A", "from": BOB_PN, "type": "brand-new"}))
    assert odd.kind is None
    assert ReceiptType.SENDER.status is None and ReceiptType.INACTIVE.status is not None
    with pytest.raises(StanzaError):
        parse_receipt(Node("receipt", {"from": BOB_PN}))


# ------------------------------------------------------------------------------ retry


def test_retry_receipt_round_trip_with_keys() -> None:
    incoming = parse_message(
        Node("message", {"id": "M", "from": GROUP, "participant": BOB_PN.with_device(1), "t": "7"})
    )
    keys = RetryKeys(
        identity=os.urandom(32),
        prekey_id=77,
        prekey=os.urandom(32),
        signed_prekey_id=1,
        signed_prekey=os.urandom(32),
        signed_prekey_signature=os.urandom(64),
        device_identity=b"adv",
    )
    node = wire(build_retry_receipt(incoming, count=2, registration_id=4242, keys=keys))
    assert node.attr_str("type") == "retry" and node.attr_jid("to") == GROUP
    assert node.child("retry").attr_str("count") == "2"  # type: ignore[union-attr]
    # The requester's view of it, as the server forwards it to the sender.
    forwarded = Node("receipt", {**node.attrs, "from": GROUP}, node.content)
    request = parse_retry_receipt(forwarded)
    assert request.requester == BOB_PN.with_device(1) and request.is_group
    assert request.count == 2 and request.original_timestamp == 7
    assert request.registration_id == 4242
    assert request.bundle is not None and request.bundle.prekey_id == 77
    assert request.bundle.identity_key == keys.identity
    plain = build_retry_receipt(incoming, count=1, registration_id=1, keys=None)
    assert plain.child("keys") is None
    assert wants_keys(2, False) and wants_keys(1, True) and not wants_keys(1, False)
    with pytest.raises(StanzaError):
        parse_retry_receipt(Node("receipt", {"id": "M", "from": GROUP, "type": "retry"}))


# ------------------------------------------------------------------------------ usync, prekeys


def test_usync_query_and_answer() -> None:
    query = build_device_query([BOB_PN.with_device(3)], "sid1")
    usync = query.child("usync")
    assert usync is not None and usync.attr_str("context") == "message"
    assert usync.child("list", "user").attr_jid("jid") == BOB_PN  # type: ignore[union-attr]
    answer = Node(
        "iq",
        {"type": "result"},
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
                                {"jid": BOB_PN},
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
                                                    Node("device", {"id": "2", "key-index": "1"}),
                                                    Node("device", {"id": "5"}),
                                                    Node(
                                                        "device",
                                                        {
                                                            "id": "9",
                                                            "key-index": "2",
                                                            "is_hosted": "true",
                                                        },
                                                    ),
                                                ],
                                            )
                                        ],
                                    ),
                                    Node("lid", {"val": BOB_LID}),
                                ],
                            )
                        ],
                    )
                ],
            )
        ],
    )
    [user] = parse_device_answer(wire(answer))
    assert user.user == BOB_PN and user.lid == BOB_LID and user.device_ids == (0, 2)
    assert user.device_jids() == [BOB_PN, BOB_PN.with_device(2)]
    assert user.hosted_ids == (9,)  # kept apart, for 1:1 chats
    with pytest.raises(StanzaError):
        parse_device_answer(Node("iq", {"type": "result"}))


def _bundle_user(jid: JID, *, with_key: bool) -> Node:
    children = [
        Node("registration", {}, (4242).to_bytes(4, "big")),
        Node("type", {}, b"\x05"),
        Node("identity", {}, b"\x05" + b"\x01" * 32),
        Node(
            "skey",
            {},
            [
                Node("id", {}, (1).to_bytes(3, "big")),
                Node("value", {}, b"\x02" * 32),
                Node("signature", {}, b"\x03" * 64),
            ],
        ),
    ]
    if with_key:
        children.append(
            Node(
                "key", {}, [Node("id", {}, (9).to_bytes(3, "big")), Node("value", {}, b"\x04" * 32)]
            )
        )
    return Node("user", {"jid": jid}, children)


def test_prekey_fetch() -> None:
    request = build_prekey_request([BOB_PN.with_device(1)], reason_identity=True)
    assert request.child("key", "user").attr_str("reason") == "identity"  # type: ignore[union-attr]
    answer = Node(
        "iq",
        {"type": "result"},
        [
            Node(
                "list",
                {},
                [
                    _bundle_user(BOB_PN, with_key=True),
                    _bundle_user(BOB_PN.with_device(1), with_key=False),
                    Node("user", {"jid": BOB_PN.with_device(2)}, [Node("error", {"code": "404"})]),
                ],
            )
        ],
    )
    bundles = parse_prekey_answer(wire(answer))
    assert set(bundles) == {BOB_PN, BOB_PN.with_device(1)}
    full = bundles[BOB_PN]
    assert full.registration_id == 4242 and full.identity_key == b"\x01" * 32
    assert full.prekey_id == 9 and bundles[BOB_PN.with_device(1)].prekey is None
    broken = Node("iq", {}, [Node("list", {}, [Node("user", {"jid": BOB_PN}, [])])])
    with pytest.raises(StanzaError):
        parse_prekey_answer(broken)
    with pytest.raises(ValueError):
        build_prekey_request([])


# ------------------------------------------------------------------------------ groups


def _group_node() -> Node:
    return Node(
        "group",
        {
            "id": "120363000000000001",
            "subject": "team",
            "creation": "1700000000",
            "creator": BOB_PN,
            "addressing_mode": "pn",
        },
        [
            Node("participant", {"jid": BOB_PN, "lid": BOB_LID, "type": "superadmin"}),
            Node("participant", {"jid": JID.parse("15550003333@s.whatsapp.net")}),
            Node("participant", {"jid": JID.parse("444@lid"), "type": "admin"}),
        ],
    )


def test_group_metadata() -> None:
    info = parse_group_answer(wire(Node("iq", {"type": "result"}, [_group_node()])))
    assert info.jid == GROUP and info.subject == "team" and info.owner == BOB_PN
    assert info.created_at == 1700000000
    roles = [(p.jid, p.alt, p.role) for p in info.participants]
    assert roles[0] == (BOB_PN, BOB_LID, ParticipantRole.SUPERADMIN)
    assert roles[2][2] is ParticipantRole.ADMIN
    create = build_create("team", [BOB_PN.with_device(4)], "KEY")
    assert create.child("create").attr_str("key") == "KEY"  # type: ignore[union-attr]
    assert create.child("create", "participant").attr_jid("jid") == BOB_PN  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        build_create("", [], "K")


def test_group_changes() -> None:
    request = build_participants_change(GROUP, ParticipantAction.REMOVE, [BOB_PN])
    assert request.attr_jid("to") == GROUP and request.child("remove") is not None
    answer = Node(
        "iq",
        {},
        [
            Node(
                "remove",
                {},
                [
                    Node("participant", {"jid": BOB_PN}),
                    Node("participant", {"jid": BOB_LID, "error": "404"}),
                ],
            )
        ],
    )
    assert parse_participant_results(answer, ParticipantAction.REMOVE) == {
        BOB_PN: None,
        BOB_LID: 404,
    }
    notification = Node(
        "notification",
        {"from": GROUP, "type": "w:gp2", "participant": BOB_PN},
        [
            Node(
                "add", {}, [Node("participant", {"jid": JID.parse("15550005555@s.whatsapp.net")})]
            ),
            Node("subject", {"subject": "renamed"}),
            Node("ephemeral", {"expiration": "86400"}),
            Node("create", {}, [_group_node()]),
        ],
    )
    changes = parse_group_notification(wire(notification))
    assert [c.kind for c in changes] == [
        ChangeKind.ADD,
        ChangeKind.SUBJECT,
        ChangeKind.OTHER,
        ChangeKind.CREATE,
    ]
    assert changes[0].actor == BOB_PN and changes[1].subject == "renamed"
    assert changes[2].detail == "ephemeral" and changes[3].created is not None
    with pytest.raises(StanzaError):
        parse_group_notification(Node("notification", {"from": BOB_PN}))


# ------------------------------------------------------------------------------ devices, acks


def test_device_cache() -> None:
    now = [100.0]
    cache = DeviceCache(lambda: now[0], ttl=10)
    cache.put(BOB_PN, (2, 0, 2))
    assert cache.get(BOB_PN) == (0, 2)
    cache.saw_device(BOB_PN, 2)
    assert cache.get(BOB_PN) == (0, 2)
    cache.saw_device(BOB_PN, 7)  # a device the list lacks: stale
    assert cache.get(BOB_PN) is None
    cache.put(BOB_PN, (0,))
    now[0] += 11
    assert cache.get(BOB_PN) is None
    cache.put(BOB_PN, (0,))
    assert cache.invalidate(BOB_PN) and not cache.invalidate(BOB_PN)
    notification = Node(
        "notification",
        {"from": BOB_PN, "type": "devices"},
        [Node("add", {}, [Node("device", {"jid": JID.parse("15550009999:3@s.whatsapp.net")})])],
    )
    assert parse_devices_notification(notification) == [
        BOB_PN,
        JID.parse("15550009999@s.whatsapp.net"),
    ]


async def test_server_acks() -> None:
    acks = AwaitedAnswers[ServerAck]()
    waiter = acks.expect("M")
    assert parse_server_ack(Node("ack", {"class": "receipt", "id": "M"})) is None
    ack = parse_server_ack(Node("ack", {"class": "message", "id": "M", "t": "5"}))
    assert ack is not None and acks.resolve("M", ack) and not acks.resolve("M", ack)
    assert (await waiter).timestamp == 5
    refused = parse_server_ack(Node("ack", {"class": "message", "id": "N", "error": "463"}))
    assert refused is not None and refused.error == 463
    pending = acks.expect("P")
    acks.fail_all(lambda: ConnectionResetError("gone"))
    with pytest.raises(ConnectionResetError):
        await pending


def test_message_node_carries_the_identity_only_with_a_pkmsg() -> None:
    msg = enc_node(EncType.MSG, b"\x33x", hide=True, count=2)
    assert dict(msg.attrs) == {"v": "2", "type": "msg", "decrypt-fail": "hide", "count": "2"}
    node = build_message_node("M", BOB_PN, "text", fanout={BOB_PN: msg}, device_identity=b"id")
    assert node.child("device-identity") is None
    assert node.child("participants", "to").attr_jid("jid") == BOB_PN  # type: ignore[union-attr]
    pk = enc_node(EncType.PKMSG, b"\x33y")
    node = build_message_node(
        "M",
        GROUP,
        "text",
        fanout={BOB_PN: pk},
        content=[enc_node(EncType.SKMSG, b"s")],
        device_identity=b"id",
        extra={"edit": "1"},
    )
    assert node.child("device-identity") is not None and node.attr_str("edit") == "1"
    assert [c.tag for c in node.children] == ["participants", "enc", "device-identity"]


def test_participant_list_hash_is_whatsmeows_v2() -> None:
    devices = [BOB_PN.with_device(2), BOB_PN]
    joined = "15550002222.0:0@s.whatsapp.net15550002222.0:2@s.whatsapp.net"
    digest = hashlib.sha256(joined.encode()).digest()[:6]
    assert participant_list_hash(devices) == "2:" + base64.b64encode(digest).decode().rstrip("=")
    assert participant_list_hash(reversed(devices)) == participant_list_hash(devices)


def test_a_devices_notification_is_applied_when_its_hash_matches() -> None:
    cache = DeviceCache(lambda: 0.0)
    cache.put(BOB_PN, (0, 2), hosted_ids=(9,))
    # The service's device hash counts the hosted device too, under @hosted (whatsmeow's cache).
    hosted = JID(BOB_PN.user, Server.HOSTED, 9)
    after = participant_list_hash([BOB_PN, BOB_PN.with_device(2), BOB_PN.with_device(3), hosted])
    notification = Node(
        "notification",
        {"from": BOB_PN, "lid": BOB_LID, "type": "devices"},
        [
            Node(
                "add",
                {"device_hash": after},
                [Node("device", {"jid": BOB_PN.with_device(3), "lid": BOB_LID.with_device(3)})],
            )
        ],
    )
    [change] = parse_device_changes(notification)
    assert (change.account, change.lid, change.added, change.device_id) == (
        BOB_PN,
        BOB_LID,
        True,
        3,
    )
    assert cache.apply_change(BOB_PN, True, 3, change.device_hash)
    assert cache.get(BOB_PN) == (0, 2, 3) and cache.hosted(BOB_PN) == (9,)
    # A hash that does not match what the change leads to: the list is dropped, asked again.
    assert not cache.apply_change(BOB_PN, False, 2, "2:AAAAAAAA")
    assert cache.get(BOB_PN) is None
    assert not cache.apply_change(BOB_PN, True, 4, after)  # nothing cached: nothing to apply


def test_server_ack_carries_the_servers_phash() -> None:
    ack = parse_server_ack(Node("ack", {"class": "message", "id": "M", "t": "5", "phash": "2:x"}))
    assert ack is not None and ack.phash == "2:x"
