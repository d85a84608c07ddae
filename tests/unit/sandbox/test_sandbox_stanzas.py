"""The server's own stanzas: stream errors, failures, acks, iq answers."""

from __future__ import annotations

from daemon.binary import GROUP_SERVER_JID, JID, SERVER_JID, Node, Server, marshal, unmarshal
from sandbox.stanzas import ack, device_removed, failure, iq_error, iq_result, stream_error


def test_stream_error_carries_the_code() -> None:
    node = stream_error(515)
    assert node.tag == "stream:error" and node.attrs == {"code": "515"} and node.children == []


def test_440_is_a_replaced_conflict_without_code() -> None:
    node = stream_error(440)
    assert "code" not in node.attrs
    assert node.child("conflict").attr_str("type") == "replaced"  # type: ignore[union-attr]


def test_device_removed_is_401_with_conflict() -> None:
    node = device_removed()
    assert node.attr_str("code") == "401"
    assert node.child("conflict").attr_str("type") == "device_removed"  # type: ignore[union-attr]


def test_failure_reason() -> None:
    assert failure(403).attr_str("reason") == "403"


def test_iq_answers_come_from_the_server_jid_as_a_jid() -> None:
    request = Node("iq", {"id": "1.2-3", "to": SERVER_JID, "type": "get", "xmlns": "w:p"})
    answer = unmarshal(marshal(iq_result(request)))
    assert answer.attrs["from"] == SERVER_JID and isinstance(answer.attrs["from"], JID)
    assert answer.attr_str("id") == "1.2-3" and answer.attr_str("type") == "result"
    error = iq_error(request, 404, "item-not-found")
    assert error.child("error").attrs == {"code": "404", "text": "item-not-found"}  # type: ignore[union-attr]


def test_group_iqs_are_answered_from_the_group() -> None:
    group = JID("120363000000000001", Server.GROUP)
    assert iq_result(Node("iq", {"id": "x", "to": group})).attrs["from"] == group
    assert (
        iq_result(Node("iq", {"id": "x", "to": GROUP_SERVER_JID})).attrs["from"] == GROUP_SERVER_JID
    )


def test_ack_copies_class_id_and_type_but_not_a_message_type() -> None:
    receipt = Node("receipt", {"id": "A1", "type": "read"})
    assert ack(receipt).attrs == {
        "class": "receipt",
        "id": "A1",
        "type": "read",
        "from": SERVER_JID,
    }
    chat = JID("15550000001", Server.PN)
    message = Node("message", {"id": "M1", "type": "text"})
    assert ack(message, sender=chat, t=7).attrs == {
        "class": "message",
        "id": "M1",
        "from": chat,
        "t": "7",
    }
