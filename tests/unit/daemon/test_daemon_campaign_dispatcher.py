"""The campaign dispatcher over a real database, event log and outbox (its sender records):
recipients go through the outbox under keys derived from campaign and recipient, follow their
message's status from the event log, a restriction or a logged-out session pauses the campaign
with a reason, and a restart never hands a recipient over twice."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from backends import OpenEngine, stores_over
from daemon_fakes import RecordingSender, fast_config

from daemon.campaigns.dispatcher import CampaignDispatcher, idempotency_key
from daemon.campaigns.files import CampaignFiles
from daemon.campaigns.service import CampaignService, new_campaign_id
from daemon.event_format import EventType
from daemon.eventlog import EventLog
from daemon.outbox import Outbox, QueuedMessage
from daemon.send_content import MediaAttachment, MediaSendKind, StagedFile, outgoing_media
from storage.campaign_values import Campaign, CampaignStatus, RecipientStatus
from storage.engine import SqlEngine
from storage.sqlite.campaigns import SqliteCampaignStore
from storage.values import SessionStatus

TIMEOUT = 10.0


@dataclass
class FakeSessions:
    connected: bool = True
    status: SessionStatus = SessionStatus.CONNECTED

    def has(self, session_id: str) -> bool:
        return session_id == "s1"

    def is_connected(self, session_id: str) -> bool:
        return self.connected

    def status_of(self, session_id: str) -> SessionStatus:
        return self.status


@dataclass
class Rig:
    db: SqlEngine
    events: EventLog
    outbox: Outbox
    sender: RecordingSender
    sessions: FakeSessions
    store: SqliteCampaignStore
    service: CampaignService
    dispatcher: CampaignDispatcher

    async def restart_dispatcher(self) -> None:
        await self.dispatcher.stop(1.0)
        self.dispatcher = CampaignDispatcher(
            self.store, self.events, self.outbox, self.sessions, self.service.files
        )
        await self.dispatcher.start()

    async def campaign(self, recipients: list[Any], **fields: Any) -> str:
        body = {"content": {"text": "Hi {{name}}"}, "defaults": {"name": "you"}, **fields}
        campaign = await self.service.create("s1", body)
        await self.service.add_recipients("s1", campaign.id, {"recipients": recipients})
        return campaign.id

    async def media_campaign(self, recipients: list[Any], rate: int) -> tuple[str, Path]:
        """An image campaign whose file is staged where the API stages it."""
        campaign_id = new_campaign_id()
        path = self.service.files.ensure_directory() / campaign_id
        path.write_bytes(b"\x89PNG" + bytes(100))
        staged = StagedFile(str(path), "ab" * 32, 104, "image/png")
        media = MediaAttachment(
            MediaSendKind.IMAGE, staged, caption="Hi {{name}}", thumbnail=b"small jpeg"
        )
        body = {
            "content": {"type": "image", "caption": "Hi {{name}}"},
            "defaults": {"name": "you"},
            "ratePerMinute": rate,
        }
        await self.service.create("s1", body, media=media, campaign_id=campaign_id)
        await self.service.add_recipients("s1", campaign_id, {"recipients": recipients})
        return campaign_id, path

    async def report(self, message_id: str | None, status: str) -> None:
        await self.events.append(
            "s1", EventType.MESSAGE_UPDATED, {"id": message_id, "status": status}
        )

    async def status(self, campaign_id: str) -> CampaignStatus:
        found = await self.store.get(campaign_id)
        assert found is not None
        return found.status


@pytest.fixture
async def rig(open_engine: OpenEngine, tmp_path: Path) -> AsyncIterator[Rig]:
    """The dispatcher over a new database of each backend."""
    db = await open_engine()
    stores = stores_over(db, tmp_path)
    await stores.sessions.create("s1")
    events = EventLog(stores)
    sender = RecordingSender()
    config = fast_config(tmp_path)
    outbox = Outbox(stores, events, sender, config.outbox)
    sessions = FakeSessions()
    store = SqliteCampaignStore(db)
    files = CampaignFiles(tmp_path, store)
    dispatcher = CampaignDispatcher(store, events, outbox, sessions, files)
    service = CampaignService(
        store, events, config.campaigns, files, on_change=lambda: rig.dispatcher.wake()
    )
    rig = Rig(db, events, outbox, sender, sessions, store, service, dispatcher)
    await outbox.start()
    await dispatcher.start()
    yield rig
    await rig.dispatcher.stop(1.0)
    await outbox.stop(1.0)


async def wait_until(predicate: Callable[[], Any], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.01)


def phone(n: int) -> str:
    return f"1555000{n:04d}"


async def test_recipients_go_through_the_outbox_and_follow_their_message(rig: Rig) -> None:
    campaign_id = await rig.campaign(
        [{"to": phone(1), "variables": {"name": "Ann"}}, phone(2), phone(3)], ratePerMinute=6000
    )
    await rig.service.start("s1", campaign_id, {})

    async def all_sent() -> bool:
        return len(rig.sender.sent) == 3

    await wait_until(all_sent)
    assert [m.request.text for m in rig.sender.sent] == ["Hi Ann", "Hi you", "Hi you"]
    page = await rig.store.recipients_page(campaign_id)
    assert [r.status for r in page] == [RecipientStatus.QUEUED] * 3
    for recipient in page:
        assert recipient.message_id is not None
        row = await rig.outbox.repo.get("s1", recipient.message_id)
        assert row is not None
        assert row.idempotency_key == idempotency_key(campaign_id, recipient.id)
    # What the messenger and the receipts report, through the event log.
    ids = [r.message_id for r in page]
    for message_id, status in [
        (ids[0], "sent"),
        (ids[0], "delivered"),
        (ids[0], "read"),
        (ids[0], "delivered"),  # late: never goes back
        (ids[1], "delivered"),  # before its "sent": implies it
        (ids[2], "failed"),
    ]:
        await rig.events.append(
            "s1",
            EventType.MESSAGE_UPDATED,
            {"id": message_id, "status": status, "error": "no devices"},
        )

    async def finished() -> bool:
        return await rig.status(campaign_id) is CampaignStatus.COMPLETED

    await wait_until(finished)
    final = {r.message_id: r for r in await rig.store.recipients_page(campaign_id)}
    assert final[ids[0]].status is RecipientStatus.READ and final[ids[0]].read_at is not None
    assert final[ids[1]].status is RecipientStatus.DELIVERED
    assert final[ids[1]].sent_at is not None
    assert final[ids[2]].status is RecipientStatus.FAILED
    assert final[ids[2]].error == "no devices"
    updates = await rig.events.read(
        "s1", limit=1000, types=frozenset({"campaign.recipient.updated"})
    )
    steps = [
        e.data["recipient"]["status"] for e in updates if e.data["recipient"]["messageId"] == ids[0]
    ]
    assert steps == ["queued", "sent", "delivered", "read"]


async def test_with_no_campaign_the_tracker_reads_nothing_until_one_starts(rig: Rig) -> None:
    """No campaign that an event could move: the sends and receipts of the session wake the
    tracker for nothing and it reads nothing; a campaign created and started then is tracked
    (and a draft alone does not start the tracker reading)."""

    async def looked_once() -> bool:
        return rig.dispatcher.idle_checks >= 1

    await wait_until(looked_once)
    reads, checks = rig.dispatcher.track_reads, rig.dispatcher.idle_checks
    for n in range(20):
        await rig.report(f"3EB0{n:04d}", "sent")
        await rig.events.append("s1", EventType.ALERT, {"kind": "sending_paused", "n": n})
    await asyncio.sleep(0.1)  # every wake-up has run
    assert (rig.dispatcher.track_reads, rig.dispatcher.idle_checks) == (reads, checks)
    draft = await rig.service.create("s1", {"content": {"text": "Hi"}, "ratePerMinute": 6000})
    await rig.service.add_recipients("s1", draft.id, {"recipients": [phone(1)]})

    async def draft_checked() -> bool:
        return rig.dispatcher.idle_checks > checks  # at the draft's campaign.updated events

    await wait_until(draft_checked)
    await asyncio.sleep(0.1)
    assert rig.dispatcher.track_reads == reads
    assert rig.dispatcher.idle_checks - checks <= 2  # created, recipients added

    await rig.service.start("s1", draft.id, {})

    async def sent() -> bool:
        return len(rig.sender.sent) == 1

    await wait_until(sent)
    assert rig.dispatcher.track_reads > reads
    (recipient,) = await rig.store.recipients_page(draft.id)
    await rig.report(recipient.message_id, "sent")

    async def completed() -> bool:
        return await rig.status(draft.id) is CampaignStatus.COMPLETED

    await wait_until(completed)
    (recipient,) = await rig.store.recipients_page(draft.id)
    assert recipient.status is RecipientStatus.SENT


async def test_a_campaign_another_daemon_starts_wakes_the_idle_tracker(
    rig: Rig, tmp_path: Path
) -> None:
    """In a fleet the campaign may be started through another daemon's API: its commit
    reaches this daemon as a notification (``committed_elsewhere``), and the idle tracker
    looks again then."""

    async def looked_once() -> bool:
        return rig.dispatcher.idle_checks >= 1

    await wait_until(looked_once)
    checks = rig.dispatcher.idle_checks
    elsewhere = CampaignService(
        rig.store,
        EventLog(stores_over(rig.db, tmp_path)),
        fast_config(tmp_path).campaigns,
        rig.service.files,
    )
    campaign = await elsewhere.create("s1", {"content": {"text": "Hi"}, "ratePerMinute": 6000})
    await elsewhere.add_recipients("s1", campaign.id, {"recipients": [phone(1)]})
    await elsewhere.start("s1", campaign.id, {})
    await asyncio.sleep(0.05)
    assert rig.dispatcher.idle_checks == checks  # no notification yet: nothing seen
    rig.events.committed_elsewhere()  # what the LISTEN/NOTIFY listener calls
    rig.dispatcher.wake()  # the scheduler's own wake-up

    async def sent() -> bool:
        return len(rig.sender.sent) == 1

    await wait_until(sent)
    (recipient,) = await rig.store.recipients_page(campaign.id)
    await rig.report(recipient.message_id, "sent")

    async def tracked() -> bool:
        (found,) = await rig.store.recipients_page(campaign.id)
        return found.status is RecipientStatus.SENT

    await wait_until(tracked)
    assert rig.dispatcher.idle_checks > checks


async def test_all_recipients_failing_fails_the_campaign(rig: Rig) -> None:
    campaign_id = await rig.campaign([phone(1)], ratePerMinute=6000)
    await rig.service.start("s1", campaign_id, {})

    async def queued() -> bool:
        return bool(await rig.store.recipients_page(campaign_id, status=RecipientStatus.QUEUED))

    await wait_until(queued)
    (recipient,) = await rig.store.recipients_page(campaign_id)
    await rig.events.append(
        "s1", EventType.MESSAGE_UPDATED, {"id": recipient.message_id, "status": "failed"}
    )

    async def failed() -> bool:
        return await rig.status(campaign_id) is CampaignStatus.FAILED

    await wait_until(failed)
    found = await rig.store.get(campaign_id)
    assert found is not None and found.status_reason == "no recipient could be sent to"


async def test_a_restriction_pauses_the_campaign_with_its_reason(rig: Rig) -> None:
    until = rig.db.now() + timedelta(hours=1)
    await rig.outbox.repo.pause("s1", until, "server restriction 463: reachout timelocked")
    campaign_id = await rig.campaign([phone(1), phone(2)], ratePerMinute=6000)
    await rig.service.start("s1", campaign_id, {})

    async def paused() -> bool:
        return await rig.status(campaign_id) is CampaignStatus.PAUSED

    await wait_until(paused)
    found = await rig.store.get(campaign_id)
    assert found is not None and "463" in (found.status_reason or "")
    assert rig.sender.sent == []
    counts = await rig.store.counts(campaign_id)
    assert counts == {RecipientStatus.PENDING: 2}
    # Resumed once the restriction is lifted, it finishes.
    await rig.outbox.resume("s1")
    await rig.service.resume("s1", campaign_id)

    async def sent() -> bool:
        return len(rig.sender.sent) == 2

    await wait_until(sent)


async def test_a_sending_paused_alert_pauses_running_campaigns(rig: Rig) -> None:
    rig.sessions.connected = False  # nothing goes out meanwhile
    campaign_id = await rig.campaign([phone(1)], ratePerMinute=6000)
    await rig.service.start("s1", campaign_id, {})
    await rig.events.append(
        "s1", EventType.ALERT, {"kind": "sending_paused", "message": "server restriction 429"}
    )

    async def paused() -> bool:
        return await rig.status(campaign_id) is CampaignStatus.PAUSED

    await wait_until(paused)
    found = await rig.store.get(campaign_id)
    assert found is not None and "429" in (found.status_reason or "")


async def test_a_logged_out_session_pauses_the_campaign(rig: Rig) -> None:
    rig.sessions.status = SessionStatus.LOGGED_OUT
    campaign_id = await rig.campaign([phone(1)], ratePerMinute=6000)
    await rig.service.start("s1", campaign_id, {})

    async def paused() -> bool:
        return await rig.status(campaign_id) is CampaignStatus.PAUSED

    await wait_until(paused)
    found = await rig.store.get(campaign_id)
    assert found is not None and "logged_out" in (found.status_reason or "")
    assert rig.sender.sent == []


async def test_a_restart_hands_no_recipient_over_twice(rig: Rig) -> None:
    rig.sender.delay = 0.005
    campaign_id = await rig.campaign([phone(n) for n in range(60)], ratePerMinute=60000)
    await rig.service.start("s1", campaign_id, {})
    for _ in range(3):

        async def some_progress() -> bool:
            counts = await rig.store.counts(campaign_id)
            return counts.get(RecipientStatus.QUEUED, 0) >= 5 or not counts.get(
                RecipientStatus.PENDING
            )

        await wait_until(some_progress)
        await rig.restart_dispatcher()

    async def all_queued() -> bool:
        counts = await rig.store.counts(campaign_id)
        return counts == {RecipientStatus.QUEUED: 60}

    await wait_until(all_queued)

    async def all_sent() -> bool:
        return len(rig.sender.sent) == 60

    await wait_until(all_sent)
    assert len({m.request.to for m in rig.sender.sent}) == 60
    assert len({m.id for m in rig.sender.sent}) == 60


async def test_a_disconnected_session_waits_without_pausing(rig: Rig) -> None:
    rig.sessions.connected = False
    campaign_id = await rig.campaign([phone(1)], ratePerMinute=6000)
    await rig.service.start("s1", campaign_id, {})
    await asyncio.sleep(0.3)
    assert await rig.status(campaign_id) is CampaignStatus.PROCESSING
    assert await rig.store.counts(campaign_id) == {RecipientStatus.PENDING: 1}
    rig.sessions.connected = True
    rig.dispatcher.wake()

    async def sent() -> bool:
        return len(rig.sender.sent) == 1

    await wait_until(sent)


class FlakyStore(SqliteCampaignStore):
    """Fails the first ``failures`` reads of the active campaigns."""

    failures = 2

    async def active(self) -> list[Campaign]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("injected failure")
        return await super().active()


async def test_a_failing_dispatcher_is_logged_and_restarted(rig: Rig) -> None:
    await rig.dispatcher.stop(1.0)
    flaky = FlakyStore(rig.db)
    rig.dispatcher = CampaignDispatcher(
        flaky, rig.events, rig.outbox, rig.sessions, rig.service.files, restart_delay=0.05
    )
    with structlog.testing.capture_logs() as logs:
        await rig.dispatcher.start()
        campaign_id = await rig.campaign([phone(1)], ratePerMinute=6000)
        await rig.service.start("s1", campaign_id, {})

        async def sent() -> bool:
            return len(rig.sender.sent) == 1

        await wait_until(sent)
    crashes = [e for e in logs if e["event"] == "campaigns.dispatcher_crashed"]
    assert len(crashes) == 2 and flaky.failures == 0


async def test_stopping_never_waits_for_a_campaign(rig: Rig) -> None:
    rig.sessions.connected = False
    campaign_id = await rig.campaign([phone(n) for n in range(50)], ratePerMinute=1)
    await rig.service.start("s1", campaign_id, {})
    async with asyncio.timeout(2.0):
        await rig.dispatcher.stop(1.0)
    assert await rig.status(campaign_id) is CampaignStatus.PROCESSING


async def test_a_media_campaign_shares_one_file_and_removes_it_when_done(rig: Rig) -> None:
    campaign_id, path = await rig.media_campaign(
        [{"to": phone(1), "variables": {"name": "Ann"}}, phone(2), phone(3)], rate=6000
    )
    there_at_send: list[bool] = []

    def on_send(message: QueuedMessage) -> None:
        assert message.request.media is not None
        there_at_send.append(Path(message.request.media.file.path).exists())

    rig.sender.on_send = on_send
    await rig.service.start("s1", campaign_id, {})

    async def all_sent() -> bool:
        return len(rig.sender.sent) == 3

    await wait_until(all_sent)
    medias = [m.request.media for m in rig.sender.sent]
    assert [m.caption for m in medias if m is not None] == ["Hi Ann", "Hi you", "Hi you"]
    assert {(m.file.path, m.shared) for m in medias if m is not None} == {(str(path), True)}
    assert there_at_send == [True, True, True]
    # One thumbnail beside the file, not one per outbox row; the sender reads it from there.
    assert all("thumbnail" not in m.request.payload() for m in rig.sender.sent)
    assert {outgoing_media(m).thumbnail for m in medias if m is not None} == {b"small jpeg"}
    # The outbox leaves the shared file: the campaign is not over yet.
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == [campaign_id, f"{campaign_id}.thumb"]
    for recipient in await rig.store.recipients_page(campaign_id):
        await rig.report(recipient.message_id, "delivered")

    async def removed() -> bool:
        return not path.exists()

    await wait_until(removed)
    assert await rig.status(campaign_id) is CampaignStatus.COMPLETED
    assert not any(path.parent.iterdir())


async def test_a_cancelled_media_campaign_keeps_its_file_for_what_is_queued(rig: Rig) -> None:
    campaign_id, path = await rig.media_campaign([phone(1), phone(2)], rate=1)
    await rig.service.start("s1", campaign_id, {})

    async def one_sent() -> bool:
        return len(rig.sender.sent) == 1

    await wait_until(one_sent)
    await rig.service.cancel("s1", campaign_id)
    assert path.exists(), "the queued message still needs the file"
    queued = await rig.store.recipients_page(campaign_id, status=RecipientStatus.QUEUED)
    await rig.report(queued[0].message_id, "sent")

    async def removed() -> bool:
        return not path.exists()

    await wait_until(removed)
    assert len(rig.sender.sent) == 1


async def test_the_start_sweep_removes_only_files_nobody_needs(rig: Rig) -> None:
    running, _running_path = await rig.media_campaign([phone(1)], rate=6000)
    directory = rig.service.files.directory
    orphan = directory / "cmp_never_created"
    orphan.write_bytes(b"x")
    ended, ended_path = await rig.media_campaign([phone(2)], rate=6000)
    await rig.service.cancel("s1", ended)
    assert not ended_path.exists()
    ended_path.write_bytes(b"left by a crash")
    fresh = directory / "cmp_being_created"
    fresh.write_bytes(b"x")
    orphan_thumbnail = directory / "cmp_gone.thumb"
    orphan_thumbnail.write_bytes(b"x")
    for old in directory.iterdir():
        if old != fresh:
            os.utime(old, (1_000_000, 1_000_000))
    assert await rig.service.files.sweep(before=2_000_000) == 3
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [running, f"{running}.thumb", fresh.name]
    )


async def test_in_a_fleet_a_daemon_schedules_its_own_sessions_and_tracks_with_the_role(
    rig: Rig, tmp_path: Path
) -> None:
    await rig.dispatcher.stop(1.0)
    rig.dispatcher = CampaignDispatcher(
        rig.store, rig.events, rig.outbox, rig.sessions, rig.service.files, fleet=True
    )
    await rig.dispatcher.start()
    stores = stores_over(rig.db, tmp_path)
    await stores.sessions.create("s2")  # held by another daemon of the fleet
    body = {"content": {"text": "Hi"}, "ratePerMinute": 6000}
    elsewhere = await rig.service.create("s2", body)
    await rig.service.add_recipients("s2", elsewhere.id, {"recipients": [phone(9)]})
    await rig.service.start("s2", elsewhere.id, {})
    here = await rig.campaign([phone(1)], ratePerMinute=6000)
    await rig.service.start("s1", here, {})

    async def sent() -> bool:
        return len(rig.sender.sent) == 1

    await wait_until(sent)
    # The other daemon's campaign was neither sent nor paused ("no such session") here.
    assert await rig.status(elsewhere.id) is CampaignStatus.PROCESSING
    assert [m.session_id for m in rig.sender.sent] == ["s1"]

    await rig.dispatcher.take_role(stores, lambda: True)
    (recipient,) = await rig.store.recipients_page(here)
    await rig.report(recipient.message_id, "sent")

    async def completed() -> bool:
        return await rig.status(here) is CampaignStatus.COMPLETED

    await wait_until(completed)
    await rig.dispatcher.drop_role()
    await rig.report(recipient.message_id, "delivered")
    # The next holder starts at the stored cursor.
    await rig.dispatcher.take_role(stores, lambda: True)

    async def delivered() -> bool:
        (found,) = await rig.store.recipients_page(here)
        return found.status is RecipientStatus.DELIVERED

    await wait_until(delivered)
