"""How an in-process device (a simulated phone, a hosted device) talks to the network.

What it submits goes through ``Network.submit`` exactly as if read from its socket. What the
network delivers is queued for one worker task that handles stanzas one at a time, except the
answers to the device's own iqs and message acks, which complete their waiters directly: the
worker may itself be waiting for one of them. Other acks are dropped: nothing acts on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from daemon.binary import JID, Node
from daemon.client.ids import RequestIds
from sandbox.network import Network

__all__ = ["StanzaLink"]

log = structlog.get_logger("sandbox.phone.link")


class StanzaLink:
    def __init__(
        self,
        network: Network,
        jid: JID,
        handle: Callable[[Node], Awaitable[None]],
        *,
        timeout: float,
        failure: Callable[[str], Exception],
        name: str,
    ) -> None:
        self._network = network
        self._jid = jid
        self._handle = handle
        self._timeout = timeout
        self._failure = failure
        self._name = name
        self._ids = RequestIds()
        self._inbox: asyncio.Queue[Node] = asyncio.Queue()
        self._waiters: dict[tuple[str, str], asyncio.Future[Node]] = {}
        self._worker: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name=self._name)

    async def stop(self) -> None:
        """Stops the worker and fails every request still waiting for an answer."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()

    async def join(self) -> None:
        """Waits until every stanza delivered so far was handled."""
        await self._inbox.join()

    def empty(self) -> bool:
        return self._inbox.empty()

    async def deliver(self, node: Node) -> None:
        key: tuple[str, str] | None = None
        if node.tag == "iq" and node.attr_str("type") in ("result", "error"):
            key = ("iq", node.attr_str("id") or "")
        elif node.tag == "ack" and node.attr_str("class") == "message":
            key = ("ack", node.attr_str("id") or "")
        if key is not None:
            waiter = self._waiters.pop(key, None)
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(node)
                return
        if node.tag == "ack":
            # The server acks every receipt and notification the device sends (two per relayed
            # message): no handler acts on an ack nobody waits for, so it skips the queue.
            return
        self._inbox.put_nowait(node)

    async def _work(self) -> None:
        while True:
            node = await self._inbox.get()
            try:
                await self._handle(node)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "sandbox.phone.stanza_failed",
                    device=self._name,
                    tag=node.tag,
                    id=node.attr_str("id"),
                )
            finally:
                self._inbox.task_done()

    async def submit(self, node: Node) -> None:
        await self._network.submit(self._jid, node)

    async def request(self, kind: str, key: str, node: Node) -> Node:
        """Submits ``node`` and waits for the stanza that answers it (an iq result or an ack)."""
        waiter: asyncio.Future[Node] = asyncio.get_running_loop().create_future()
        self._waiters[(kind, key)] = waiter
        try:
            await self._network.submit(self._jid, node)
            async with asyncio.timeout(self._timeout):
                return await waiter
        except TimeoutError:
            raise self._failure(f"no answer to {node.tag} {key} from the server") from None
        finally:
            self._waiters.pop((kind, key), None)

    async def iq(self, build: Callable[[str], Node]) -> Node:
        iq_id = self._ids.next()
        return await self.request("iq", iq_id, build(iq_id))
