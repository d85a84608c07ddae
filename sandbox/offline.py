"""Per-device delivery with an offline queue: stanzas wait until the device acks them.

A message, receipt, notification or call for a device that is not connected is written to the
queue (SQLite). One sent to a connected companion is kept in memory as in flight until the
device acknowledges it (an ``ack`` of that class and id, or, for a message, a receipt naming
it); when the connection ends, or the server stops, whatever is still in flight is written to
the queue. Keeping in-flight stanzas in memory saves two commits per routed stanza; only a
killed process loses them (a stopped or restarted one does not).

Whatever is queued when the device logs in again is sent right after ``<success>`` with an
``offline`` attribute, followed by ``ib > offline(count=N)``, and stays queued until acked.
Deliveries to one device are serialized by a lock, so a live stanza never overtakes (or
duplicates) the redelivery of the queue during a login.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import structlog

from daemon.binary import JID, Node

if TYPE_CHECKING:
    from sandbox.network import Endpoint, Network

log = structlog.get_logger("sandbox.offline")

ACKED_CLASSES = frozenset({"message", "receipt", "notification", "call", "status"})
"""Stanza classes a client must acknowledge; the others are fire-and-forget."""


def needs_ack(node: Node) -> bool:
    return node.tag in ACKED_CLASSES and bool(node.attr_str("id"))


def with_offline_marker(node: Node, position: int) -> Node:
    return Node(node.tag, {**node.attrs, "offline": str(position)}, node.content)


class _InFlight:
    """One device's unacked stanzas in the order they were sent, found by (class, id) without
    a scan: a burst to a device that acks late has hundreds in flight, and every receipt acks
    message ids again that its ``ack`` already removed."""

    __slots__ = ("_by_key", "_next", "_nodes")

    def __init__(self) -> None:
        self._nodes: dict[int, Node] = {}
        self._by_key: dict[tuple[str, str], deque[int]] = {}
        self._next = 0

    def add(self, node: Node) -> None:
        seq = self._next
        self._next += 1
        self._nodes[seq] = node
        self._by_key.setdefault((node.tag, node.attr_str("id") or ""), deque()).append(seq)

    def remove(self, stanza_class: str, stanza_id: str) -> bool:
        """Removes the oldest stanza of that class and id; False when none is in flight."""
        key = (stanza_class, stanza_id)
        seqs = self._by_key.get(key)
        if not seqs:
            return False
        del self._nodes[seqs.popleft()]
        if not seqs:
            del self._by_key[key]
        return True

    def nodes(self) -> list[Node]:
        return list(self._nodes.values())


class OfflineQueue:
    def __init__(self, network: Network) -> None:
        self._network = network
        self._locks: dict[JID, asyncio.Lock] = {}
        self._in_flight: dict[JID, _InFlight] = {}
        # (class, id) of what each device has queued in the database, loaded on first use: an
        # ack or receipt of something never queued (nearly all of them while devices are
        # connected) then costs no database write.
        self._queued_keys: dict[JID, Counter[tuple[str, str]]] = {}

    def lock(self, device: JID) -> asyncio.Lock:
        lock = self._locks.get(device)
        if lock is None:
            lock = self._locks[device] = asyncio.Lock()
        return lock

    async def deliver(
        self,
        device: JID,
        node: Node,
        *,
        queue: bool,
        send: Callable[[Endpoint, Node], Awaitable[None]],
    ) -> bool:
        """Sends ``node`` to the device's endpoint (tracking it until acked), or queues it."""
        async with self.lock(device):
            endpoint = self._network.endpoint(device)
            if endpoint is None:
                if queue and needs_ack(node):
                    await self.enqueue(device, node)
                return False
            if endpoint.acks_required and needs_ack(node):
                in_flight = self._in_flight.get(device)
                if in_flight is None:
                    in_flight = self._in_flight[device] = _InFlight()
                in_flight.add(node)
        # Sent outside the lock: a delay fault must not hold up the device's other deliveries
        # from being queued in order.
        try:
            await send(endpoint, node)
        except Exception as exc:
            # A socket that died under us: what it owed stays in flight and is queued when the
            # connection's end is processed. One dead device must not stop a fan-out.
            log.info("sandbox.delivery_failed", device=str(device), tag=node.tag, error=repr(exc))
            return False
        return True

    async def _keys(self, device: JID) -> Counter[tuple[str, str]]:
        keys = self._queued_keys.get(device)
        if keys is None:
            queued = await self._network.state.queued(str(device))
            # Another task may have loaded them meanwhile (and enqueued since): keep the first.
            keys = self._queued_keys.setdefault(
                device, Counter((q.stanza_class, q.stanza_id) for q in queued)
            )
        return keys

    async def enqueue(self, device: JID, node: Node) -> None:
        keys = await self._keys(device)
        await self._network.state.enqueue(str(device), node, self._network.now())
        keys[node.tag, node.attr_str("id") or ""] += 1

    async def acknowledge(self, device: JID, stanza_class: str, ids: Iterable[str]) -> None:
        in_flight = self._in_flight.get(device)
        for stanza_id in ids:
            if in_flight is not None and in_flight.remove(stanza_class, stanza_id):
                continue
            keys = await self._keys(device)
            if keys[stanza_class, stanza_id] > 0:
                await self._network.state.dequeue_matching(str(device), stanza_class, stanza_id)
                keys[stanza_class, stanza_id] -= 1
                if not keys[stanza_class, stanza_id]:
                    del keys[stanza_class, stanza_id]

    async def pending(self, device: JID) -> list[Node]:
        """What the device has not acked yet: its queue, then what is in flight."""
        queued = [q.node for q in await self._network.state.queued(str(device))]
        in_flight = self._in_flight.get(device)
        return queued + (in_flight.nodes() if in_flight is not None else [])

    async def flush(self, device: JID) -> None:
        """Moves the device's in-flight stanzas to the queue (its connection ended)."""
        in_flight = self._in_flight.pop(device, None)
        nodes = in_flight.nodes() if in_flight is not None else []
        if nodes:
            async with self._network.state.transaction():
                for node in nodes:
                    await self.enqueue(device, node)

    async def flush_all(self) -> None:
        for device in list(self._in_flight):
            await self.flush(device)

    async def login(
        self,
        device: JID,
        endpoint: Endpoint,
        send: Callable[[Node], Awaitable[None]],
    ) -> int:
        """Redelivers the queue to a device that just logged in (marked ``offline``), sends
        the ``ib > offline`` end marker and attaches ``endpoint``; returns how many it sent.
        Runs under the device's lock so nothing is delivered in between."""
        async with self.lock(device):
            # A replaced connection may still have stanzas in flight: they are owed too.
            await self.flush(device)
            queued = await self._network.state.queued(str(device))
            for position, item in enumerate(queued, start=1):
                await send(with_offline_marker(item.node, position))
            await send(Node("ib", {}, [Node("offline", {"count": str(len(queued))})]))
            self._network.attach(device, endpoint)
            return len(queued)

    async def forget(self, device: JID) -> None:
        """Drops everything queued for a device (it was logged out)."""
        self._in_flight.pop(device, None)
        await self._network.state.clear_queue(str(device))
        self._queued_keys[device] = Counter()
