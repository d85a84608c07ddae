"""Stanza kinds nobody handles are named and logged once per kind (``daemon.log.UnknownKinds``)."""

from __future__ import annotations

from typing import Any

from daemon.binary import Node
from daemon.client.router import IGNORED_KINDS, stanza_kind
from daemon.log import MAX_UNKNOWN_KINDS, UnknownKinds


class _Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def debug(self, event: str, *args: Any, **kw: Any) -> None:
        self.lines.append((event, kw))


def test_kinds_name_the_part_a_handler_is_chosen_by() -> None:
    assert stanza_kind(Node("notification", {"type": "brand_new"})) == "notification:brand_new"
    assert stanza_kind(Node("iq", {"type": "set"}, [Node("frob")])) == "iq:frob"
    assert stanza_kind(Node("iq", {"type": "get", "xmlns": "urn:new"})) == "iq:urn:new"
    assert stanza_kind(Node("ib", {}, [Node("offline", {"count": "0"})])) == "ib:offline"
    assert stanza_kind(Node("frobnicate")) == "frobnicate"
    assert "ib:offline" in IGNORED_KINDS and "notification:picture" in IGNORED_KINDS


def test_each_kind_is_logged_once() -> None:
    log = _Log()
    unknown = UnknownKinds(log, "client.unhandled_stanza")
    assert unknown.note("frobnicate") and not unknown.note("frobnicate")
    assert unknown.note("notification:brand_new")
    assert log.lines == [
        ("client.unhandled_stanza", {"kind": "frobnicate"}),
        ("client.unhandled_stanza", {"kind": "notification:brand_new"}),
    ]


def test_a_flood_of_new_kinds_is_bounded() -> None:
    log = _Log()
    unknown = UnknownKinds(log, "x")
    for i in range(MAX_UNKNOWN_KINDS + 50):
        unknown.note(f"kind{i}")
    assert len(log.lines) == MAX_UNKNOWN_KINDS
