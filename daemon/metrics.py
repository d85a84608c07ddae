"""Prometheus metrics (``GET /metrics``), with the ``prometheus-client`` library.

Two kinds of numbers:

* measured as things happen — histograms of send latency (an outbox attempt until the
  server's ack) and of inbound persist time (an incoming message stanza until its commit);
* read at scrape time — each session's state, connected seconds, frames in/out, decrypt
  failures, retry receipts, undecryptable messages and recoveries (from the clients, no
  query), and what the database holds: outbox rows by status, webhook deliveries by status and
  the age of the oldest undelivered one, each session's event-log sequence, and the latency
  of a real query.

Every daemon has its own registry (nothing global), so tests can run daemons side by side.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon.manager import SessionManager, SessionView
from storage.errors import StorageError
from storage.metrics_interfaces import MetricsRepo, StoredTotals
from storage.outbox_values import OutboxStatus
from storage.stores import Stores
from storage.values import SessionStatus
from storage.webhook_values import DeliveryStatus

DB_PING_TIMEOUT_S = 2.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PERSIST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True, slots=True)
class _Scrape:
    """Everything a scrape reports that is not a histogram, gathered before rendering."""

    views: list[SessionView]
    totals: StoredTotals
    db_latency_s: float | None
    now: float


class DaemonMetrics:
    """The daemon's registry: histograms fed as things happen, the rest read per scrape."""

    def __init__(
        self,
        stores: Stores,
        *,
        repo: MetricsRepo | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stores = stores
        self._repo = repo or stores.metrics
        self._clock = clock
        self._manager: SessionManager | None = None
        self._scrape: _Scrape | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.send_latency = Histogram(
            "wamd_send_latency_seconds",
            "From an outbox send attempt to the server's ack",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.inbound_persist = Histogram(
            "wamd_inbound_persist_seconds",
            "From an incoming message stanza to the commit of the message (before the ack)",
            buckets=PERSIST_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(self))

    def watch(self, manager: SessionManager) -> None:
        """The sessions to report (the manager exists after the histograms are wired)."""
        self._manager = manager

    async def render(self) -> bytes:
        """The exposition text of one scrape."""
        manager = self._manager
        views = [] if manager is None else [manager.cached_view(sid) for sid in manager.ids()]
        totals = await self._repo.totals()
        try:
            async with asyncio.timeout(DB_PING_TIMEOUT_S):
                latency: float | None = await self._stores.ping() / 1000
        except (StorageError, TimeoutError):
            latency = None  # the gauge's absence says the database did not answer
        self._scrape = _Scrape(views, totals, latency, self._clock())
        try:
            return generate_latest(self.registry)
        finally:
            self._scrape = None

    def families(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        scrape, manager = self._scrape, self._manager
        if scrape is None:
            return
        yield from _session_families(scrape, manager)
        yield from _stored_families(scrape)


class _StateCollector(Collector):
    def __init__(self, metrics: DaemonMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        return list(self._metrics.families())


def _session_families(
    scrape: _Scrape, manager: SessionManager | None
) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    state = GaugeMetricFamily(
        "wamd_session_state",
        "1 for the status a session is in (see docs/api.md for what each means)",
        labels=["session", "state"],
    )
    connected = GaugeMetricFamily(
        "wamd_session_connected_seconds",
        "How long the session's current connection has been logged in (0 when not connected)",
        labels=["session"],
    )
    recoveries = GaugeMetricFamily(
        "wamd_session_recoveries_last_hour",
        "Automatic recoveries of the session in the last hour",
        labels=["session"],
    )
    counters = {
        name: CounterMetricFamily(f"wamd_{name}", text, labels=["session"])
        for name, text in (
            ("frames_received", "Frames received on the session's sockets"),
            ("frames_sent", "Frames sent on the session's sockets"),
            ("decrypt_failures", "Incoming messages that failed to decrypt on an attempt"),
            ("undecryptable_messages", "Incoming messages given up on after every retry"),
            ("retry_receipts_sent", "Retry receipts sent for messages we could not decrypt"),
            ("retry_receipts_received", "Retry receipts received for messages we sent"),
            ("session_recoveries", "Automatic recoveries started since the daemon started"),
        )
    }
    for view in scrape.views:
        sid = view.row.id
        for status in SessionStatus:
            state.add_metric([sid, status.value], 1.0 if view.status is status else 0.0)
        since = view.liveness.connected_at
        up = scrape.now - since if view.status is SessionStatus.CONNECTED and since else 0.0
        connected.add_metric([sid], max(0.0, up))
        recoveries.add_metric([sid], view.recoveries_last_hour)
        if manager is None or not manager.has(sid):
            continue
        totals = manager.client(sid).counters
        counters["frames_received"].add_metric([sid], totals.frames_in)
        counters["frames_sent"].add_metric([sid], totals.frames_out)
        counters["decrypt_failures"].add_metric([sid], totals.decrypt_failures)
        counters["undecryptable_messages"].add_metric([sid], totals.undecryptable)
        counters["retry_receipts_sent"].add_metric([sid], totals.retry_receipts_sent)
        counters["retry_receipts_received"].add_metric([sid], totals.retry_receipts_received)
        counters["session_recoveries"].add_metric([sid], manager.recoveries_started(sid))
    yield state
    yield connected
    yield recoveries
    yield from counters.values()


def _stored_families(scrape: _Scrape) -> Iterator[GaugeMetricFamily]:
    totals = scrape.totals
    outbox = GaugeMetricFamily(
        "wamd_outbox_messages", "Outbox rows by status", labels=["session", "status"]
    )
    sessions = {view.row.id for view in scrape.views} | {sid for sid, _ in totals.outbox}
    for sid in sorted(sessions):
        for status in OutboxStatus:
            outbox.add_metric([sid, status.value], totals.outbox.get((sid, status.value), 0))
    yield outbox
    deliveries = GaugeMetricFamily(
        "wamd_webhook_deliveries",
        "Webhook deliveries by status (pending, delivered, dead = failed for good)",
        labels=["status"],
    )
    for delivery in DeliveryStatus:
        deliveries.add_metric([delivery.value], totals.webhook_deliveries.get(delivery.value, 0))
    yield deliveries
    oldest = totals.oldest_pending_delivery
    lag = 0.0 if oldest is None else max(0.0, scrape.now - oldest.timestamp())
    yield GaugeMetricFamily(
        "wamd_webhook_lag_seconds",
        "Age of the oldest webhook delivery not yet made (0 when none waits)",
        value=lag,
    )
    sequence = GaugeMetricFamily(
        "wamd_event_log_sequence",
        "The last sequence number of each session's event log",
        labels=["session"],
    )
    for sid, seq in sorted(totals.event_seq.items()):
        sequence.add_metric([sid], seq)
    yield sequence
    if scrape.db_latency_s is not None:
        yield GaugeMetricFamily(
            "wamd_db_latency_seconds",
            "Time of a real database query at this scrape",
            value=scrape.db_latency_s,
        )


__all__ = ["CONTENT_TYPE", "DaemonMetrics"]
