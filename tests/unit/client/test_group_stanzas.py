"""Group requests a CRM needs (participating list, subject, description, settings, invite
links, join by code) and the settings notifications, on the wire (pure)."""

from __future__ import annotations

import pytest

from daemon.binary import GROUP_SERVER_JID, JID, Node, marshal, unmarshal
from daemon.client.errors import StanzaError
from daemon.client.groups import (
    ChangeKind,
    GroupSetting,
    build_description,
    build_invite_query,
    build_join,
    build_participating_query,
    build_setting,
    build_subject,
    parse_group_notification,
    parse_invite_answer,
    parse_join_answer,
    parse_participating,
)

GROUP = JID.parse("120363000000000001@g.us")
ANN = JID.parse("15550002222@s.whatsapp.net")


def wire(node: Node) -> Node:
    return unmarshal(marshal(node))


def test_requests_have_the_shapes_the_server_expects() -> None:
    participating = wire(build_participating_query())
    assert participating.attr_str("xmlns") == "w:g2" and participating.attr_str("type") == "get"
    assert participating.attr_jid("to") == GROUP_SERVER_JID
    inner = participating.child("participating")
    assert inner is not None and [c.tag for c in inner.children] == ["participants", "description"]

    subject = wire(build_subject(GROUP, "Claims"))
    assert subject.attr_jid("to") == GROUP and subject.attr_str("type") == "set"
    node = subject.child("subject")
    assert node is not None and node.content_bytes() == b"Claims"
    with pytest.raises(ValueError):
        build_subject(GROUP, "")

    described = wire(build_description(GROUP, "open claims", "ABC", "OLD")).child("description")
    assert described is not None
    assert described.attr_str("id") == "ABC" and described.attr_str("prev") == "OLD"
    body = described.child("body")
    assert body is not None and body.content_bytes() == b"open claims"
    removed = wire(build_description(GROUP, "", "DEF", None)).child("description")
    assert removed is not None and removed.attr_str("delete") == "true" and not removed.children

    setting = wire(build_setting(GROUP, GroupSetting.ANNOUNCE_ON))
    assert [c.tag for c in setting.children] == ["announcement"]

    get_invite = wire(build_invite_query(GROUP))
    reset_invite = wire(build_invite_query(GROUP, reset=True))
    assert get_invite.attr_str("type") == "get" and reset_invite.attr_str("type") == "set"
    join = wire(build_join("AbC123"))
    invite = join.child("invite")
    assert join.attr_jid("to") == GROUP_SERVER_JID and invite is not None
    assert invite.attr_str("code") == "AbC123"
    with pytest.raises(ValueError):
        build_join("")


def test_answers_are_read() -> None:
    assert parse_invite_answer(Node("iq", {}, [Node("invite", {"code": "XYZ"})])) == "XYZ"
    with pytest.raises(StanzaError):
        parse_invite_answer(Node("iq", {}, []))
    assert parse_join_answer(Node("iq", {}, [Node("group", {"jid": GROUP})])) == (GROUP, False)
    pending = Node("iq", {}, [Node("membership_approval_request", {"jid": GROUP})])
    assert parse_join_answer(pending) == (GROUP, True)
    with pytest.raises(StanzaError):
        parse_join_answer(Node("iq", {}, []))

    group = Node(
        "group",
        {"id": "120363000000000001", "subject": "Claims", "creation": "1700000000"},
        [
            Node("participant", {"jid": ANN, "type": "admin"}),
            Node("description", {"id": "D1"}, [Node("body", {}, b"open claims")]),
            Node("announcement"),
            Node("locked"),
        ],
    )
    [info] = parse_participating(wire(Node("iq", {}, [Node("groups", {}, [group])])))
    assert info.jid == GROUP and info.description == "open claims"
    assert info.announce and info.locked and info.participants[0].jid == ANN
    with pytest.raises(StanzaError):
        parse_participating(Node("iq", {}, []))


def test_settings_and_description_notifications() -> None:
    notification = Node(
        "notification",
        {"from": GROUP, "type": "w:gp2", "participant": ANN},
        [
            Node("announcement"),
            Node("not_announcement"),
            Node("locked"),
            Node("unlocked"),
            Node("description", {"id": "D2"}, [Node("body", {}, b"new text")]),
            Node("description", {"id": "D3"}, [Node("delete")]),
        ],
    )
    changes = parse_group_notification(wire(notification))
    assert [c.kind for c in changes] == [
        ChangeKind.ANNOUNCE_ON,
        ChangeKind.ANNOUNCE_OFF,
        ChangeKind.LOCKED_ON,
        ChangeKind.LOCKED_OFF,
        ChangeKind.DESCRIPTION,
        ChangeKind.DESCRIPTION,
    ]
    assert changes[4].description == "new text" and changes[5].description == ""
