"""The stanza link of an in-process device: what reaches its handler, what completes a waiter."""

from __future__ import annotations

import asyncio

from daemon.binary import JID, Node, Server
from sandbox.app import SandboxServer
from sandbox.phone.link import StanzaLink

TIMEOUT = 5.0


async def test_acks_nobody_waits_for_skip_the_handler(bare_sandbox: SandboxServer) -> None:
    handled: list[Node] = []

    async def handle(node: Node) -> None:
        handled.append(node)

    link = StanzaLink(
        bare_sandbox.network,
        JID("15550019999", Server.PN, 0),
        handle,
        timeout=TIMEOUT,
        failure=RuntimeError,
        name="test-link",
    )
    link.start()
    try:
        message = Node("message", {"id": "m1", "from": "15550018888@s.whatsapp.net"})
        await link.deliver(Node("ack", {"class": "receipt", "id": "r1"}))
        await link.deliver(Node("ack", {"class": "message", "id": "m0"}))
        await link.deliver(message)
        async with asyncio.timeout(TIMEOUT):
            await link.join()
    finally:
        await link.stop()
    assert handled == [message]
