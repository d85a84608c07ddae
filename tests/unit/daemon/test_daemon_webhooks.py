"""Webhooks: signing, the retry table, one delivery per URL, and delivery to a real receiver on
loopback (success, retries, dead letters, replay, a restart in between)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from backends import BackendStores, OpenEngine, stores_over
from daemon_fakes import fast_config

from daemon import webhooks as webhooks_module
from daemon.config import WebhooksConfig
from daemon.event_format import EventType
from daemon.eventlog import EventLog
from daemon.webhooks import (
    WebhookError,
    WebhookService,
    check_events,
    check_url,
    classify,
    parse_retry_after,
    select_targets,
    sign,
    verify_signature,
)
from storage.event_values import StoredEvent
from storage.postgres.stores import PgStores
from storage.webhook_values import DeliveryStatus, Webhook

SECRET = "s" * 32
TIMEOUT = 5.0


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"id":"evt_1"}'
    header = sign(SECRET, 1_700_000_000, body)
    assert header.startswith("v1=") and len(header) == 3 + 64
    assert verify_signature(SECRET, "1700000000", body, header, now=1_700_000_010)
    assert not verify_signature(SECRET, "1700000001", body, header, now=1_700_000_010)
    assert not verify_signature(SECRET, "1700000000", body + b" ", header, now=1_700_000_010)
    assert not verify_signature("t" * 32, "1700000000", body, header, now=1_700_000_010)
    # An old request replayed later is refused.
    assert not verify_signature(SECRET, "1700000000", body, header, now=1_700_001_000)


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [
        (200, True, False),
        (204, True, False),
        (301, False, False),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (408, False, True),
        (410, False, False),
        (429, False, True),
        (500, False, True),
        (503, False, True),
    ],
)
def test_which_answers_are_retried(status: int, delivered: bool, retry: bool) -> None:
    outcome = classify(status)
    assert (outcome.delivered, outcome.retry) == (delivered, retry)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("7", 0.0) == 7.0
    at = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", at.timestamp() - 30) == 30.0
    assert parse_retry_after("soon", 0.0) is None


def test_definitions_are_checked() -> None:
    with pytest.raises(WebhookError):
        check_url("ftp://x/y")
    with pytest.raises(WebhookError):
        check_url("https://user:pw@example.com/hook")
    with pytest.raises(WebhookError, match="nope"):
        check_events(["message.received", "nope"])
    assert check_events(["alert"]) == frozenset({"alert"})


def _webhook(webhook_id: str, session_id: str | None, url: str, events: set[str]) -> Webhook:
    now = datetime.now(UTC)
    return Webhook(webhook_id, session_id, url, SECRET, frozenset(events), True, now, now)


def test_one_delivery_per_url_with_the_session_webhook_preferred() -> None:
    event = StoredEvent(1, "evt_1", "s1", 1, "alert", {}, datetime.now(UTC))
    hooks = [
        _webhook("global", None, "https://crm.example/hook", set()),
        _webhook("mine", "s1", "https://CRM.example/hook", set()),
        _webhook("other-session", "s2", "https://other.example/hook", set()),
        _webhook("filtered", None, "https://filtered.example/hook", {"qr.code"}),
        _webhook("second-url", None, "https://crm.example/other", {"alert"}),
    ]
    chosen = [w.id for w in select_targets(event, hooks)]
    assert chosen == ["mine", "second-url"]


@dataclass
class Receiver:
    """A webhook receiver on loopback: answers from ``answers`` (then 200) and keeps what it
    got; checks every signature."""

    answers: list[int] = field(default_factory=list)
    got: list[dict[str, object]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = verify_signature(
            SECRET,
            request.headers["X-Wamd-Timestamp"],
            body,
            request.headers["X-Wamd-Signature"],
        )
        if not ok:
            self.bad_signatures += 1
        self.headers.append(dict(request.headers))
        status = self.answers.pop(0) if self.answers else 200
        if status < 300:
            self.got.append(json.loads(body))
        return web.Response(status=status, headers={"Retry-After": "0"} if status == 429 else {})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    target.url = f"http://127.0.0.1:{port}/hook"
    yield target
    await runner.cleanup()


@pytest.fixture
async def stores(open_engine: OpenEngine, tmp_path: Path) -> BackendStores:
    """A new database of each backend."""
    opened = stores_over(await open_engine(), tmp_path)
    await opened.sessions.create("s1")
    return opened


def hooks_config(tmp_path: Path, **changes: object) -> WebhooksConfig:
    return dataclasses.replace(fast_config(tmp_path).webhooks, **changes)  # type: ignore[arg-type]


async def until(predicate: object, timeout: float = TIMEOUT) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_events_are_delivered_signed_with_their_ids(
    stores: BackendStores, tmp_path: Path, receiver: Receiver
) -> None:
    events = EventLog(stores)
    service = WebhookService(stores, events, hooks_config(tmp_path))
    await service.start()
    hook = await service.create(session_id="s1", url=receiver.url, secret=SECRET, events=[])
    appended = [await events.append("s1", EventType.ALERT, {"n": n}) for n in range(3)]
    await until(lambda: len(receiver.got) == 3)
    assert receiver.bad_signatures == 0
    assert sorted(g["id"] for g in receiver.got) == sorted(e.id for e in appended)  # type: ignore[type-var]
    headers = receiver.headers[0]
    assert headers["X-Wamd-Event-Type"] == "alert"
    assert headers["X-Wamd-Event-Id"] in {e.id for e in appended}
    assert headers["Content-Type"] == "application/json"
    # The receiver has answered; the outcome commits just after (PostgreSQL's readers do not
    # wait for the writer).
    async with asyncio.timeout(TIMEOUT):
        while await service.repo.delivery_counts(hook.id) != {DeliveryStatus.DELIVERED: 3}:
            await asyncio.sleep(0.01)
    await service.stop(1.0)


async def test_retries_then_dead_letters_then_replay(
    stores: BackendStores, tmp_path: Path, receiver: Receiver
) -> None:
    events = EventLog(stores)
    service = WebhookService(stores, events, hooks_config(tmp_path, max_attempts=3))
    await service.start()
    hook = await service.create(session_id=None, url=receiver.url, secret=SECRET, events=[])
    receiver.answers = [503, 429, 200]  # retried twice, then delivered
    await events.append("s1", EventType.ALERT, {"n": 1})
    await until(lambda: len(receiver.got) == 1)
    assert [h["X-Wamd-Attempt"] for h in receiver.headers] == ["1", "2", "3"]
    assert len({h["X-Wamd-Event-Id"] for h in receiver.headers}) == 1

    receiver.answers = [400]  # a client error is final: no retry
    await events.append("s1", EventType.ALERT, {"n": 2})

    async def dead() -> list[object]:
        return await service.repo.deliveries(hook.id, status=DeliveryStatus.DEAD)

    async with asyncio.timeout(TIMEOUT):
        while not await dead():
            await asyncio.sleep(0.01)
    letters = await dead()
    assert len(letters) == 1
    assert letters[0].last_status_code == 400  # type: ignore[attr-defined]
    assert await service.replay(hook.id) == 1
    await until(lambda: len(receiver.got) == 2)
    assert receiver.got[1]["data"] == {"n": 2}
    await service.stop(1.0)


async def test_pending_deliveries_survive_a_restart(
    stores: BackendStores, tmp_path: Path, receiver: Receiver
) -> None:
    events = EventLog(stores)
    config = hooks_config(tmp_path, retry_base_s=0.05, retry_cap_s=0.05)
    first = WebhookService(stores, events, config)
    await first.start()
    await first.create(session_id="s1", url=receiver.url, secret=SECRET, events=["alert"])
    receiver.answers = [500, 500, 500, 500, 500, 500]
    event = await events.append("s1", EventType.ALERT, {"n": 1})
    await until(lambda: len(receiver.headers) >= 1)
    await first.stop(1.0)
    receiver.answers = []

    second = WebhookService(stores, events, config)
    await second.start()
    await until(lambda: len(receiver.got) == 1)
    assert receiver.got[0]["id"] == event.id
    await second.stop(1.0)


async def test_the_config_webhook_is_kept_in_step(stores: BackendStores, tmp_path: Path) -> None:
    events = EventLog(stores)
    configured = hooks_config(tmp_path, url="https://crm.example/in", secret=SECRET)
    service = WebhookService(stores, events, configured)
    await service.start()
    await service.stop(1.0)
    stored = await service.repo.get("config")
    assert (
        stored is not None and stored.session_id is None and stored.url == "https://crm.example/in"
    )
    removed = WebhookService(stores, events, hooks_config(tmp_path))
    await removed.start()
    await removed.stop(1.0)
    assert await removed.repo.get("config") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/x",
        "http://127.0.0.1:0/x",
        "http://[::1/x",
        "http://0*/x",
        "http://a..b/x",
        "http://host/\x00",
        "http://host/ x",
        "http://h\u00f6st/x",
        "http:///x",
        "mailto:x@example.com",
        "x" * 3000,
    ],
)
def test_urls_the_deliverer_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(WebhookError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "https://[::1]:8443/h?x=1", "http://my_service/h", "https://a.b.c/"],
)
def test_usable_urls_are_kept_as_given(url: str) -> None:
    assert check_url(url) == url


async def test_an_unreadable_webhook_row_is_parked_and_the_rest_deliver(
    stores: BackendStores, tmp_path: Path, receiver: Receiver
) -> None:
    events = EventLog(stores)
    service = WebhookService(stores, events, hooks_config(tmp_path))
    await service.start()
    good = await service.create(session_id=None, url=receiver.url, secret=SECRET, events=[])
    bad = await service.create(session_id="s1", url=receiver.url + "2", secret=SECRET, events=[])
    await stores.db.execute("UPDATE webhooks SET events = 'not json' WHERE id = ?", (bad.id,))
    await events.append("s1", EventType.ALERT, {"n": 1})
    await until(lambda: len(receiver.got) == 1)
    row = await stores.db.fetch_one(
        "SELECT enabled, parked_reason FROM webhooks WHERE id = ?", (bad.id,)
    )
    assert row is not None and row[0] == 0 and "unusable" in str(row[1])
    assert (await service.repo.get(good.id)) == good
    await events.append("s1", EventType.ALERT, {"n": 2})
    await until(lambda: len(receiver.got) == 2)
    assert service.crashes == 0
    await service.stop(1.0)


async def test_with_no_webhook_the_dispatcher_neither_reads_nor_writes(
    stores: BackendStores, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No webhook: each event costs its own transaction's commit and nothing more (no
    dispatch pass, no cursor write). The first webhook then gets the events after it only,
    every one exactly once, as when the dispatcher had kept up meanwhile."""
    # No idle poll of either loop (the deliverer's claims commit) within the test: creating
    # the webhook wakes both.
    monkeypatch.setattr(webhooks_module, "IDLE_POLL_S", 60.0)
    events = EventLog(stores)
    service = WebhookService(stores, events, hooks_config(tmp_path))
    await service.start()
    # Both loops looked once (the dispatcher found no listener, the deliverer nothing due).
    await until(lambda: service.dispatch_passes >= 1 and service.deliver_passes >= 1)
    commits, passes = stores.db.commit_count, service.dispatch_passes
    for n in range(20):
        async with stores.transaction():
            await events.append("s1", EventType.ALERT, {"n": n})
    await asyncio.sleep(0.1)  # every wake-up has run
    assert stores.db.commit_count - commits == 20
    assert service.dispatch_passes == passes  # the events did not even wake it
    assert await events.repo.cursor("webhook_dispatch") is None

    await service.create(session_id=None, url=receiver.url, secret=SECRET, events=[])
    later = [await events.append("s1", EventType.ALERT, {"n": n}) for n in range(20, 25)]
    await until(lambda: len(receiver.got) == 5)
    await asyncio.sleep(0.1)  # nothing else comes
    assert sorted(g["id"] for g in receiver.got) == sorted(e.id for e in later)  # type: ignore[type-var]
    await service.stop(1.0)


async def test_with_no_webhook_the_deliverer_claims_nothing(
    stores: BackendStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries go to enabled webhooks only: with none, the deliverer's polls claim nothing
    (a claim is a write transaction)."""
    monkeypatch.setattr(webhooks_module, "IDLE_POLL_S", 0.01)
    service = WebhookService(stores, EventLog(stores), hooks_config(tmp_path))
    await service.start()
    await until(lambda: service.deliver_passes >= 1)
    commits, passes = stores.db.commit_count, service.deliver_passes
    await until(lambda: service.deliver_passes >= passes + 10)
    assert stores.db.commit_count == commits
    await service.stop(1.0)


async def test_events_committed_together_are_dispatched_together(
    stores: BackendStores, tmp_path: Path, receiver: Receiver
) -> None:
    events = EventLog(stores)
    service = WebhookService(stores, events, hooks_config(tmp_path))
    await service.start()
    await service.create(session_id=None, url=receiver.url, secret=SECRET, events=[])
    async with stores.transaction():
        appended = [await events.append("s1", EventType.ALERT, {"n": n}) for n in range(30)]
    await until(lambda: len(receiver.got) == 30)
    assert sorted(g["id"] for g in receiver.got) == sorted(e.id for e in appended)  # type: ignore[type-var]
    # One commit held the thirty rows: one wake-up, one batch, the cursor after the last.
    assert await events.repo.cursor("webhook_dispatch") == appended[-1].position
    await service.stop(1.0)


async def test_only_the_role_holder_delivers_and_a_dropped_role_stops_at_once(
    stores: BackendStores, tmp_path: Path, receiver: Receiver
) -> None:
    events = EventLog(stores)
    config = hooks_config(tmp_path)
    first = WebhookService(stores, events, config)
    second = WebhookService(stores, events, config)
    await first.prepare()
    await second.prepare()
    hook = await first.create(session_id="s1", url=receiver.url, secret=SECRET, events=[])
    assert not first.delivering and not second.delivering  # nobody holds the role yet
    await first.take_role(stores, lambda: True)
    assert first.delivering
    one = await events.append("s1", EventType.ALERT, {"n": 1})
    await until(lambda: first.delivered == 1)  # answered, and its outcome saved

    await first.drop_role()  # lost: both loops end now
    assert not first.delivering
    await second.take_role(stores, lambda: True)
    two = await events.append("s1", EventType.ALERT, {"n": 2})
    await until(lambda: len(receiver.got) == 2)
    await second.stop(1.0)
    assert [g["id"] for g in receiver.got] == [one.id, two.id]
    assert (first.delivered, second.delivered) == (1, 1)
    assert await first.repo.delivery_counts(hook.id) == {DeliveryStatus.DELIVERED: 2}


async def test_a_webhook_another_daemon_creates_is_delivered_to_by_the_role_holder(
    two_daemon_stores: tuple[PgStores, PgStores], tmp_path: Path, receiver: Receiver
) -> None:
    """In a fleet the webhooks table has several writers: a webhook one daemon's API creates
    after the role holder's dispatcher last looked is still delivered to."""
    here, there = two_daemon_stores
    events = EventLog(here)
    config = hooks_config(tmp_path)
    holder = WebhookService(here, events, config)
    await holder.prepare()
    await holder.take_role(here, lambda: True)
    await events.append("s1", EventType.ALERT, {"n": 0})  # nobody listens yet
    await asyncio.sleep(0.3)
    elsewhere = WebhookService(there, EventLog(there), config)
    await elsewhere.create(session_id=None, url=receiver.url, secret=SECRET, events=[])
    one = await events.append("s1", EventType.ALERT, {"n": 1})
    await until(lambda: len(receiver.got) == 1)
    await holder.stop(1.0)
    assert [g["id"] for g in receiver.got] == [one.id]
