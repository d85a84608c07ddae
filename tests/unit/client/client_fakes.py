"""An in-memory socket for driving a Connection without a network (test helper)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from daemon.binary import SERVER_JID, Node
from daemon.wire.errors import TransportClosed, TransportTimeout

Answer = Callable[[Node], Node | None]


def result_for(request: Node, content: list[Node] | None = None) -> Node:
    return Node(
        "iq", {"from": SERVER_JID, "type": "result", "id": request.attr_str("id") or ""}, content
    )


class FakeSocket:
    """``NodeSocket``: what the client sends is recorded (and may be answered at once);
    what the test ``push``es is what the client reads."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.sent: list[Node] = []
        self._inbox: asyncio.Queue[Node | None] = asyncio.Queue()
        self._answer = answer
        self.closed = False

    async def send_node(self, node: Node) -> None:
        if self.closed:
            raise TransportClosed("closed")
        self.sent.append(node)
        if self._answer is not None:
            reply = self._answer(node)
            if reply is not None:
                self.push(reply)

    async def receive_node(self, timeout: float | None = None) -> Node:
        try:
            async with asyncio.timeout(timeout):
                node = await self._inbox.get()
        except TimeoutError:
            raise TransportTimeout("silent") from None
        if node is None:
            raise TransportClosed("peer closed")
        return node

    def push(self, node: Node) -> None:
        self._inbox.put_nowait(node)

    def hang_up(self) -> None:
        self._inbox.put_nowait(None)

    async def close(self) -> None:
        self.closed = True


def answer_pings(node: Node) -> Node | None:
    if node.tag == "iq" and node.attr_str("xmlns") == "w:p":
        return result_for(node)
    return None
