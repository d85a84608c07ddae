"""The campaign dispatcher: hands recipients to the outbox at each campaign's pace, and keeps
every recipient's status following its outbox message.

Theory of operation
-------------------
Two loops run, each supervised: one that fails is logged and restarted after
:data:`RESTART_DELAY_S`; :meth:`CampaignDispatcher.stop` cancels them (a statement already on
SQLite's thread finishes first, and a cancelled transaction rolls back), so shutdown never waits
for a campaign.

In a fleet (several daemons on one PostgreSQL database) scheduling is per session: it needs the
session's socket and its outbox, so each daemon schedules the campaigns of the sessions it holds
and leaves the others alone. Tracking follows the whole event log with one cursor, so it runs on
one daemon, the holder of the ``campaigns`` role, through stores fenced by that role's lease;
the schedulers then read their pacing evidence back from the store at every step.

* **Scheduling.** For each scheduled or processing campaign: a due ``scheduledAt`` starts it; a
  logged-out (replaced, banned...) session or a session whose sending the outbox paused after a
  restriction pauses it with the reason; otherwise, while the session is connected, the
  :class:`~daemon.campaigns.pacing.Pacer` says how many recipients may go now. Each one is
  accepted by the outbox under the idempotency key ``campaign:<campaign>:<recipient>`` and
  marked ``queued`` with the outbox message id, in one transaction with its event: after a
  crash a recipient is either pending (and will be handed over once) or queued (and its outbox
  row is sent once, by the outbox's own restart rules). The outbox does the rest: retries,
  restriction pauses, failing recipients that are not on WhatsApp without a send.
* **Tracking.** The event log is read after a stored cursor: each ``message.updated`` status
  (sent, delivered, read/played, failed) of a campaign's message moves its recipient forward,
  with a ``campaign.recipient.updated`` event, and the cursor moves in the same transaction, so
  every status is applied exactly once across restarts. An ``alert`` that the session's sending
  was paused pauses its running campaigns. A recipient that settles (sent or failed) frees its
  place in the pacer; a campaign with nothing pending or queued is completed (or failed, when
  no recipient could be sent to).
* **Idle tracking.** While no event can move any campaign (none is scheduled or processing, no
  recipient is queued, sent or delivered) the tracker reads nothing and wakes for nothing but a
  ``campaign.updated`` event (a campaign created, started, resumed), another daemon's commit,
  or :data:`IDLE_RECHECK_S`; its cursor then jumps to the end of the log as it was when that
  was checked, since no event up to there can move anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from daemon.campaigns.files import CampaignFiles
from daemon.campaigns.pacing import MINUTE_S, Pacer
from daemon.campaigns.requests import CampaignInputError, content_request
from daemon.campaigns.service import record_transition
from daemon.campaigns.shapes import recipient_json
from daemon.event_format import EventType
from daemon.eventlog import EventLog
from daemon.outbox import Accepted, InvalidSendRequest, SendRequest
from storage.campaign_interfaces import CampaignStore
from storage.campaign_values import (
    Campaign,
    CampaignStatus,
    Dispatch,
    Recipient,
    RecipientStatus,
)
from storage.daemon_interfaces import EventLogRepo
from storage.errors import StorageError
from storage.event_values import StoredEvent
from storage.outbox_values import SendingPause
from storage.stores import Stores
from storage.values import SessionStatus

log = structlog.get_logger("daemon.campaigns")

TRACKER_CURSOR = "campaign_tracker"
RESTART_DELAY_S = 2.0
ROLE_STOP_S = 1.0
"""How long losing the campaigns role waits for the tracker to end."""
CAMPAIGNS_ROLE = "campaigns"
"""The fleet role whose holder tracks campaign messages (:mod:`daemon.fleet.roles`)."""
IDLE_S = 5.0
"""The scheduler looks at its campaigns at least this often."""
CONNECTION_POLL_S = 0.25
TRACK_BATCH = 500
CURSOR_LAG_MAX = 5_000
"""How far the stored tracker cursor may lag behind events that concern no campaign before it
is written anyway (a restart re-reads at most this many)."""
TRACK_POLL_S = 1.0
IDLE_RECHECK_S = 30.0
"""How often an idle tracker asks again whether an event may move a campaign (it also asks at
every ``campaign.updated`` event and every commit of another daemon)."""
IDLE_CHECK_EVERY_S = 5.0
"""How often a tracker that is caught up asks whether it may go idle."""
IDLE_WAKE_TYPES = frozenset({str(EventType.CAMPAIGN_UPDATED)})
TRACKED_TYPES = frozenset({str(EventType.MESSAGE_UPDATED), str(EventType.ALERT)})
"""What moves a recipient or pauses a campaign: the tracker wakes for these only, so a backlog
of received messages does not make it read (and commit the open group) once per message."""
STOPPED_SESSION = frozenset(
    {
        SessionStatus.LOGGED_OUT,
        SessionStatus.REPLACED,
        SessionStatus.OUTDATED,
        SessionStatus.BANNED,
        SessionStatus.NEEDS_ATTENTION,
    }
)
_STATUS_OF_MESSAGE = {
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.READ,
    "played": RecipientStatus.READ,
    "failed": RecipientStatus.FAILED,
}
_UNSETTLED = frozenset({RecipientStatus.PENDING, RecipientStatus.QUEUED})


class Sessions(Protocol):
    """What the dispatcher needs of the session manager."""

    def has(self, session_id: str) -> bool: ...

    def is_connected(self, session_id: str) -> bool: ...

    def status_of(self, session_id: str) -> SessionStatus: ...


class Sending(Protocol):
    """What the dispatcher needs of the outbox."""

    async def accept(
        self, session_id: str, request: SendRequest, idempotency_key: str | None
    ) -> Accepted: ...

    async def pause_of(self, session_id: str) -> SendingPause | None: ...


def idempotency_key(campaign_id: str, recipient_id: int) -> str:
    return f"campaign:{campaign_id}:{recipient_id}"


@dataclass(frozen=True, slots=True)
class _Settled:
    campaign_id: str
    at: float


class CampaignDispatcher:
    def __init__(
        self,
        store: CampaignStore,
        events: EventLog,
        outbox: Sending,
        sessions: Sessions,
        files: CampaignFiles,
        *,
        clock: Callable[[], float] = time.time,
        uniform: Callable[[float, float], float] = random.uniform,
        restart_delay: float = RESTART_DELAY_S,
        fleet: bool = False,
    ) -> None:
        """``fleet``: this daemon is one of several sharing the database; it schedules only
        the campaigns of the sessions it holds, and tracks only while it holds the
        ``campaigns`` role (:meth:`take_role`)."""
        self._store = store
        self._events = events
        self._outbox = outbox
        self._sessions = sessions
        self._files = files
        self._clock = clock
        self._uniform = uniform
        self._restart_delay = restart_delay
        self._fleet = fleet
        self._pacers: dict[str, Pacer] = {}
        self._stored_cursor = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tracker: asyncio.Task[None] | None = None
        self.track_reads = 0
        """Batches the tracker read from the event log (for tests and metrics)."""
        self.idle_checks = 0
        """Times the tracker asked whether an event may move a campaign."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if await self._events.repo.cursor(TRACKER_CURSOR) is None:
            # Campaign messages exist only after this first start: no earlier event matters.
            await self._events.repo.set_cursor(
                TRACKER_CURSOR, await self._events.repo.last_position()
            )
        await self._files.sweep(before=self._clock())
        self._task = asyncio.create_task(
            self._supervise("schedule", self._schedule_loop), name="wamd-campaigns"
        )
        if not self._fleet:
            self._tracker = self._start_tracker(self._store, self._events.repo)

    async def stop(self, timeout: float) -> None:
        tasks = [task for task in (self._task, self._tracker) if task is not None]
        self._task = self._tracker = None
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*tasks, return_exceptions=True)

    async def take_role(self, stores: Stores, held: Callable[[], bool]) -> None:
        """Starts tracking (the ``campaigns`` role of a fleet): the cursor and the
        recipients' statuses are written through ``stores``, fenced by the role's lease (every
        write is refused once it is lost, so ``held`` is not needed)."""
        if self._tracker is None:
            self._tracker = self._start_tracker(stores.campaigns, stores.events)

    async def drop_role(self) -> None:
        """Stops tracking at once (the role went elsewhere); the stored cursor is where the
        next holder starts."""
        task, self._tracker = self._tracker, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(ROLE_STOP_S):
                    await task

    def _start_tracker(self, store: CampaignStore, cursors: EventLogRepo) -> asyncio.Task[None]:
        async def track() -> None:
            await self._track_loop(store, cursors)

        return asyncio.create_task(self._supervise("track", track), name="wamd-campaigns-track")

    def wake(self) -> None:
        self._wake.set()

    async def _supervise(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Runs ``loop``, restarting it after an error. The pacers are dropped on every
        restart: a settle applied but not yet counted is then read back from the store."""
        while True:
            try:
                await loop()
            except StorageError as error:
                self._crashed(name, error, storage=True)
            except Exception as error:
                self._crashed(name, error, storage=False)
            self._pacers.clear()
            await asyncio.sleep(self._restart_delay)

    def _crashed(self, name: str, error: BaseException, *, storage: bool) -> None:
        if storage:
            log.error("campaigns.dispatcher_storage_error", loop=name, error=str(error))
        else:
            log.error("campaigns.dispatcher_crashed", loop=name, exc_info=error)

    # ------------------------------------------------------------------ scheduling

    async def _schedule_loop(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            wake_at = now + IDLE_S
            for campaign in await self._store.active():
                wake_at = min(wake_at, await self._step(campaign, now))
            delay = wake_at - self._clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            else:
                await asyncio.sleep(0)  # let the outbox and the tracker run

    async def _step(self, campaign: Campaign, now: float) -> float:
        """Does what the campaign needs now; returns when to look at it again."""
        if self._fleet and not self._sessions.has(campaign.session_id):
            return now + IDLE_S  # its session's daemon schedules it
        if campaign.status is CampaignStatus.SCHEDULED:
            due = campaign.scheduled_at.timestamp() if campaign.scheduled_at else now
            if due > now:
                return due
            started = await record_transition(
                self._store,
                self._events,
                campaign.id,
                CampaignStatus.PROCESSING,
                expected={CampaignStatus.SCHEDULED},
            )
            if started is None:
                return now
            campaign = started
        session_id = campaign.session_id
        reason = await self._blocked(session_id)
        if reason is not None:
            await self._pause(campaign.id, reason)
            return now
        pacer = await self._pacer(campaign, now)
        allowance = pacer.allowance(now)
        pending = await self._store.next_pending(campaign.id, max(1, allowance.count))
        if not pending:
            await self._finish(campaign.id)  # once nothing is queued either
            return now + IDLE_S
        if not self._sessions.is_connected(session_id):
            return now + CONNECTION_POLL_S
        if allowance.count == 0:
            return allowance.retry_at if allowance.retry_at is not None else now + IDLE_S
        await self._dispatch(campaign, pacer, allowance.count, now)
        return now

    async def _blocked(self, session_id: str) -> str | None:
        """Why the session cannot take the campaign's sends now (None: it can)."""
        if not self._sessions.has(session_id):
            return "the session no longer exists"
        status = self._sessions.status_of(session_id)
        if status in STOPPED_SESSION:
            return f"the session is {status.value}; reconnect or re-pair it, then resume"
        pause = await self._outbox.pause_of(session_id)
        if pause is not None:
            return f"sending paused by the server: {pause.reason}"
        return None

    async def _pause(self, campaign_id: str, reason: str) -> None:
        moved = await record_transition(
            self._store,
            self._events,
            campaign_id,
            CampaignStatus.PAUSED,
            expected={CampaignStatus.PROCESSING, CampaignStatus.SCHEDULED},
            reason=reason,
        )
        if moved is not None:
            log.warning("campaigns.paused", session=moved.session_id, campaign=campaign_id)
        self._pacers.pop(campaign_id, None)

    async def _pacer(self, campaign: Campaign, now: float) -> Pacer:
        pacer = self._pacers.get(campaign.id)
        if pacer is not None and not self._fleet:
            return pacer
        # In a fleet the settles are applied by the daemon holding the campaigns role: the
        # pacer is read back from the store at every step instead of kept.
        since = datetime.fromtimestamp(now - MINUTE_S, UTC)
        in_flight, settled = await self._store.pacing_evidence(campaign.id, since)
        next_due = campaign.next_send_at.timestamp() if campaign.next_send_at else now
        pacer = Pacer(
            campaign.pacing,
            next_due=next_due,
            in_flight=in_flight,
            settled=settled,
            uniform=self._uniform,
        )
        self._pacers[campaign.id] = pacer
        return pacer

    async def _dispatch(self, campaign: Campaign, pacer: Pacer, count: int, now: float) -> None:
        """Hands up to ``count`` pending recipients to the outbox, in one transaction that
        first checks the campaign is still processing: a pause or a cancel committed since the
        scheduler looked wins, and no recipient it stopped gets a message."""
        session_id = campaign.session_id
        queued: list[Recipient] = []
        try:
            async with self._store.transaction():
                current = await self._store.get(campaign.id)
                if current is None or current.status is not CampaignStatus.PROCESSING:
                    return
                pending = await self._store.next_pending(campaign.id, count)
                pacer.dispatched(len(pending), now)
                dispatches: list[Dispatch] = []
                for recipient in pending:
                    values = {**campaign.defaults, **(recipient.variables or {})}
                    try:
                        request = content_request(campaign.content, values, recipient.jid)
                        accepted = await self._outbox.accept(
                            session_id, request, idempotency_key(campaign.id, recipient.id)
                        )
                    except (CampaignInputError, InvalidSendRequest) as exc:
                        await self._fail_recipient(session_id, recipient, str(exc))
                        continue
                    dispatches.append(Dispatch(recipient.id, accepted.row.id))
                queued = await self._store.mark_queued(campaign.id, dispatches)
                for recipient in queued:
                    await self._recipient_event(session_id, recipient)
                await self._store.set_next_send_at(
                    campaign.id, datetime.fromtimestamp(pacer.next_due, UTC)
                )
        except BaseException:
            self._pacers.pop(campaign.id, None)  # rebuilt from what was committed
            raise
        for _ in range(len(pending) - len(queued)):
            pacer.settled(now)  # failed before the outbox: frees its place at once
        log.debug("campaigns.dispatched", campaign=campaign.id, count=len(queued))

    async def _fail_recipient(self, session_id: str, recipient: Recipient, reason: str) -> None:
        failed = await self._store.advance(recipient.id, RecipientStatus.FAILED, error=reason)
        if failed is not None:
            await self._recipient_event(session_id, failed)

    async def _recipient_event(self, session_id: str, recipient: Recipient) -> None:
        await self._events.append(
            session_id,
            EventType.CAMPAIGN_RECIPIENT_UPDATED,
            {"campaignId": recipient.campaign_id, "recipient": recipient_json(recipient)},
        )

    async def _finish(self, campaign_id: str) -> None:
        counts = await self._store.counts(campaign_id)
        if counts.get(RecipientStatus.PENDING) or counts.get(RecipientStatus.QUEUED):
            return
        reached = sum(
            counts.get(status, 0)
            for status in (RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.READ)
        )
        failed = counts.get(RecipientStatus.FAILED, 0)
        status = CampaignStatus.FAILED if failed and not reached else CampaignStatus.COMPLETED
        reason = "no recipient could be sent to" if status is CampaignStatus.FAILED else None
        await record_transition(
            self._store,
            self._events,
            campaign_id,
            status,
            expected={CampaignStatus.PROCESSING},
            reason=reason,
        )
        self._pacers.pop(campaign_id, None)
        await self._files.release_if_done(campaign_id)

    # ------------------------------------------------------------------ tracking

    async def _track_loop(self, store: CampaignStore, cursors: EventLogRepo) -> None:
        cursor = await cursors.cursor(TRACKER_CURSOR) or 0
        self._stored_cursor = cursor
        idle_checked = -IDLE_CHECK_EVERY_S
        while True:
            if time.monotonic() - idle_checked >= IDLE_CHECK_EVERY_S:
                cursor = await self._until_trackable(store, cursors, cursor)
                idle_checked = time.monotonic()
            wake = self._events.waiter(TRACKED_TYPES)
            try:
                self.track_reads += 1
                batch = await cursors.read_all(after_position=cursor, limit=TRACK_BATCH)
                if batch:
                    await self._track(batch, store, cursors)
                    cursor = batch[-1].position
                if len(batch) < TRACK_BATCH:
                    # Caught up. Reading again at once would commit the receive path's open
                    # group (a read sees only durable rows) after every message it adds.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(TRACK_POLL_S):
                            await wake
            finally:
                wake.cancel()

    async def _until_trackable(
        self, store: CampaignStore, cursors: EventLogRepo, cursor: int
    ) -> int:
        """Returns the cursor to track from once an event may move a campaign; until then
        reads nothing but this check, at each wake-up of an idle tracker."""
        while True:
            wake = self._events.waiter(IDLE_WAKE_TYPES)
            try:
                self.idle_checks += 1
                horizon = await store.idle_horizon()
                if horizon is None:
                    return cursor
                cursor = max(cursor, horizon)
                if cursor - self._stored_cursor >= CURSOR_LAG_MAX:
                    await cursors.set_cursor(TRACKER_CURSOR, cursor)
                    self._stored_cursor = cursor
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_RECHECK_S):
                        await wake
            finally:
                wake.cancel()

    async def _track(
        self, batch: list[StoredEvent], store: CampaignStore, cursors: EventLogRepo
    ) -> None:
        settled = await self._apply(batch, store, cursors)
        for campaign_id in {item.campaign_id for item in settled}:
            # A cancelled campaign keeps its file until its last queued message settled.
            await self._files.release_if_done(campaign_id)
        now = self._clock()
        for item in settled:
            pacer = self._pacers.get(item.campaign_id)
            if pacer is not None:
                pacer.settled(min(item.at, now))
        if settled:
            self.wake()

    async def _apply(
        self, batch: list[StoredEvent], store: CampaignStore, cursors: EventLogRepo
    ) -> list[_Settled]:
        """Applies a batch of events and moves the stored cursor past it, in one transaction."""
        updates = [
            (event, _STATUS_OF_MESSAGE[str(event.data.get("status"))])
            for event in batch
            if event.type == EventType.MESSAGE_UPDATED
            and isinstance(event.data.get("id"), str)
            and event.data.get("status") in _STATUS_OF_MESSAGE
        ]
        alerts = [
            event
            for event in batch
            if event.type == EventType.ALERT and event.data.get("kind") == "sending_paused"
        ]
        settled: list[_Settled] = []
        if not alerts and updates:
            ids = {str(event.data["id"]) for event, _status in updates}
            if not await store.by_message_ids(ids):
                updates = []  # none of these messages is a campaign's
        if not updates and not alerts:
            # Nothing to apply: the stored cursor may lag (re-reading these changes nothing),
            # which spares a commit per batch of events that concern no campaign (a session's
            # own sends and receipts, the campaign's own events), up to a bound.
            if batch[-1].position - self._stored_cursor >= CURSOR_LAG_MAX:
                await cursors.set_cursor(TRACKER_CURSOR, batch[-1].position)
                self._stored_cursor = batch[-1].position
            return settled
        async with store.transaction():
            if updates:
                ids = {str(event.data["id"]) for event, _status in updates}
                current = {r.message_id: r for r in await store.by_message_ids(ids)}
                for event, status in updates:
                    recipient = current.get(str(event.data["id"]))
                    if recipient is None:
                        continue
                    moved = await store.advance(
                        recipient.id, status, error=_error_of(event.data, status)
                    )
                    if moved is None:
                        continue
                    current[str(event.data["id"])] = moved
                    await self._recipient_event(event.session_id, moved)
                    if recipient.status in _UNSETTLED:
                        settled.append(_Settled(moved.campaign_id, self._clock()))
            for alert in alerts:
                await self._pause_session(alert.session_id, str(alert.data.get("message", "")))
            await cursors.set_cursor(TRACKER_CURSOR, batch[-1].position)
        self._stored_cursor = batch[-1].position
        return settled

    async def _pause_session(self, session_id: str, message: str) -> None:
        for campaign in await self._store.active():
            if campaign.session_id == session_id:
                await self._pause(campaign.id, f"sending paused by the server: {message}")


def _error_of(data: dict[str, Any], status: RecipientStatus) -> str | None:
    if status is not RecipientStatus.FAILED:
        return None
    error = data.get("error")
    return str(error) if error else "the message could not be sent"


__all__ = [
    "CAMPAIGNS_ROLE",
    "TRACKER_CURSOR",
    "CampaignDispatcher",
    "Sending",
    "Sessions",
    "idempotency_key",
]
