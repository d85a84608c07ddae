"""The campaign store, on SQLite and on PostgreSQL: drafts, batch insert with de-duplication,
status moves that compare and set, recipients that only move forward, pages, counts and the
pacer's evidence."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from backends import OpenEngine
from storage_factories import FakeClock

from storage.campaign_values import (
    CampaignStatus,
    DailyWindow,
    Dispatch,
    NewCampaign,
    NewRecipient,
    Pacing,
    RecipientStatus,
)
from storage.engine import SqlEngine
from storage.errors import AlreadyExists, NotFound
from storage.sqlite.campaigns import SqliteCampaignStore
from storage.sqlite.sessions import SqliteSessionRepo


@pytest.fixture
async def db(open_engine: OpenEngine, clock: FakeClock) -> SqlEngine:
    opened = await open_engine(clock)
    await SqliteSessionRepo(opened).create("s1")
    return opened


def draft(campaign_id: str = "cmp_1", session_id: str = "s1") -> NewCampaign:
    return NewCampaign(
        id=campaign_id,
        session_id=session_id,
        name="notice",
        content={"type": "text", "text": "Hi {{name}}"},
        defaults={"name": "you"},
        pacing=Pacing(12, 1.5, DailyWindow(time(22, 0), time(6, 30), "Europe/Berlin")),
        scheduled_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


async def test_a_draft_round_trips(db: SqlEngine) -> None:
    store = SqliteCampaignStore(db)
    created = await store.create(draft())
    assert created.status is CampaignStatus.DRAFT and created.started_at is None
    assert await store.get("cmp_1") == created
    assert created.pacing == draft().pacing and created.defaults == {"name": "you"}
    with pytest.raises(AlreadyExists):
        await store.create(draft())
    with pytest.raises(NotFound):
        await store.create(draft("cmp_2", session_id="nobody"))
    assert await store.get("cmp_2") is None


async def test_batch_insert_deduplicates_against_the_campaign(db: SqlEngine) -> None:
    store = SqliteCampaignStore(db)
    await store.create(draft())
    first = [NewRecipient(f"{n}@s.whatsapp.net", {"name": str(n)}) for n in range(1000)]
    assert await store.add_recipients("cmp_1", first) == 1000
    again = [NewRecipient(f"{n}@s.whatsapp.net") for n in range(990, 1010)]
    assert await store.add_recipients("cmp_1", again) == 10
    assert await store.recipient_total("cmp_1") == 1010
    assert await store.counts("cmp_1") == {RecipientStatus.PENDING: 1010}
    page = await store.recipients_page("cmp_1", limit=3)
    assert [r.jid for r in page] == [f"{n}@s.whatsapp.net" for n in range(3)]
    assert page[0].variables == {"name": "0"}
    rest = await store.recipients_page("cmp_1", after_id=page[-1].id, limit=2000)
    assert len(rest) == 1007 and rest[-1].variables is None
    with pytest.raises(NotFound):
        await store.add_recipients("nope", first[:1])


async def test_status_moves_compare_and_set(db: SqlEngine, clock: FakeClock) -> None:
    store = SqliteCampaignStore(db)
    await store.create(draft())
    running = {CampaignStatus.SCHEDULED, CampaignStatus.PROCESSING}
    assert await store.set_status("cmp_1", CampaignStatus.PAUSED, expected=running) is None
    started = await store.set_status(
        "cmp_1", CampaignStatus.PROCESSING, expected={CampaignStatus.DRAFT}
    )
    assert started is not None and started.started_at is not None
    assert [c.id for c in await store.active()] == ["cmp_1"]
    clock.now += timedelta(seconds=5)
    paused = await store.set_status(
        "cmp_1", CampaignStatus.PAUSED, expected=running, reason="restricted"
    )
    assert paused is not None and paused.status_reason == "restricted"
    assert await store.active() == []
    resumed = await store.set_status(
        "cmp_1", CampaignStatus.PROCESSING, expected={CampaignStatus.PAUSED}
    )
    assert resumed is not None and resumed.started_at == started.started_at
    assert resumed.status_reason is None
    done = await store.set_status("cmp_1", CampaignStatus.COMPLETED, expected=running)
    assert done is not None and done.finished_at is not None


async def test_recipients_only_move_forward(db: SqlEngine, clock: FakeClock) -> None:
    store = SqliteCampaignStore(db)
    await store.create(draft())
    await store.add_recipients("cmp_1", [NewRecipient(f"{n}@s.whatsapp.net") for n in range(4)])
    a, b, c, d = await store.next_pending("cmp_1", 10)
    moved = await store.mark_queued("cmp_1", [Dispatch(a.id, "M1"), Dispatch(b.id, "M2")])
    assert [(r.status, r.message_id) for r in moved] == [
        (RecipientStatus.QUEUED, "M1"),
        (RecipientStatus.QUEUED, "M2"),
    ]
    assert await store.mark_queued("cmp_1", [Dispatch(a.id, "M9")]) == []
    assert {r.jid for r in await store.by_message_ids(["M1", "M2", "M3"])} == {a.jid, b.jid}
    clock.now += timedelta(seconds=1)
    read = await store.advance(a.id, RecipientStatus.READ)
    assert read is not None and read.sent_at == read.delivered_at == read.read_at
    assert await store.advance(a.id, RecipientStatus.DELIVERED) is None
    assert await store.advance(a.id, RecipientStatus.FAILED, error="late") is None
    failed = await store.advance(b.id, RecipientStatus.FAILED, error="not on WhatsApp")
    assert failed is not None and failed.error == "not on WhatsApp"
    assert await store.advance(b.id, RecipientStatus.SENT) is None
    with pytest.raises(ValueError, match="cannot advance"):
        await store.advance(c.id, RecipientStatus.CANCELLED)
    await store.mark_queued("cmp_1", [Dispatch(c.id, "M3")])
    assert await store.cancel_pending("cmp_1") == 1
    assert await store.counts("cmp_1") == {
        RecipientStatus.READ: 1,
        RecipientStatus.FAILED: 1,
        RecipientStatus.QUEUED: 1,
        RecipientStatus.CANCELLED: 1,
    }
    queued, settled = await store.pacing_evidence("cmp_1", clock() - timedelta(seconds=60))
    assert queued == 1 and len(settled) == 2
    assert (await store.recipients_page("cmp_1", status=RecipientStatus.CANCELLED))[0].id == d.id


async def test_deleting_the_session_deletes_its_campaigns(db: SqlEngine) -> None:
    store = SqliteCampaignStore(db)
    await store.create(draft())
    await store.add_recipients("cmp_1", [NewRecipient("1@s.whatsapp.net")])
    await SqliteSessionRepo(db).delete("s1")
    assert await store.get("cmp_1") is None
    assert await store.recipient_total("cmp_1") == 0
