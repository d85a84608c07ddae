"""Webhooks: at-least-once, signed delivery of the event log to HTTP receivers.

Theory of operation
-------------------
Two loops, both reading the database, so delivery survives restarts and crashes:

* the *dispatcher* follows the event log with one persistent cursor and, in one transaction per
  batch, creates a pending delivery for every webhook that wants each event and moves the
  cursor. It wakes once per commit that appended events (after the commit is durable); while
  no webhook is enabled it neither wakes for events nor reads or writes anything: it looks
  again when this daemon creates or changes a webhook, or after ``IDLE_POLL_S`` (another
  daemon of a fleet may have created one). The first webhook enabled starts at the end of the
  log (its cursor catches up in the same transaction). A global and a session
  webhook pointing at the same URL get one delivery, not two (the session's webhook, with its
  secret, wins);
* the *deliverer* POSTs due deliveries (at most ``concurrency`` at once; while no webhook is
  enabled it looks for none): a 2xx marks it
  delivered; 408, 429, 5xx, timeouts and connection errors retry with exponential backoff and
  full jitter (a ``Retry-After`` is honoured up to the cap); any other status — 4xx, and 3xx
  because redirects are not followed — is final. A delivery that is final or out of attempts
  goes to the dead-letter list, from where it can be replayed. Each delivery is *claimed*
  before its request (its next attempt moved past the request's timeout, in the database), so
  the daemons of a fleet sharing one PostgreSQL database never post the same delivery at once;
  the outcome replaces the claim, and a daemon that dies lets it expire.

In a fleet (PostgreSQL) both loops run on one daemon only, the holder of the ``webhooks`` role
(:mod:`daemon.fleet.roles`), and write through stores fenced by its lease: one delivery per
event across the fleet, and a holder paused past its lease cannot move the cursor when it
resumes. Every daemon manages webhooks (create, update, replay) through the database.

A crash after the receiver answered but before ``delivered`` is committed repeats the request:
receivers deduplicate on ``X-Wamd-Event-Id`` (stable across every attempt and replay).

Each request carries the event envelope as JSON and::

    X-Wamd-Event-Id:    evt_…            (the event's stable id)
    X-Wamd-Event-Type:  message.received
    X-Wamd-Timestamp:   1767225600       (unix seconds of this attempt)
    X-Wamd-Signature:   v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    X-Wamd-Delivery:    42               (the delivery id; X-Wamd-Attempt counts attempts)

Signing the timestamp with the body lets a receiver refuse replays of an old request
(:func:`verify_signature` checks both).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
import structlog
import yarl

from daemon.chat_scope import event_chat
from daemon.config import WebhooksConfig
from daemon.event_format import EventType, envelope_json
from daemon.eventlog import DISPATCH_CURSOR, EventLog
from daemon.retry import retry_delay
from storage.errors import StorageError
from storage.event_values import StoredEvent
from storage.stores import Stores
from storage.webhook_values import DeliveryJob, Webhook

log = structlog.get_logger("daemon.webhooks")

WEBHOOKS_ROLE = "webhooks"
"""The fleet role whose holder delivers webhooks (:mod:`daemon.fleet.roles`)."""
CONFIG_WEBHOOK_ID = "config"
"""The id of the global webhook configured in the ``[webhooks]`` section."""
SIGNATURE_VERSION = "v1"
USER_AGENT = "wamd-webhooks/1"
RETRYABLE_STATUSES = frozenset({408, 429})
DISPATCH_BATCH = 500
IDLE_POLL_S = 1.0
# A claimed delivery is this daemon's for the request's timeout plus this, time enough to
# record the outcome; a daemon that dies meanwhile leaves it to be claimed again after.
CLAIM_MARGIN_S = 10.0
MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 256
MAX_URL_CHARS = 2048
URL_CHAR_MIN, URL_CHAR_MAX = 0x21, 0x7E
"""Printable ASCII without space: what RFC 3986 allows unencoded."""
HOST_NAME = re.compile(
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
)
"""DNS labels (underscores too: container and service names use them)."""
HALT_WAIT_S = 0.5
"""How long a stop waits for cancelled loops and deliveries to end."""
RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Waits before restarting a loop that crashed (the last one repeats)."""


class WebhookError(ValueError):
    """A webhook definition is invalid (the message names the field)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Wamd-Signature`` value for one request."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches (constant-time) and the timestamp is
    within ``tolerance_s`` of now."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24)


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(8)


def check_url(url: str) -> str:
    """``url`` if the deliverer can POST to it: http or https, a host, a port from 1 to
    65535, printable ASCII (percent-encode the rest), no credentials; else WebhookError."""
    if not 0 < len(url) <= MAX_URL_CHARS:
        raise WebhookError(f"'url' must be 1 to {MAX_URL_CHARS} characters")
    if not all(URL_CHAR_MIN <= ord(ch) <= URL_CHAR_MAX for ch in url):
        raise WebhookError(
            "'url' must be printable ASCII without spaces (percent-encode anything else)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = yarl.URL(url)
    except ValueError as exc:
        raise WebhookError(f"'url' is malformed: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not parsed.host:
        raise WebhookError("'url' must be an absolute http:// or https:// URL")
    if not _is_host(parts.hostname):
        raise WebhookError("'url' must name a host: a DNS name or an IP address")
    if port == 0:
        raise WebhookError("'url' has port 0; a port is 1 to 65535")
    if parts.username is not None or parts.password is not None:
        raise WebhookError("'url' must not carry credentials; use the signature to authenticate")
    return url


def _is_host(name: str) -> bool:
    if HOST_NAME.fullmatch(name):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def url_problem(webhook: Webhook) -> str | None:
    """Why a stored webhook cannot be delivered to (its URL fails :func:`check_url`: stored
    before that check was as strict, or written to the database by hand), or None."""
    try:
        check_url(webhook.url)
    except WebhookError as exc:
        return str(exc)
    return None


def check_events(events: Sequence[str]) -> frozenset[str]:
    known = {event.value for event in EventType}
    unknown = sorted(set(events) - known)
    if unknown:
        raise WebhookError(f"unknown event type(s): {', '.join(unknown)}")
    return frozenset(events)


def check_secret(secret: str) -> str:
    if not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
        raise WebhookError(f"'secret' must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in secret):
        # SQLite measures text up to its first NUL: a secret with one fails its CHECK.
        raise WebhookError("'secret' must not contain control characters")
    return secret


def _url_key(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}{parts.path}"
    except ValueError:
        return url


def select_targets(event: StoredEvent, webhooks: Sequence[Webhook]) -> list[Webhook]:
    """The webhooks that get ``event``: each URL once, the session's own webhook first."""
    chosen: dict[str, Webhook] = {}
    chat = event_chat(event.data)
    for webhook in webhooks:
        if not webhook.wants(event.session_id, event.type, chat):
            continue
        key = _url_key(webhook.url)
        previous = chosen.get(key)
        if previous is None or (previous.session_id is None and webhook.session_id is not None):
            chosen[key] = webhook
    return list(chosen.values())


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    retry: bool
    status: int | None
    error: str
    retry_after: float | None = None


def classify(status: int, retry_after: float | None = None) -> Outcome:
    """What a response status means for the delivery."""
    if 200 <= status < 300:
        return Outcome(True, False, status, "")
    if status in RETRYABLE_STATUSES or status >= 500:
        return Outcome(False, True, status, f"HTTP {status}", retry_after)
    if 300 <= status < 400:
        return Outcome(False, False, status, f"HTTP {status}: redirects are not followed")
    return Outcome(False, False, status, f"HTTP {status}: not retried (client error)")


def parse_retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class WebhookService:
    def __init__(
        self,
        stores: Stores,
        events: EventLog,
        config: WebhooksConfig,
        *,
        clock: Callable[[], float] = time.time,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._stores = stores
        self._events = events
        self._config = config
        self._clock = clock
        self._uniform = uniform
        self.repo = stores.webhooks
        """Managing webhooks (any daemon of a fleet)."""
        self._work = stores.webhooks
        """What the loops read and write through (fenced by the role's lease in a fleet)."""
        self._held: Callable[[], bool] = lambda: True
        self._http: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._maybe_listening = asyncio.Event()
        """Set when this daemon creates or changes a webhook (an idle dispatcher looks again)."""
        self._stopping = False
        self.dispatch_passes = 0
        """Times the dispatcher woke to look for events (for tests and metrics)."""
        self.deliver_passes = 0
        """Times the deliverer looked for due deliveries and went to sleep."""
        self.delivered = 0
        self.crashes = 0
        """Unexpected errors the loops survived (each logged as ``webhooks.loop_crashed``)."""
        self.last_crash: str | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Keeps the config webhook in step and starts delivering (one daemon alone)."""
        await self.prepare()
        await self._run(self._stores)

    async def prepare(self) -> None:
        """Keeps the config webhook in step, delivering nothing: in a fleet every daemon
        does this, and only the holder of the ``webhooks`` role delivers (:meth:`take_role`)."""
        await self._sync_config_webhook()

    async def take_role(self, stores: Stores, held: Callable[[], bool]) -> None:
        """Starts the dispatcher and the deliverer over ``stores`` (fenced by the role's
        lease: a daemon that lost the role cannot move the cursor or mark a delivery); no
        delivery starts while ``held()`` is false (a daemon resuming from a pause past its
        lease posts nothing before the coordinator stops it)."""
        if self._tasks:
            return
        self._held = held
        await self._run(stores)

    async def drop_role(self) -> None:
        """Stops both loops and every delivery in flight at once (the role went elsewhere;
        a delivery cut short is attempted again by the new holder: at least once)."""
        await self._halt(0.0)

    async def stop(self, timeout: float) -> None:
        """Stops taking new deliveries; those in flight get ``timeout`` to finish. Returns
        within about ``timeout`` whatever the loops did (crashed, or stuck)."""
        await self._halt(timeout)

    async def _run(self, stores: Stores) -> None:
        self._work = stores.webhooks
        self._stopping = False
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._config.timeout_s),
            headers={"User-Agent": USER_AGENT},
        )
        self._tasks = [
            asyncio.create_task(
                self._supervised("dispatch", self._dispatch_loop), name="wamd-webhook-dispatch"
            ),
            asyncio.create_task(
                self._supervised("deliver", self._deliver_loop), name="wamd-webhook-deliver"
            ),
        ]

    async def _halt(self, grace: float) -> None:
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        flying = list(self._in_flight.values())
        if flying and grace > 0:
            _done, pending = await asyncio.wait(flying, timeout=grace)
            flying = list(pending)
        for task in flying:
            task.cancel()
        everything = [*tasks, *flying]
        if everything:
            # Cancelled tasks finish at their next await; one that ignores cancellation is
            # left behind rather than holding the stop.
            await asyncio.wait(everything, timeout=max(min(grace, 1.0), HALT_WAIT_S))
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.close()
            self._http = None

    async def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Runs ``loop``; an unexpected error is logged and the loop restarted after a short
        wait (a background task never silently dies)."""
        crashes = 0
        while True:
            try:
                await loop()
                return
            except Exception as exc:
                delay = RESTART_DELAYS_S[min(crashes, len(RESTART_DELAYS_S) - 1)]
                crashes += 1
                self.crashes += 1
                self.last_crash = f"{name}: {type(exc).__name__}: {exc}"
                log.exception("webhooks.loop_crashed", loop=name, restart_in_s=delay)
                await asyncio.sleep(delay)

    async def _sync_config_webhook(self) -> None:
        config = self._config
        if config.url:
            await self.repo.upsert_global(
                CONFIG_WEBHOOK_ID,
                url=check_url(config.url),
                secret=check_secret(config.secret),
                events=check_events(config.events),
            )
        elif await self.repo.delete(CONFIG_WEBHOOK_ID):
            log.info("webhooks.config_webhook_removed")

    def wake(self) -> None:
        self._wake.set()
        self._maybe_listening.set()

    @property
    def delivering(self) -> bool:
        """Whether this daemon runs the dispatcher and the deliverer now."""
        return bool(self._tasks)

    @property
    def failure(self) -> str | None:
        """Why a background loop died, if one did (health reports it as an error). A loop
        that crashed is restarted (see ``crashes``), so this is for what even that missed."""
        return _task_failure(self._tasks)

    # ------------------------------------------------------------------ management

    async def create(
        self,
        *,
        session_id: str | None,
        url: str,
        secret: str | None,
        events: Sequence[str],
        enabled: bool = True,
        api_key_id: str | None = None,
    ) -> Webhook:
        created = await self.repo.create(
            new_webhook_id(),
            session_id=session_id,
            url=check_url(url),
            secret=new_secret() if secret is None else check_secret(secret),
            events=check_events(events),
            enabled=enabled,
            api_key_id=api_key_id,
        )
        self._maybe_listening.set()
        return created

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        secret: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        updated = await self.repo.update(
            webhook_id,
            url=None if url is None else check_url(url),
            secret=None if secret is None else check_secret(secret),
            events=None if events is None else check_events(events),
            enabled=enabled,
        )
        self.wake()
        return updated

    async def replay(self, webhook_id: str, delivery_ids: Sequence[int] | None = None) -> int:
        replayed = await self.repo.replay(webhook_id, delivery_ids)
        if replayed:
            log.info("webhooks.replayed", webhook=webhook_id, deliveries=replayed)
            self.wake()
        return replayed

    # ------------------------------------------------------------------ dispatch

    async def _dispatch_loop(self) -> None:
        while True:
            # Woken once per commit that appended events (after it is durable), or by the
            # idle poll; with no enabled webhook, not by events at all.
            self._maybe_listening.clear()
            wake = self._events.waiter()
            try:
                self.dispatch_passes += 1
                looked = await self._dispatch_step()
                if looked:
                    self._wake.set()
                if looked is not None and looked >= DISPATCH_BATCH:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_POLL_S):
                        if looked is None:
                            await self._maybe_listening.wait()
                        else:
                            await wake
            finally:
                wake.cancel()

    async def _dispatch_step(self) -> int | None:
        """One batch: deliveries for the events after the cursor, and the cursor moved (one
        transaction); returns how many events it looked at, None when no webhook is
        enabled."""
        try:
            if not await self._work.has_listeners():
                return None
            step = await self._work.dispatch(
                DISPATCH_CURSOR, select_targets, unusable=url_problem, batch=DISPATCH_BATCH
            )
        except StorageError as exc:
            log.warning("webhooks.dispatch_failed", error=str(exc))
            return 0
        for parked in step.parked:
            log.error("webhooks.parked", webhook=parked.webhook_id, reason=parked.reason)
        return step.looked

    # ------------------------------------------------------------------ delivery

    async def _deliver_loop(self) -> None:
        limit = self._config.concurrency
        more_due = False
        while True:
            self._wake.clear()
            # Right after a batch the answer is known (someone listens); on PostgreSQL the
            # question is a round trip, so it is asked only before an idle wait.
            if not more_due and not await self._listening():
                # Deliveries go to enabled webhooks only: none can be due. Enabling one
                # (update, create) wakes this loop; the poll catches another daemon's.
                self.deliver_passes += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_POLL_S):
                        await self._wake.wait()
                continue
            started = await self._start_due(limit)
            more_due = bool(started) and len(self._in_flight) < limit
            if more_due:
                continue
            wait = IDLE_POLL_S
            with contextlib.suppress(StorageError):
                next_due = await self._work.next_due_at()
                if next_due is not None and next_due.timestamp() > self._clock():
                    wait = min(wait, next_due.timestamp() - self._clock())
            self.deliver_passes += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _listening(self) -> bool:
        try:
            return await self._work.has_listeners()
        except StorageError:
            return True  # the claim says what is due, or fails the same way

    async def _start_due(self, limit: int) -> int:
        """Starts due deliveries up to the concurrency limit; returns how many."""
        free = limit - len(self._in_flight)
        if free <= 0 or self._stopping or not self._held():
            return 0
        now = self._stores.now()
        # Claimed deliveries are this daemon's until the claim ends: claim only what starts
        # now, for as long as an attempt can take.
        until = now + timedelta(seconds=self._config.timeout_s + CLAIM_MARGIN_S)
        try:
            jobs = await self._work.claim_due(now, until, limit=free)
        except StorageError as exc:
            log.warning("webhooks.due_failed", error=str(exc))
            return 0
        started = 0
        for job in jobs:
            if job.delivery_id in self._in_flight:
                continue  # its claim ran out while its outcome was still being recorded
            task = asyncio.create_task(self._deliver(job), name=f"wamd-webhook-{job.delivery_id}")
            self._in_flight[job.delivery_id] = task
            task.add_done_callback(self._finisher(job.delivery_id))
            started += 1
        return started

    def _finisher(self, delivery_id: int) -> Callable[[asyncio.Task[None]], None]:
        def finished(_task: asyncio.Task[None]) -> None:
            self._in_flight.pop(delivery_id, None)
            self._wake.set()

        return finished

    async def _deliver(self, job: DeliveryJob) -> None:
        """One attempt; an unexpected error parks the webhook (the delivery stays pending
        and goes out when the webhook is enabled again) and touches no other delivery."""
        try:
            await self._attempt(job)
        except Exception as exc:
            reason = f"delivery {job.delivery_id} failed: {type(exc).__name__}: {exc}"
            log.exception("webhooks.delivery_crashed", webhook=job.webhook.id)
            await self._park(job.webhook.id, reason)

    async def _park(self, webhook_id: str, reason: str) -> None:
        try:
            if await self._work.park(webhook_id, reason):
                log.error("webhooks.parked", webhook=webhook_id, reason=reason)
        except StorageError as exc:
            log.error("webhooks.park_failed", webhook=webhook_id, error=str(exc))

    async def _attempt(self, job: DeliveryJob) -> None:
        attempt = job.attempts + 1
        outcome = await self._post(job, attempt)
        webhook, event = job.webhook, job.event
        try:
            if outcome.delivered:
                await self._work.mark_delivered(job.delivery_id, outcome.status or 200)
                self.delivered += 1
                log.info(
                    "webhooks.delivered",
                    webhook=webhook.id,
                    event_id=event.id,
                    event_type=event.type,
                    session=event.session_id,
                    attempt=attempt,
                    status=outcome.status,
                )
                return
            if not outcome.retry or attempt >= self._config.max_attempts:
                why = outcome.error if not outcome.retry else f"{attempt} attempts: {outcome.error}"
                await self._work.mark_dead(job.delivery_id, outcome.status, why)
                log.warning(
                    "webhooks.dead_letter",
                    webhook=webhook.id,
                    event_id=event.id,
                    attempt=attempt,
                    error=why,
                )
                return
            delay = retry_delay(
                attempt, self._config.retry_base_s, self._config.retry_cap_s, self._uniform
            )
            if outcome.retry_after is not None:
                delay = min(self._config.retry_cap_s, max(delay, outcome.retry_after))
            await self._work.reschedule(
                job.delivery_id,
                self._stores.now() + timedelta(seconds=delay),
                outcome.status,
                outcome.error,
            )
            log.info(
                "webhooks.retry_scheduled",
                webhook=webhook.id,
                event_id=event.id,
                attempt=attempt,
                delay=round(delay, 3),
                error=outcome.error,
            )
        except StorageError as exc:
            # The delivery stays pending and is attempted again: at-least-once holds.
            log.error("webhooks.outcome_not_saved", delivery=job.delivery_id, error=str(exc))

    async def _post(self, job: DeliveryJob, attempt: int) -> Outcome:
        http = self._http
        if http is None:
            return Outcome(False, True, None, "webhook client closed")
        body = envelope_json(job.event)
        payload = body.encode()
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "X-Wamd-Event-Id": job.event.id,
            "X-Wamd-Event-Type": job.event.type,
            "X-Wamd-Timestamp": str(timestamp),
            "X-Wamd-Signature": sign(job.webhook.secret, timestamp, payload),
            "X-Wamd-Delivery": str(job.delivery_id),
            "X-Wamd-Attempt": str(attempt),
        }
        try:
            async with http.post(
                job.webhook.url, data=payload, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
                return classify(response.status, retry_after)
        except TimeoutError:
            return Outcome(False, True, None, f"timed out after {self._config.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            return Outcome(False, True, None, f"{type(exc).__name__}: {exc}")
        except OSError as exc:
            return Outcome(False, True, None, f"network error: {exc}")


def _task_failure(tasks: Sequence[asyncio.Task[None]]) -> str | None:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            return f"{task.get_name()} died: {task.exception()!r}"
    return None


__all__ = [
    "CONFIG_WEBHOOK_ID",
    "WEBHOOKS_ROLE",
    "Outcome",
    "WebhookError",
    "WebhookService",
    "check_events",
    "check_secret",
    "check_url",
    "classify",
    "new_secret",
    "parse_retry_after",
    "select_targets",
    "sign",
    "url_problem",
    "verify_signature",
]
