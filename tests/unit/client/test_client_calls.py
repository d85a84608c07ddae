"""Reading call stanzas and writing the reject (pure parts of ``daemon.client.calls``)."""

from __future__ import annotations

from daemon.binary import JID, Node
from daemon.client.calls import CallStep, build_reject, parse_call

CALLER = JID.parse("15550004444@s.whatsapp.net")
CREATOR = JID.parse("15550004444:0@s.whatsapp.net")


def _call(child: Node) -> Node:
    return Node("call", {"from": CALLER, "id": "S1", "t": "1700000000"}, [child])


def test_an_offer_is_read_with_its_media() -> None:
    offer = Node(
        "offer",
        {"call-id": "C1", "call-creator": CREATOR},
        [Node("audio", {"enc": "opus"}), Node("video", {"enc": "vp8"})],
    )
    signal = parse_call(_call(offer))
    assert signal is not None
    assert (signal.step, signal.call_id, signal.caller, signal.creator) == (
        CallStep.OFFER,
        "C1",
        CALLER,
        CREATOR,
    )
    assert signal.video and signal.at == 1700000000 and signal.group is None


def test_terminate_keeps_its_reason_and_unknown_steps_are_not_acted_on() -> None:
    ended = parse_call(_call(Node("terminate", {"call-id": "C1", "reason": "timeout"})))
    assert ended is not None and ended.step is CallStep.TERMINATE and ended.reason == "timeout"
    assert ended.creator == CALLER  # no call-creator: the caller itself
    assert parse_call(_call(Node("relaylatency", {"call-id": "C1"}))) is None
    assert parse_call(_call(Node("offer", {}))) is None  # no call-id
    assert parse_call(Node("call", {"from": CALLER, "id": "S2"}, [])) is None


def test_the_reject_names_the_call_and_its_creator() -> None:
    signal = parse_call(_call(Node("offer", {"call-id": "C1", "call-creator": CREATOR})))
    assert signal is not None
    own = JID.parse("15550001111:3@s.whatsapp.net")
    node = build_reject(own, signal, "3EB0AA")
    assert node.tag == "call"
    assert node.attrs == {
        "id": "3EB0AA",
        "from": JID.parse("15550001111@s.whatsapp.net"),
        "to": CALLER,
    }
    reject = node.child("reject")
    assert reject is not None
    assert reject.attrs == {"call-id": "C1", "call-creator": CALLER, "count": "0"}
