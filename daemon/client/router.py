"""The inbound side's table of contents: which handler gets which stanza.

Top-level stanzas dispatch by tag (``success``, ``failure``, ``stream:error``, ``ib``…).
Server-initiated iqs (``type=get|set``) dispatch by their first child's tag (``pair-device``,
``pair-success``); notifications by their ``type``; ``ib`` by its child's tag. Answers to our own
iqs never reach this table: the connection hands them to the iq router first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from daemon.binary import Node

Handler = Callable[[Node], Awaitable[None]]

IGNORED_KINDS = frozenset(
    {
        # The end of the offline queue and its preview, routing hints, dirty bits: nothing to do.
        "ib:offline",
        "ib:offline_preview",
        "ib:edge_routing",
        "ib:dirty",
        # Notifications acked without action (protocol-inventory §8; docs/protocol.md).
        "notification:account_sync",
        "notification:picture",
        "notification:status",
        "notification:business",
        "notification:contacts",
        "notification:psa",
        "notification:newsletter",
        "notification:link_code_companion_reg",
        "notification:disappearing_mode",
        "notification:hosted",
    }
)
"""Stanza kinds (see :func:`stanza_kind`) wamd deliberately leaves alone; any other kind without a
handler is new to us and logged once (``client.unhandled_stanza``)."""


def stanza_kind(node: Node) -> str:
    """``tag``, ``notification:<type>``, ``iq:<first child or xmlns>`` or ``ib:<child>``."""
    if node.tag == "notification":
        return f"notification:{node.attr_str('type') or ''}"
    if node.tag == "iq":
        first = node.children[0].tag if node.children else (node.attr_str("xmlns") or "")
        return f"iq:{first}"
    if node.tag == "ib":
        return "ib:" + ",".join(child.tag for child in node.children)
    return node.tag


@dataclass(slots=True)
class Router:
    by_tag: dict[str, Handler] = field(default_factory=dict)
    iq_by_child: dict[str, Handler] = field(default_factory=dict)
    notification_by_type: dict[str, Handler] = field(default_factory=dict)
    ib_by_child: dict[str, Handler] = field(default_factory=dict)
    fallback: Handler | None = None
    """Called for stanzas no entry matches (logging, a generic notification ack)."""

    def lookup(self, node: Node) -> Handler | None:
        if node.tag == "iq":
            first = node.children[0].tag if node.children else ""
            return self.iq_by_child.get(first)
        if node.tag == "notification":
            return self.notification_by_type.get(node.attr_str("type") or "")
        if node.tag == "ib":
            for child in node.children:
                handler = self.ib_by_child.get(child.tag)
                if handler is not None:
                    return handler
            return None
        return self.by_tag.get(node.tag)

    async def dispatch(self, node: Node) -> bool:
        """Runs the handler for ``node``; False when only the fallback (or nothing) took it."""
        handler = self.lookup(node)
        if handler is not None:
            await handler(node)
            return True
        if self.fallback is not None:
            await self.fallback(node)
        return False
