"""Incoming receipts: statuses of our messages move forward, then the receipts are acked.

A delivery / read / played receipt from a recipient device is recorded per device
(``message_receipts``) and advances the message's status (``sent → delivered → read →
played``, never back); both commit with their events before the ack.

A group message brings a receipt from every member device, so receipts are not handled in the
reader: it queues them and moves on (the ack of our next message is not stuck behind fifty
receipts), and a worker records everything queued in one transaction, then acks each receipt.

Nothing waits on a delivery or read receipt but its own ack, so its unit lingers: it asks for
no commit of its own and rides along with the next unit's (the next send's accept, the ack of
one in flight), or is committed after ``LINGER_S`` if none comes. Every send brings one, and
committing it alone cost an fsync per send that the next send's commit had to wait behind.

For the same reason the worker gathers for ``GATHER_S`` after a receipt wakes it before it
records anything. Receipts come in bursts (a group's members, a chat read at once, our phone's
receipt right behind the server's ack), and the burst becomes one unit. And the phone's delivery
receipt of a message arrives just as a client that sends one message after another posts the
next: recorded at once, its statements ran in front of that send's; gathered, they run while
the send waits for the server's ack, in the transaction the ack then commits (sequential HTTP
sends went 16% faster, eight alternating pairs of bench/send_profile.py). A fixed gather only
aims at that wait: a timeline of sequential sends found two fifths of the receipts recorded
in front of the next send's request, accept or encryption instead (a request then took 0.43
ms to reach its accept, against 0.17). So after gathering, the worker also waits (up to
``LULL_S``) until one of the session's sends has gone out and waits for its ack: the moment
the session has nothing else to do.

Retry receipts are answered in the background (they need prekey fetches, which wait on the
reader) and acked only once answered (whatsmeow bbe00cd0): a crash or disconnect half-way
leaves the receipt with the server, which delivers it again. Receipts among our own devices
(``sender``, ``peer_msg``, ``read-self``...) and receipts of a type we do not know carry
nothing for our tables: with nothing to persist first, they are acked at once by the
dispatcher, without a trip through the worker (every message we send brings one: our own
phone's ``sender`` receipt).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from daemon.binary import Node
from daemon.client.acks import build_ack
from daemon.client.connection import Connection
from daemon.client.errors import StanzaError
from daemon.client.message_context import MessagingContext
from daemon.client.message_events import (
    MessageUpdated,
    MessagingEvent,
    ReceiptReceived,
    UpdateKind,
)
from daemon.client.receipts import RECORDED_TYPES, IncomingReceipt, ReceiptType, parse_receipt
from daemon.client.retry import RetryRequest, parse_retry_receipt
from storage.message_values import MessageStatus

MAX_BATCH = 500
"""Receipt stanzas recorded in one transaction at most."""
LINGER_S = 0.02
"""How long recorded receipts may wait to share another unit's commit before they get one of
their own (see the module docstring)."""
GATHER_S = 0.002
"""How long the worker gathers receipts after the first one before it records them (see the
module docstring)."""
LULL_S = 0.02
"""How long gathered receipts may wait for a send of the session to be waiting for its ack
(see the module docstring); with none in progress they are recorded after this long."""


@dataclass(frozen=True, slots=True)
class _Queued:
    node: Node
    receipts: list[IncomingReceipt]


class ReceiptHandler:
    def __init__(
        self,
        m: MessagingContext,
        connection: Connection,
        on_retry: Callable[[RetryRequest, Node], None],
        linger: float = LINGER_S,
        gather: float = GATHER_S,
        lull: float = LULL_S,
    ) -> None:
        self._m = m
        self._linger = linger
        self._gather = gather
        self._lull = lull
        self._connection = connection
        self._on_retry = on_retry
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self.batches = 0
        """Batches the worker handled (for tests and metrics)."""
        self.acked_at_once = 0
        """Receipts acked by the dispatcher, having nothing to record (for tests)."""
        connection.spawn(self._work())

    async def on_receipt(self, node: Node) -> None:
        m = self._m
        kind = node.attrs.get("type", "")
        if kind not in RECORDED_TYPES:
            if kind == ReceiptType.RETRY:
                try:
                    request = parse_retry_receipt(node)
                except StanzaError as exc:
                    m.log.warning("client.retry_receipt_unreadable", error=str(exc))
                    await self._ack_at_once(node)
                    return
                m.session.counters.retry_receipts_received += 1
                self._on_retry(request, node)  # acks the receipt once answered
                return
            await self._ack_at_once(node)
            return
        try:
            receipts = parse_receipt(node)
        except StanzaError as exc:
            m.log.warning("client.receipt_unreadable", error=str(exc))
            await self._ack_at_once(node)
            return
        is_own = m.addressing.is_own
        if all(is_own(receipt.reader) for receipt in receipts):
            await self._ack_at_once(node)  # our other devices: no recipient of ours
            return
        self._queue.put_nowait(_Queued(node, receipts))

    async def _ack_at_once(self, node: Node) -> None:
        self.acked_at_once += 1
        await self._connection.send(build_ack(node))

    async def _work(self) -> None:
        # A failure here ends the connection (the connection's task guard): whatever was not
        # acked yet is delivered again on the next one.
        while True:
            batch = [await self._queue.get()]
            if self._gather and self._queue.qsize() < MAX_BATCH - 1:
                await asyncio.sleep(self._gather)
                await self._m.acks.awaited(self._lull)
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._record([r for queued in batch for r in queued.receipts])
            self.batches += 1
            for queued in batch:
                await self._connection.send(build_ack(queued.node))

    async def _record(self, receipts: list[IncomingReceipt]) -> None:
        m = self._m
        addressing = await m.prepare()
        wanted = [
            (receipt, status)
            for receipt in receipts
            if receipt.kind is not None
            and (status := receipt.kind.status) is not None
            and not addressing.is_own(receipt.reader)
        ]
        if not wanted:
            return
        sid = m.session_id
        # How far each message's status was moved in this unit: a group message's receipts
        # come from every member device, and once the status got as far the next device's
        # receipt only records itself (statuses only move forward).
        reached: dict[str, int] = {}
        async with m.unit(self._linger) as events:
            for receipt, status in wanted:
                at = datetime.fromtimestamp(receipt.timestamp or m.now(), UTC)
                # One model of a contact: a LID-addressed receipt counts for the PN device.
                reader = str(addressing.account_device(receipt.reader))
                message_status = status.message_status
                rank = message_status.rank
                changed: dict[str, list[str]] = {}
                for message_id in receipt.message_ids:
                    chat = await m.messages.receipts.record(sid, message_id, reader, status, at)
                    if chat is None:
                        continue
                    changed.setdefault(chat, []).append(message_id)
                    if reached.get(message_id, 0) >= rank:
                        continue
                    reached[message_id] = rank
                    moved = await m.messages.messages.advance_own(sid, message_id, message_status)
                    self._status_events(events, moved, message_id, message_status, at)
                for chat, ids in changed.items():
                    events.append(
                        ReceiptReceived(sid, chat, tuple(ids), reader, status, at.timestamp())
                    )

    def _status_events(
        self,
        events: list[MessagingEvent],
        chats: list[str],
        message_id: str,
        status: MessageStatus,
        at: datetime,
    ) -> None:
        m = self._m
        own = str(m.addressing.own_pn)
        for chat in chats:
            events.append(
                MessageUpdated(
                    m.session_id,
                    chat,
                    message_id,
                    own,
                    UpdateKind.STATUS,
                    status=status,
                    at=at.timestamp(),
                )
            )
