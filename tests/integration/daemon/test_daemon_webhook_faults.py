"""One bad webhook stops nothing (a real daemon, real HTTP, a real receiver).

* URLs the deliverer could not use are refused on create and PATCH (400, nothing stored);
* a webhook row the dispatcher cannot use (written behind the API's back, as an older version
  could have stored it) is parked with its reason visible in the API, every other webhook keeps
  receiving, /health stays ok, and SIGTERM still stops the daemon cleanly;
* the delivery log lines (delivered, retry scheduled, dead letter) are written;
* a delivery stuck on a receiver that never answers does not hold up SIGTERM.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from daemon_harness import WEBHOOK_SECRET, DaemonFactory, Receiver, serving

BAD_URLS = [
    "http://127.0.0.1:99999/x",
    "http://127.0.0.1:0/x",
    "http://[::1/x",
    "http://exa mple.com/x",
    "http://example.com/\x00",
    "http://example.com/\u00e9",
    "ftp://example.com/x",
    "http:///x",
    "http://user:pw@example.com/x",
    "",
]
FAST_WEBHOOKS = {"webhooks": {"max_attempts": 2, "retry_base_s": 0.05, "retry_cap_s": 0.1}}


async def test_unusable_urls_are_refused_on_create_and_patch(
    daemon_factory: DaemonFactory, receiver: Receiver
) -> None:
    daemon = await daemon_factory()
    api = daemon.api()
    good = await api.call("POST", "/webhooks", {"url": receiver.url, "secret": WEBHOOK_SECRET})
    assert good.status == 201
    for url in BAD_URLS:
        created = await api.call("POST", "/webhooks", {"url": url})
        assert created.status == 400, (url, created.body)
        patched = await api.call("PATCH", f"/webhooks/{good.body['id']}", {"url": url})
        assert patched.status == 400, (url, patched.body)
    listed = (await api.call("GET", "/webhooks")).body["webhooks"]
    assert [w["url"] for w in listed] == [receiver.url]
    assert await daemon.stop() == 0


async def test_a_webhook_the_dispatcher_cannot_use_is_parked_and_the_rest_deliver(
    daemon_factory: DaemonFactory, receiver: Receiver
) -> None:
    daemon = await daemon_factory()
    api = daemon.api()
    good = await api.call("POST", "/webhooks", {"url": receiver.url, "secret": WEBHOOK_SECRET})
    doomed = await api.call("POST", "/webhooks", {"url": "http://127.0.0.1:9/doomed"})
    assert good.status == doomed.status == 201
    # What a database written before URLs were checked this strictly can hold.
    with sqlite3.connect(daemon.database, timeout=10.0) as db:
        db.execute(
            "UPDATE webhooks SET url = 'http://127.0.0.1:99999/x' WHERE id = ?",
            (doomed.body["id"],),
        )

    assert (await api.call("POST", "/sessions", {"id": "first"})).status == 201
    parked = await api.wait_for(
        f"/webhooks/{doomed.body['id']}", lambda w: w["parkedReason"] is not None
    )
    assert parked["enabled"] is False and "port" in parked["parkedReason"].lower()
    assert parked["parkedAt"] is not None
    await daemon.wait_log("webhooks.parked", webhook=doomed.body["id"])

    # The dispatcher lives on: later events reach the good webhook.
    assert (await api.call("POST", "/sessions", {"id": "second"})).status == 201
    await daemon.wait_log("webhooks.delivered", count=2, webhook=good.body["id"])
    created = [e["sessionId"] for e in receiver.of_type("session.created")]
    assert created == ["first", "second"]
    health = await api.call("GET", "/health", key=None)
    assert health.status == 200 and health.body["status"] == "ok"

    # Enabling it again (with a usable URL) clears the reason.
    fixed = await api.call(
        "PATCH", f"/webhooks/{doomed.body['id']}", {"url": "http://127.0.0.1:9/x", "enabled": True}
    )
    assert fixed.status == 200 and fixed.body["parkedReason"] is None
    assert fixed.body["enabled"] is True
    assert await daemon.stop() == 0
    assert daemon.matching("daemon.stopped")


async def test_delivery_outcomes_are_logged(
    daemon_factory: DaemonFactory, receiver: Receiver
) -> None:
    daemon = await daemon_factory(**FAST_WEBHOOKS)
    api = daemon.api()
    hook = await api.call(
        "POST",
        "/webhooks",
        {"url": receiver.url, "secret": WEBHOOK_SECRET, "events": ["session.created"]},
    )
    assert (await api.call("POST", "/sessions", {"id": "ok"})).status == 201
    delivered = await daemon.wait_log("webhooks.delivered", webhook=hook.body["id"])
    assert delivered["event_type"] == "session.created" and delivered["event_id"]

    receiver.status = 503
    assert (await api.call("POST", "/sessions", {"id": "refused"})).status == 201
    retry = await daemon.wait_log("webhooks.retry_scheduled", webhook=hook.body["id"])
    dead = await daemon.wait_log("webhooks.dead_letter", webhook=hook.body["id"])
    assert retry["event_id"] == dead["event_id"] and "503" in dead["error"]
    raw = [e for e in daemon.logs if e.get("event") == "raw"]
    assert not [e for e in raw if "Task exception was never retrieved" in e["line"]]
    assert await daemon.stop() == 0


@dataclass
class SilentReceiver:
    """A webhook URL whose server takes requests and never answers them."""

    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    never: asyncio.Event = field(default_factory=asyncio.Event)

    async def hang(self, _request: web.Request) -> web.Response:
        self.arrived.set()
        await self.never.wait()
        return web.Response(status=204)


@pytest.fixture
async def silent_receiver() -> AsyncIterator[SilentReceiver]:
    receiver = SilentReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.hang)
    async with serving(app) as base:
        receiver.url = f"{base}/hook"
        yield receiver
        receiver.never.set()


async def test_a_stuck_delivery_does_not_hold_up_the_stop(
    daemon_factory: DaemonFactory, silent_receiver: SilentReceiver
) -> None:
    daemon = await daemon_factory(
        manager={"shutdown_timeout_s": 2.0}, webhooks={"timeout_s": 120.0}
    )
    api = daemon.api()
    assert (await api.call("POST", "/webhooks", {"url": silent_receiver.url})).status == 201
    assert (await api.call("POST", "/sessions", {"id": "s1"})).status == 201
    async with asyncio.timeout(20.0):
        await silent_receiver.arrived.wait()  # the delivery is in flight, held by the receiver
    assert await daemon.stop(timeout=15.0) == 0
    assert daemon.matching("daemon.stopped")
