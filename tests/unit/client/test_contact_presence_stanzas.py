"""Number checks, profile-picture queries, presence and chat states on the wire (pure)."""

from __future__ import annotations

import pytest

from daemon.binary import JID, Node, marshal, unmarshal
from daemon.client.contact_queries import (
    build_number_check,
    build_picture_query,
    parse_number_check,
    parse_picture,
)
from daemon.client.errors import StanzaError
from daemon.client.presence import (
    ChatState,
    build_chatstate,
    build_subscribe,
    parse_chatstate,
    parse_presence,
)

ANN = JID.parse("15550002222@s.whatsapp.net")
ANN_LID = JID.parse("222@lid")
GROUP = JID.parse("120363000000000001@g.us")
VERIFIED = Node("verified_name", {"name": "Ann Co"})


def wire(node: Node) -> Node:
    return unmarshal(marshal(node))


def test_number_check_round_trip() -> None:
    query = wire(build_number_check(["15550002222", "15559990000"], "sid1"))
    usync = query.child("usync")
    assert usync is not None and usync.attr_str("context") == "interactive"
    protocols = usync.child("query")
    assert protocols is not None
    assert [p.tag for p in protocols.children] == ["business", "contact", "lid"]
    listed = usync.child("list")
    assert listed is not None
    contact = listed.children[0].child("contact")
    assert contact is not None and contact.content_bytes() == b"+15550002222"
    with pytest.raises(ValueError):
        build_number_check([], "sid")

    answer = Node(
        "iq",
        {},
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
                                {"jid": ANN},
                                [
                                    Node("contact", {"type": "in"}, b"+15550002222"),
                                    Node("lid", {"val": ANN_LID}),
                                    Node(
                                        "business", {}, [Node("verified_name", {"name": "Ann Co"})]
                                    ),
                                ],
                            ),
                            Node(
                                "user",
                                {"jid": JID.parse("15559990000@s.whatsapp.net")},
                                [Node("contact", {"type": "out"}, b"+15559990000")],
                            ),
                        ],
                    )
                ],
            )
        ],
    )
    ann, stranger = parse_number_check(wire(answer))
    assert ann.number == "15550002222" and ann.on_whatsapp and ann.jid == ANN
    assert ann.lid == ANN_LID and ann.business_name == "Ann Co"
    assert stranger.number == "15559990000" and not stranger.on_whatsapp
    with pytest.raises(StanzaError):
        parse_number_check(Node("iq", {}, []))


def test_picture_query_and_answer() -> None:
    query = wire(build_picture_query(ANN.with_device(3), preview=True, known_id="42"))
    assert query.attr_str("xmlns") == "w:profile:picture" and query.attr_jid("target") == ANN
    picture = query.child("picture")
    assert picture is not None and picture.attrs["type"] == "preview"
    assert picture.attrs["id"] == "42" and picture.attrs["query"] == "url"
    info = parse_picture(
        Node("iq", {}, [Node("picture", {"id": "7", "url": "https://x/p", "direct_path": "/p"})])
    )
    assert (info.id, info.url, info.kind, info.direct_path) == ("7", "https://x/p", "image", "/p")
    with pytest.raises(StanzaError):
        parse_picture(Node("iq", {}, []))


def test_presence_and_chatstates() -> None:
    assert wire(build_subscribe(ANN.with_device(2))).attrs == {"type": "subscribe", "to": ANN}
    recording = wire(build_chatstate(ANN, ChatState.RECORDING))
    assert recording.children[0].tag == "composing"
    assert recording.children[0].attrs == {"media": "audio"}
    assert wire(build_chatstate(GROUP, ChatState.PAUSED)).children[0].tag == "paused"

    away = parse_presence(Node("presence", {"from": ANN, "type": "unavailable", "last": "1700"}))
    assert not away.available and away.last_seen == 1700 and away.who == ANN
    hidden = parse_presence(Node("presence", {"from": ANN, "type": "unavailable", "last": "deny"}))
    assert hidden.last_seen is None
    assert parse_presence(Node("presence", {"from": ANN})).available

    typing = parse_chatstate(
        Node("chatstate", {"from": GROUP, "participant": ANN}, [Node("composing")])
    )
    assert (typing.chat, typing.sender, typing.state) == (GROUP, ANN, ChatState.COMPOSING)
    voice = parse_chatstate(
        Node("chatstate", {"from": ANN}, [Node("composing", {"media": "audio"})])
    )
    assert voice.state is ChatState.RECORDING and voice.sender == ANN
    with pytest.raises(StanzaError):
        parse_chatstate(Node("chatstate", {"from": ANN}, [Node("dancing")]))
    with pytest.raises(StanzaError):
        parse_presence(Node("presence", {}))
