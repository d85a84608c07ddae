"""The receipts of our own messages over a real connection shell and a real database (both
engines): what each costs in statements, frames and worker batches, and what it says."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import structlog
from backends import Dialect, OpenEngine
from client_fakes import FakeSocket
from counting_engine import CountingEngine
from sync_fakes import OWN_PN, SID, World, make_world

from daemon.binary import JID, Node
from daemon.client.connection import Connection
from daemon.client.events import Subscription
from daemon.client.keepalive import Keepalive
from daemon.client.message_events import MessageUpdated, ReceiptReceived
from daemon.client.receipt_handler import ReceiptHandler
from daemon.client.retry import RetryRequest
from daemon.client.router import Router
from storage.message_values import ContentType, MessageRecord, MessageStatus, ReceiptStatus
from storage.sqlite.messages import ADVANCE_OWN
from storage.sqlite.receipts import UPSERT

BOB = "15550002222@s.whatsapp.net"
BOB_PHONE = "15550002222@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
OWN_PHONE = "15550001111@s.whatsapp.net"
OWN_LAPTOP = "15550001111:3@s.whatsapp.net"
WAIT_S = 10.0


@dataclass
class Rig:
    world: World
    engine: CountingEngine
    socket: FakeSocket
    connection: Connection
    handler: ReceiptHandler
    events: Subscription
    router: Router

    async def acked(self, count: int) -> list[Node]:
        """The acks sent, once there are ``count``."""
        async with asyncio.timeout(WAIT_S):
            while len(acks := [n for n in self.socket.sent if n.tag == "ack"]) < count:
                await asyncio.sleep(0.005)
        return acks


@pytest.fixture
async def rig(open_engine: OpenEngine) -> AsyncIterator[Rig]:
    engine = CountingEngine(await open_engine())
    world = await make_world(engine)
    socket = FakeSocket()
    router = Router()
    connection = Connection(
        socket,
        router,
        clock=time.time,
        keepalive=Keepalive(interval_min=60.0, interval_max=60.0, answer_timeout=5.0),
        iq_timeout=2.0,
        log=structlog.get_logger("test"),
    )
    world.m.connection = connection
    world.m.ready = True
    await world.m.prepare()  # the contacts, loaded once per connection
    retries: list[RetryRequest] = []
    handler = ReceiptHandler(world.m, connection, lambda request, _node: retries.append(request))
    router.by_tag["receipt"] = handler.on_receipt
    events = world.m.session.bus.subscribe()
    running = asyncio.create_task(connection.run())
    try:
        yield Rig(world, engine, socket, connection, handler, events, router)
    finally:
        socket.hang_up()
        async with asyncio.timeout(WAIT_S):
            await running
        await world.close()


async def own_message(world: World, message_id: str, chat: str = BOB) -> None:
    await world.messages.messages.insert_own(
        SID,
        MessageRecord(
            chat=chat,
            message_id=message_id,
            sender=OWN_PN,
            from_me=True,
            sent_at=datetime.fromtimestamp(1_750_000_000, UTC),
            content_type=ContentType.TEXT,
            status=MessageStatus.SENT,
            text="hi",
        ),
    )


def delivery(message_id: str) -> Node:
    return Node("receipt", {"id": message_id, "from": JID.parse(BOB_PHONE), "t": "1750000001"})


def own_phone_receipt(message_id: str) -> Node:
    return Node(
        "receipt",
        {
            "id": message_id,
            "from": JID.parse(OWN_PHONE),
            "type": "sender",
            "recipient": JID.parse(BOB),
            "t": "1750000001",
        },
    )


async def test_our_own_phones_receipt_is_acked_at_once_with_no_statement(rig: Rig) -> None:
    await own_message(rig.world, "M1")
    rig.engine.reset()
    rig.socket.push(own_phone_receipt("M1"))
    rig.socket.push(Node("receipt", {"id": "M1", "from": JID.parse(BOB), "type": "x-new"}))
    acks = await rig.acked(2)
    assert [(a.attr_str("id"), a.attr_str("type")) for a in acks] == [
        ("M1", "sender"),
        ("M1", "x-new"),
    ]
    # Neither went through the worker: no batch, no statement.
    assert rig.handler.acked_at_once == 2
    assert rig.handler.batches == 0
    assert rig.engine.statements == [] and rig.engine.transactions == 0


async def test_a_delivery_receipt_from_another_of_our_devices_is_only_acked(rig: Rig) -> None:
    await own_message(rig.world, "M1")
    rig.engine.reset()
    rig.socket.push(Node("receipt", {"id": "M1", "from": JID.parse(OWN_LAPTOP)}))
    await rig.acked(1)
    assert rig.handler.acked_at_once == 1 and rig.handler.batches == 0
    assert rig.engine.statements == []


async def test_a_delivery_receipt_records_advances_and_says_so_before_its_ack(rig: Rig) -> None:
    await own_message(rig.world, "M1")
    rig.engine.reset()
    rig.socket.push(delivery("M1"))
    acks = await rig.acked(1)
    assert [(a.attr_str("id"), a.attr_str("class")) for a in acks] == [("M1", "receipt")]
    assert rig.engine.statements == [UPSERT, ADVANCE_OWN] and rig.engine.transactions == 1
    events = rig.events.pending()
    assert [type(e) for e in events] == [MessageUpdated, ReceiptReceived]
    assert isinstance(events[0], MessageUpdated) and events[0].status is MessageStatus.DELIVERED
    assert isinstance(events[1], ReceiptReceived) and events[1].message_ids == ("M1",)
    stored = await rig.world.messages.messages.find_own(SID, "M1")
    assert stored is not None and stored.status is MessageStatus.DELIVERED


async def test_a_groups_receipts_move_the_status_once_per_unit(rig: Rig) -> None:
    await own_message(rig.world, "G1", chat=GROUP)
    rig.engine.reset()
    members = [f"1555000{n}000:{n}@s.whatsapp.net" for n in range(2, 5)]
    users = [Node("user", {"jid": JID.parse(jid), "t": "1750000001"}) for jid in members]
    grouped = Node(
        "receipt",
        {"id": "G1", "from": JID.parse(GROUP)},
        [Node("participants", {"key": "G1"}, users)],
    )
    rig.socket.push(grouped)
    await rig.acked(1)
    # One status move for three device receipts: the second and third only record themselves.
    assert rig.engine.statements == [UPSERT, ADVANCE_OWN, UPSERT, UPSERT]
    events = rig.events.pending()
    assert [type(e) for e in events] == [MessageUpdated, *[ReceiptReceived] * 3]
    receipts = await rig.world.messages.receipts.for_message(SID, GROUP, "G1")
    assert len(receipts) == 3
    assert all(r.status is ReceiptStatus.DELIVERED for r in receipts)


@pytest.mark.parametrize("backend", [Dialect.SQLITE], indirect=True)
async def test_a_delivery_receipt_waits_to_share_the_next_units_commit(rig: Rig) -> None:
    """Nothing but its own ack waits on a receipt: its unit lingers, recorded but neither
    acked nor published, and rides along with the next unit's commit (one fsync for both)."""
    await own_message(rig.world, "M1")
    lingering = ReceiptHandler(rig.world.m, rig.connection, lambda _r, _n: None, linger=60.0)
    rig.router.by_tag["receipt"] = lingering.on_receipt
    rig.engine.reset()
    before = rig.engine.inner.counters
    rig.socket.push(delivery("M1"))
    async with asyncio.timeout(WAIT_S):
        while len(rig.engine.statements) < 2:
            await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    assert rig.engine.statements == [UPSERT, ADVANCE_OWN]
    assert [n for n in rig.socket.sent if n.tag == "ack"] == []
    assert rig.events.pending() == [] and (rig.engine.inner.counters - before).commits == 0
    async with rig.engine.transaction():  # another unit: a send being accepted
        await own_message(rig.world, "M2")
    acks = await rig.acked(1)
    assert [a.attr_str("id") for a in acks] == ["M1"]
    assert (rig.engine.inner.counters - before).commits == 1
    assert [type(e) for e in rig.events.pending()] == [MessageUpdated, ReceiptReceived]


async def test_receipts_that_come_close_together_are_recorded_in_one_unit(rig: Rig) -> None:
    """The worker gathers a moment after the first receipt wakes it: what comes meanwhile (a
    burst, or the receipt right behind another) is recorded in the same unit."""
    await own_message(rig.world, "M1")
    await own_message(rig.world, "M2")
    gathering = ReceiptHandler(rig.world.m, rig.connection, lambda _r, _n: None, gather=0.5)
    rig.router.by_tag["receipt"] = gathering.on_receipt
    rig.engine.reset()
    rig.socket.push(delivery("M1"))
    await asyncio.sleep(0.05)
    assert rig.engine.statements == []  # still gathering
    rig.socket.push(delivery("M2"))
    acks = await rig.acked(2)
    assert sorted(a.attr_str("id") for a in acks) == ["M1", "M2"]
    assert gathering.batches == 1 and rig.engine.transactions == 1
    assert rig.engine.statements == [UPSERT, ADVANCE_OWN] * 2


async def test_gathered_receipts_wait_for_a_send_to_be_waiting_for_its_ack(rig: Rig) -> None:
    """Recorded in the lull of a send that waits for the server's ack, not in front of a send
    on its way out; with no send in progress, after ``lull``."""
    await own_message(rig.world, "M1")
    await own_message(rig.world, "M2")
    waiting = ReceiptHandler(
        rig.world.m, rig.connection, lambda _r, _n: None, gather=0.01, lull=60.0
    )
    rig.router.by_tag["receipt"] = waiting.on_receipt
    rig.engine.reset()
    rig.socket.push(delivery("M1"))
    await asyncio.sleep(0.1)
    assert rig.engine.statements == []  # gathered, and no send waits for its ack
    ack_of_next = rig.world.m.acks.expect("NEXT")  # a send went out and waits for its ack
    acks = await rig.acked(1)
    assert [a.attr_str("id") for a in acks] == ["M1"]
    assert rig.engine.statements == [UPSERT, ADVANCE_OWN]
    rig.world.m.acks.forget("NEXT")
    assert not ack_of_next.done()

    brief = ReceiptHandler(rig.world.m, rig.connection, lambda _r, _n: None, gather=0.01, lull=0.05)
    rig.router.by_tag["receipt"] = brief.on_receipt
    rig.socket.push(delivery("M2"))
    acks = await rig.acked(2)  # no send at all: recorded once the lull's bound has passed
    assert [a.attr_str("id") for a in acks] == ["M1", "M2"]
