"""Node helpers the client reads stanzas with."""

from __future__ import annotations

import pytest

from daemon.binary import JID, AttrError, Node, unmarshal

USYNC_RESULT = Node(
    "iq",
    {"type": "result", "id": "12", "from": JID("", "s.whatsapp.net")},
    [
        Node(
            "usync",
            {},
            [
                Node(
                    "list",
                    {},
                    [
                        Node("user", {"jid": JID("1", "s.whatsapp.net")}),
                        Node("user", {"jid": "2@s.whatsapp.net"}),
                        Node("other", {}),
                    ],
                )
            ],
        )
    ],
)


def test_defaults() -> None:
    node = Node("ping")
    assert node.attrs == {}
    assert node.content is None
    assert node.children == []
    assert Node("a").attrs is not Node("b").attrs


def test_child_walks_a_path() -> None:
    users = USYNC_RESULT.child("usync", "list")
    assert users is not None and users.tag == "list"
    assert USYNC_RESULT.child("usync", "missing", "list") is None
    assert USYNC_RESULT.child() is USYNC_RESULT
    assert Node("x", {}, b"bytes").child("y") is None


def test_children_by_tag() -> None:
    users = USYNC_RESULT.child("usync", "list")
    assert users is not None
    assert [u.attr_str("jid") for u in users.children_by_tag("user")] == [
        "1@s.whatsapp.net",
        "2@s.whatsapp.net",
    ]
    assert users.children_by_tag("nothing") == []


def test_attr_jid_accepts_jid_and_text_values() -> None:
    users = USYNC_RESULT.child("usync", "list")
    assert users is not None
    first, second, other = users.children
    assert first.attr_jid("jid") == JID("1", "s.whatsapp.net")
    assert second.attr_jid("jid") == JID("2", "s.whatsapp.net")
    assert other.attr_jid("jid") is None
    with pytest.raises(AttrError, match="<iq> attribute 'type'"):
        USYNC_RESULT.attr_jid("type")


def test_attr_str_gives_jids_in_string_form() -> None:
    assert USYNC_RESULT.attr_str("from") == "@s.whatsapp.net"
    assert USYNC_RESULT.attr_str("type") == "result"
    assert USYNC_RESULT.attr_str("absent") is None


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("-3", -3), ("0", 0)])
def test_attr_int(text: str, value: int) -> None:
    assert Node("x", {"n": text}).attr_int("n") == value


@pytest.mark.parametrize("text", ["", "1.5", " 1", "1_000", "+1", "x", "٣", "9" * 30])
def test_attr_int_rejects_non_decimal(text: str) -> None:
    with pytest.raises(AttrError):
        Node("x", {"n": text}).attr_int("n")


def test_attr_int_rejects_jid_values_and_allows_absent() -> None:
    with pytest.raises(AttrError):
        Node("x", {"n": JID("1", "lid")}).attr_int("n")
    assert Node("x").attr_int("n") is None


def test_content_bytes() -> None:
    assert Node("x", {}, b"\x01").content_bytes() == b"\x01"
    assert Node("x", {}, "123").content_bytes() == b"123"
    assert Node("x", {}, [Node("y")]).content_bytes() is None
    assert Node("x").content_bytes() is None
    # Content written as a token or packed digits decodes as text; content_bytes() evens it out.
    assert unmarshal(bytes.fromhex("00f80219ff021234")).content_bytes() == b"1234"


def test_nodes_compare_by_value_and_are_frozen() -> None:
    assert Node("a", {"k": "v"}, [Node("b")]) == Node("a", {"k": "v"}, [Node("b")])
    assert Node("a", {}, b"1") != Node("a", {}, "1")
    with pytest.raises(AttributeError):
        Node("a").tag = "b"  # type: ignore[misc]
