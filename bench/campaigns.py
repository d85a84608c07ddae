"""Campaigns: recipients added per second, and the dispatcher's overhead per message.

Run: .venv/bin/python bench/campaigns.py [--quick]

* **Adding recipients** goes through the service as the API does: validation and normalization
  of every entry (phone numbers, de-duplication, variables) and the batch insert in one
  transaction (synchronous=FULL, the production default), for batches of 100,000 recipients
  with a variable each. Reported: the whole call, and the insert alone.
* **Dispatch overhead**: a campaign at an unbounded rate through the real outbox (its sender
  acks at once, so the network is left out). The dispatcher's own time per message is measured
  inside it: rendering, the idempotent hand-over to the outbox with the ``queued`` mark and its
  event, committed per batch (``dispatch_ms_per_message``), and applying ``message.updated``
  events to recipients (``tracking_ms_per_message``). For context, the same number of messages
  accepted one by one through the outbox, as separate API calls would be, and the campaign's
  wall time end to end.

Results go to bench/results/campaigns.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from daemon.campaigns.dispatcher import CampaignDispatcher
from daemon.campaigns.files import CampaignFiles
from daemon.campaigns.requests import parse_recipients
from daemon.campaigns.service import CampaignService
from daemon.config import CampaignsConfig, OutboxConfig
from daemon.event_format import EventType
from daemon.eventlog import EventLog
from daemon.outbox import MessageKind, Outbox, QueuedMessage, SendRequest, ServerAck
from storage.campaign_values import RecipientStatus
from storage.db import Database
from storage.sqlite.campaigns import SqliteCampaignStore
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.stores import SqliteStores
from storage.values import SessionStatus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "campaigns.json"
UNBOUNDED = OutboxConfig(rate_per_minute=10_000_000.0, burst=1_000_000)


@dataclass
class InstantSender:
    sent: list[str] = field(default_factory=list)

    def is_connected(self, session_id: str) -> bool:
        return True

    async def send(self, message: QueuedMessage) -> ServerAck:
        self.sent.append(message.id)
        return ServerAck(int(time.time()))


class Connected:
    def has(self, session_id: str) -> bool:
        return True

    def is_connected(self, session_id: str) -> bool:
        return True

    def status_of(self, session_id: str) -> SessionStatus:
        return SessionStatus.CONNECTED


def phone(n: int) -> str:
    return f"+1999{n:07d}"


async def wait_for(check: Any, timeout: float = 600.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.005)


async def bench_adding(db: Database, state_dir: Path, recipients: int) -> dict[str, float]:
    store = SqliteCampaignStore(db)
    events = EventLog(SqliteStores(db))
    service = CampaignService(store, events, CampaignsConfig(), CampaignFiles(state_dir, store))
    body = {"content": {"text": "Hello {{name}}"}, "defaults": {"name": "there"}}
    batch = {
        "recipients": [{"to": phone(n), "variables": {"name": f"N{n}"}} for n in range(recipients)]
    }
    campaign = await service.create("s1", body)
    started = time.perf_counter()
    result = await service.add_recipients("s1", campaign.id, batch)
    whole = time.perf_counter() - started
    assert result.added == recipients

    other = await service.create("s1", body)
    parsed = parse_recipients(batch, frozenset({"name"}), {"name": "there"})
    started = time.perf_counter()
    async with db.transaction():
        await store.add_recipients(other.id, parsed.recipients)
    insert = time.perf_counter() - started
    return {
        "recipients": float(recipients),
        "add_seconds": round(whole, 3),
        "add_recipients_per_s": round(recipients / whole, 1),
        "insert_seconds": round(insert, 3),
        "insert_recipients_per_s": round(recipients / insert, 1),
    }


async def bench_dispatch(db: Database, state_dir: Path, messages: int) -> dict[str, float]:
    events = EventLog(SqliteStores(db))
    sender = InstantSender()
    outbox = Outbox(SqliteStores(db), events, sender, UNBOUNDED)
    await outbox.start()
    store = SqliteCampaignStore(db)
    files = CampaignFiles(state_dir, store)
    dispatcher = CampaignDispatcher(store, events, outbox, Connected(), files)
    spent = {"dispatch": 0.0, "track": 0.0}
    # Time spent inside the dispatcher's two units of work (a bench may look inside).
    dispatch, apply = dispatcher._dispatch, dispatcher._apply

    async def timed_dispatch(*args: Any) -> None:
        started = time.perf_counter()
        await dispatch(*args)
        spent["dispatch"] += time.perf_counter() - started

    async def timed_apply(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await apply(*args)
        finally:
            spent["track"] += time.perf_counter() - started

    dispatcher._dispatch = timed_dispatch  # type: ignore[method-assign]
    dispatcher._apply = timed_apply  # type: ignore[method-assign]
    service = CampaignService(store, events, CampaignsConfig(), files, on_change=dispatcher.wake)
    try:
        started = time.perf_counter()
        for n in range(messages):
            request = SendRequest(
                phone(n)[1:] + "@s.whatsapp.net", MessageKind.TEXT, text=f"Hi {n}"
            )
            await outbox.accept("s1", request, f"direct-{n}")

        async def direct_done() -> bool:
            return len(sender.sent) == messages

        await wait_for(direct_done)
        direct = time.perf_counter() - started

        await dispatcher.start()
        campaign = await service.create(
            "s1", {"content": {"text": "Hi {{name}}"}, "ratePerMinute": 60_000}
        )
        batch = [
            {"to": phone(messages + n), "variables": {"name": str(n)}} for n in range(messages)
        ]
        await service.add_recipients("s1", campaign.id, {"recipients": batch})
        started = time.perf_counter()
        await service.start("s1", campaign.id, {})

        async def campaign_done() -> bool:
            return len(sender.sent) == 2 * messages

        await wait_for(campaign_done)
        dispatched = time.perf_counter() - started

        page = await store.recipients_page(campaign.id, limit=messages)
        await asyncio.sleep(1.0)  # the tracker has read the campaign's own events
        spent["track"] = 0.0
        started = time.perf_counter()
        for chunk in range(0, len(page), 100):
            async with db.transaction():
                for recipient in page[chunk : chunk + 100]:
                    await events.append(
                        "s1",
                        EventType.MESSAGE_UPDATED,
                        {"id": recipient.message_id, "status": "delivered"},
                    )

        async def tracked() -> bool:
            counts = await store.counts(campaign.id)
            return counts.get(RecipientStatus.DELIVERED, 0) == messages

        await wait_for(tracked)
        tracking = time.perf_counter() - started
    finally:
        await dispatcher.stop(2.0)
        await outbox.stop(2.0)
    rate_limit_s = messages / 1000.0  # the campaign's own pace: 60,000 a minute
    return {
        "messages": float(messages),
        "direct_seconds": round(direct, 3),
        "direct_ms_per_message": round(direct / messages * 1000, 3),
        "campaign_seconds": round(dispatched, 3),
        "campaign_ms_per_message": round(dispatched / messages * 1000, 3),
        "campaign_pace_floor_seconds": rate_limit_s,
        "dispatch_ms_per_message": round(spent["dispatch"] / messages * 1000, 3),
        "tracking_ms_per_message": round(spent["track"] / messages * 1000, 3),
        "tracking_wall_ms_per_message": round(tracking / messages * 1000, 3),
    }


async def main(quick: bool) -> dict[str, Any]:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(40)  # errors only
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        try:
            await SqliteSessionRepo(db).create("s1")
            adding = await bench_adding(db, Path(tmp), 20_000 if quick else 100_000)
            dispatch = await bench_dispatch(db, Path(tmp), 300 if quick else 2_000)
        finally:
            await db.close()
    return {
        "benchmark": "campaigns",
        "quick": quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "figures": {**adding, **dispatch},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches (a smoke run)")
    args = parser.parse_args()
    result = asyncio.run(main(args.quick))
    print(json.dumps(result["figures"], indent=2))
    if not args.quick:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
