"""Acknowledging server stanzas.

Notifications are acked as soon as they are handled (they carry nothing that must be persisted
first); messages and receipts follow persist-before-ack and are acked by their own handlers.
"""

from __future__ import annotations

from daemon.binary import Node
from daemon.binary.node import AttrValue


def build_ack(stanza: Node) -> Node:
    """``ack class=<tag> id=… to=<from> [type] [participant]`` for a server stanza."""
    attrs: dict[str, AttrValue] = {"class": stanza.tag, "id": stanza.attr_str("id") or ""}
    sender = stanza.attrs.get("from")
    if sender is not None:
        attrs["to"] = sender
    participant = stanza.attrs.get("participant")
    if participant is not None:
        attrs["participant"] = participant
    kind = stanza.attr_str("type")
    if kind is not None and stanza.tag != "message":
        attrs["type"] = kind
    return Node("ack", attrs)
