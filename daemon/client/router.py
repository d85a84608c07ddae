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
