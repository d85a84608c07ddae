"""A real daemon process: ``GET /metrics`` scraped and parsed with prometheus-client's own
text parser, who may read it (admin key, metrics key, loopback setting), and unknown paths
answering 404 without a key."""

from __future__ import annotations

from typing import Any

import aiohttp
from daemon_harness import ADMIN_KEY, DaemonFactory, Receiver, admin, paired_daemon
from prometheus_client.parser import text_string_to_metric_families

from sandbox.app import SandboxServer

ALICE = "15550001111"
BOB = "15550002222"
METRICS_KEY = "metrics-scrape-key-0123456789"


async def scrape(url: str, key: str | None) -> tuple[int, str]:
    headers = {} if key is None else {"x-api-key": key}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def test_metrics_are_scraped_and_parsed(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, receiver: Receiver
) -> None:
    paired = await paired_daemon(
        daemon_factory, sandbox, ALICE, contacts=(BOB,), http={"metrics_key": METRICS_KEY}
    )
    daemon, api, session_key = paired.daemon, paired.api, paired.session_key
    created = await api.call(
        "POST",
        "/webhooks",
        {"url": receiver.url, "secret": "integration-webhook-secret-0123"},
    )
    assert created.status == 201, created.body

    sent = await api.call("POST", "/sessions/alice/messages", {"to": f"+{BOB}", "text": "hi"})
    assert sent.status == 202
    # Past "sending" too: the outbox counts below are read at one instant.
    await api.wait_for(
        f"/sessions/alice/messages/{sent.body['id']}",
        lambda m: m["status"] in ("sent", "delivered", "read"),
    )
    await admin(sandbox, "POST", f"/accounts/{BOB}/messages", {"to": ALICE, "text": "hello"})
    await api.wait_for(
        f"/sessions/alice/chats/{BOB}@s.whatsapp.net/messages",
        lambda page: any(not m["fromMe"] for m in page["messages"]),
    )

    status, text = await scrape(daemon.url, ADMIN_KEY)
    assert status == 200
    found = samples(text)
    assert value(found, "wamd_session_state", session="alice", state="connected") == 1
    assert value(found, "wamd_session_state", session="alice", state="backing_off") == 0
    assert value(found, "wamd_session_connected_seconds", session="alice") > 0
    assert value(found, "wamd_frames_received_total", session="alice") > 0
    assert value(found, "wamd_frames_sent_total", session="alice") > 0
    for name in (
        "wamd_decrypt_failures_total",
        "wamd_undecryptable_messages_total",
        "wamd_retry_receipts_sent_total",
        "wamd_retry_receipts_received_total",
        "wamd_session_recoveries_total",
    ):
        assert value(found, name, session="alice") == 0, name
    assert value(found, "wamd_outbox_messages", session="alice", status="pending") == 0
    assert (
        value(found, "wamd_outbox_messages", session="alice", status="sent")
        + value(found, "wamd_outbox_messages", session="alice", status="delivered")
        + value(found, "wamd_outbox_messages", session="alice", status="read")
    ) == 1
    assert value(found, "wamd_send_latency_seconds_count") == 1
    assert value(found, "wamd_inbound_persist_seconds_count") >= 1
    assert value(found, "wamd_event_log_sequence", session="alice") > 0
    assert value(found, "wamd_db_latency_seconds") >= 0
    assert value(found, "wamd_webhook_lag_seconds") >= 0
    deliveries = sum(
        value(found, "wamd_webhook_deliveries", status=s) for s in ("pending", "delivered", "dead")
    )
    assert deliveries > 0

    # Who may read it: the metrics key (and nothing else with it), not a session key, not
    # nobody while the loopback setting is off.
    assert (await scrape(daemon.url, METRICS_KEY))[0] == 200
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{daemon.url}/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"}
        ) as bearer,
    ):
        assert bearer.status == 200  # what Prometheus' authorization.credentials_file sends
    assert (await api.call("GET", "/sessions", key=METRICS_KEY)).status == 401
    assert (await scrape(daemon.url, session_key))[0] == 403
    assert (await scrape(daemon.url, None))[0] == 401
    # An unknown path is 404 with or without a key; a known one without a key is 401.
    assert (await api.call("GET", "/no/such/path", key=None)).status == 404
    assert (await api.call("GET", "/no/such/path")).status == 404
    assert (await api.call("GET", "/sessions", key=None)).status == 401
    assert await daemon.stop() == 0

    # With the loopback setting, a Prometheus on this host scrapes without a key.
    again = await daemon_factory(http={"metrics_loopback": True})
    status, text = await scrape(again.url, None)
    assert status == 200 and "wamd_session_state" in text
    assert await again.stop() == 0
