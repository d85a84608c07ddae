"""The outbox: a send is a row first, then attempts (ARCHITECTURE principle 4).

Theory of operation
-------------------
:meth:`Outbox.accept` validates a request, gives it its WhatsApp message id and stores it
(``pending``) before answering, so the HTTP caller gets ``202`` and an id at once and nothing
is lost by a restart or a disconnect. The same ``Idempotency-Key`` with the same request returns
the stored row (never a second send); with another request it is refused.

One worker task per session with open rows sends them in the order they were accepted, when the
session is connected and its sending is not paused, no faster than its token bucket allows, with
up to ``max_in_flight`` attempts under way at once (see *Pipelining* below):

* the attempt is committed (``sending``) before the message goes out, and ``done`` after the
  server's ack. The row holds only the request: the message's lifecycle (``sent`` with the
  server's timestamp, then ``delivered``/``read``/``played``) is its message row's, which the
  sender (the client's messenger) writes with its ``message.updated`` events in the client's
  own transaction, receipts included. Whatever reads an outbox entry reads its status from
  that row once the message has gone out;
* a transient failure (not connected, timeout, server error) retries with full-jitter backoff;
  after ``max_attempts``, or once the message is older than ``max_age_s``, it is ``failed``
  with the reason (and a ``message.updated`` event);
* a restriction from the server (429, 463...) pauses the session's sending for
  ``restriction_pause_s`` (persisted) and raises an ``alert`` event; the message stays pending;
* a restriction that covers some chats only (a reachout time-lock or message cap blocks new
  chats) holds those messages until it ends; other chats keep flowing: the worker takes the
  oldest due message among each chat's oldest open one, so one held or backing-off chat never
  stops the others, and a chat's own messages stay in order;
* a permanent refusal (bad recipient, message too large, 463 for one contact) fails the message
  at once.

Pipelining
----------
The worker starts an attempt as soon as a slot is free rather than after the previous ack, so a
session's sends overlap the round trips to the server and share commits (group commit). A
chat's order is kept on the wire: its next message is started (encrypted, its ratchet step
committed) only once the previous one is *written* to the connection, and every frame of a
session leaves through one connection, in the order written (the transport encrypts and writes
under one FIFO lock), so the server receives a chat's messages in the order they were accepted.
Whether the next one waits for the previous ack instead is ``pipeline_within_chat``: when the
server refuses or never acks a message after a later one of its chat was already written, that
later one cannot be called back and arrives first; the refused one is retried before anything
not yet written (a chat's oldest open row always goes first). A disconnect does not reorder:
the server cannot have a later frame without the earlier ones, and both are sent again in order
under their own ids. ``pipeline_within_chat = false`` closes that window at the price of one
round trip per message of a chat; other chats flow alongside either way.

Finding the next row reads nothing in steady state: the worker holds its session's open rows
in memory (:mod:`daemon.outbox_queue`), a row accepted here reaches it once its transaction
committed, and a settled one leaves it. The rows are read from storage when the worker starts,
after an attempt that did not settle its row (a retry, a hold, a pause: its new state is
storage's), when the session connects again, when something outside wakes the worker
(:meth:`Outbox.wake`: a restart's requeue, a fleet hand-over, a resume) and for a row accepted
in a caller's transaction (it exists only once that commits, and may roll back).

A crash between the send and the ``done`` commit leaves the row in ``sending``. When the client
had committed the server's ack (the message row says ``sent``), the next start records it done
without sending it again; otherwise it sends it again under the same message id (counted in
``uncertain_sends``). Recipients recognise a repeated message id (WhatsApp clients and wamd's
own receive path drop it as a duplicate), so the only duplicate a crash can cause is one that
is dropped on arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from daemon.binary import JID, Server
from daemon.client.ids import new_message_id
from daemon.client.message_content import stored_preview
from daemon.config import OutboxConfig
from daemon.event_format import EventType
from daemon.event_records import chat_json
from daemon.eventlog import EventLog
from daemon.message_sender import (
    HeldError,
    MessageSender,
    PermanentSendError,
    QueuedMessage,
    RestrictedError,
    SendFailed,
    ServerAck,
    TransientSendError,
)
from daemon.outbox_outcomes import AttemptOutcomes
from daemon.outbox_queue import OpenRows
from daemon.outbox_rows import describe, discard_staged, request_of
from daemon.send_request import (
    MAX_IDEMPOTENCY_KEY,
    MEDIA_KINDS,
    IdempotencyConflict,
    InvalidSendRequest,
    MessageKind,
    SendingNotAllowed,
    SendRequest,
    normalize_chat,
    parse_send_request,
)
from daemon.token_bucket import TokenBucket
from storage.errors import AlreadyExists, StorageError
from storage.interfaces import GroupHold
from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus
from storage.outbox_values import NewOutboxRow, OutboxRow, SendingPause
from storage.stores import Stores

log = structlog.get_logger("daemon.outbox")

IDLE_EXIT_S = 30.0
"""A session worker with nothing to send ends after this long (a new send starts it again)."""
CONNECTION_POLL_S = 0.25
"""How often a worker waiting for its session to connect looks again."""
ACCEPT_COMMIT_TIMEOUT_S = 60.0
"""How long an accepted send waits for the commit that makes it durable before the request fails
(the row may still commit and go out: a retry with the same Idempotency-Key finds it)."""
ATTEMPT_CRASH_PAUSE_S = 5.0
"""How long an attempt that failed unexpectedly (storage) keeps its slot before the row may be
tried again."""


@dataclass(frozen=True, slots=True)
class Accepted:
    row: OutboxRow
    replayed: bool
    """True when an earlier request with the same idempotency key is returned."""


@dataclass(slots=True)
class _Flight:
    """One attempt under way."""

    row: OutboxRow
    written: bool = False
    """The message is on the connection: the chat's next one may start."""
    hold: GroupHold | None = None
    """The accept's commit, kept open for this attempt's first commit (released by it)."""

    def release_hold(self) -> None:
        if self.hold is not None:
            self.hold.release()
            self.hold = None


@dataclass(slots=True)
class _Worker:
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    flights: dict[str, _Flight] = field(default_factory=dict)
    """The attempts under way, by message id."""
    pause: SendingPause | None = None
    """The session's sending pause, read when the worker starts and kept by the outbox (the
    only writer) after that: not a read per send."""
    dirty: bool = True
    """Whether the rows may hold one the last look did not start (a new row, a retry, a row
    left behind a slot or an earlier message of its chat): only then is a wake-up worth a
    look. Once a look found nothing more, a send that ends changes nothing."""
    rows: OpenRows = field(default_factory=OpenRows)
    """The session's open rows, held in memory between reads (daemon.outbox_queue)."""
    offline: bool = False
    """The session was not connected at the last look: rows are read again once it is."""
    holds: dict[str, GroupHold] = field(default_factory=dict)
    """Accepted rows whose commit waits for their attempt's first unit (see Outbox.accept),
    by message id: taken by the attempt the next look starts, released if it starts none."""

    def release_holds(self) -> None:
        holds, self.holds = self.holds, {}
        for hold in holds.values():
            hold.release()


class Outbox:
    def __init__(
        self,
        stores: Stores,
        events: EventLog,
        sender: MessageSender,
        config: OutboxConfig,
        *,
        own_user: Callable[[str], str | None] = lambda _session: None,
        on_sent: Callable[[float], None] = lambda _seconds: None,
        clock: Callable[[], float] = time.time,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._stores = stores
        self._events = events
        self._sender = sender
        self._config = config
        self._own_user = own_user
        self._on_sent = on_sent
        """Told each send's latency (attempt to server ack, seconds), for metrics."""
        self._clock = clock
        self.repo = stores.outbox
        self._messages = stores.messages.messages
        self._chats = stores.messages.chats
        self._outcomes = AttemptOutcomes(stores, events, config, clock=clock, uniform=uniform)
        self._workers: dict[str, _Worker] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._stopping = False
        self.reads = 0
        """Reads of a session's open rows to find what to send next (what a steady state of
        sends does without: accepted rows reach the worker in memory)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Requeues attempts a previous process left unfinished and starts the workers of
        every session with open rows."""
        requeued = await self.repo.requeue_interrupted()
        if requeued:
            log.warning("outbox.requeued_uncertain", messages=requeued)
        for session_id in await self.repo.sessions_with_open_rows():
            self.wake(session_id)

    async def stop(self, timeout: float) -> None:
        """Lets in-flight attempts finish (up to ``timeout``), then stops every worker."""
        self._stopping = True
        tasks = [worker.task for worker in self._workers.values() if worker.task is not None]
        for worker in self._workers.values():
            worker.wake.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._workers.clear()

    def wake(self, session_id: str) -> None:
        """Makes the session's worker read its rows from storage and look at them now
        (starting it when needed): rows may have changed elsewhere (a restart, a fleet
        hand-over, a caller's transaction)."""
        worker = self._running(session_id)
        if worker is not None:
            worker.rows.invalidate()
            worker.dirty = True
            worker.wake.set()

    def _running(self, session_id: str) -> _Worker | None:
        """The session's worker, started when needed (None once stopping)."""
        if self._stopping:
            return None
        worker = self._workers.get(session_id)
        if worker is None or worker.task is None or worker.task.done():
            worker = _Worker()
            worker.task = asyncio.create_task(
                self._run(session_id, worker), name=f"wamd-outbox-{session_id}"
            )
            self._workers[session_id] = worker
        return worker

    def _arrived(
        self,
        row: OutboxRow,
        worker: _Worker | None,
        generation: int,
        hold: GroupHold | None = None,
    ) -> None:
        """Hands an accepted row to its session's worker, in memory: a committed one, or one
        whose commit ``hold`` keeps open for the attempt's first unit. ``worker`` and
        ``generation`` are what the accept saw before its transaction."""
        current = self._running(row.session_id)
        if current is None or current is not worker:
            if hold is not None:
                hold.release()
            self.wake(row.session_id)  # a worker started since: it reads the row itself
            return
        current.rows.arrived(row, generation)
        if hold is not None:
            current.holds[row.id] = hold
        current.dirty = True
        current.wake.set()

    @property
    def in_flight(self) -> int:
        """Attempts under way, all sessions together."""
        return sum(len(worker.flights) for worker in self._workers.values())

    # ------------------------------------------------------------------ accepting

    async def accept(
        self, session_id: str, request: SendRequest, idempotency_key: str | None
    ) -> Accepted:
        """Stores the send (``pending``) and returns it; the same key and request return the
        stored row. Raises IdempotencyConflict, InvalidSendRequest or NotFound (session)."""
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            raise InvalidSendRequest(
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
            )
        digest = request.digest()
        message_id = new_message_id(self._own_user(session_id) or "", self._clock())
        # In a caller's transaction (a campaign's dispatch) the row exists only once that
        # commits, and it may roll back: the worker then reads its rows (a wake-up is a hint).
        nested = self._stores.in_transaction
        worker = self._workers.get(session_id)
        generation = 0 if worker is None else worker.rows.generation
        new = NewOutboxRow(
            id=message_id,
            session_id=session_id,
            idempotency_key=idempotency_key,
            request_hash=digest,
            chat_jid=request.to,
            kind=request.kind.value,
            payload=request.payload(),
        )
        try:
            if nested:
                async with self._stores.transaction():
                    row = await self._store(new, request)
            else:
                async with self._stores.pipelined_transaction() as commit:
                    row = await self._store(new, request)
        except AlreadyExists:
            # The key was used before (or by a concurrent request that won the insert): a
            # new key, the common case, costs no read.
            if idempotency_key is None:
                raise
            existing = await self.repo.find_by_key(session_id, idempotency_key)
            if existing is None:
                raise
            return self._replay(existing, digest)
        # Debug, as is ``outbox.sent``: a line per message is a write to the log pipe per
        # message; metrics and the event log already count them. Warnings and errors stay.
        log.debug(
            "outbox.accepted",
            session=session_id,
            message=message_id,
            kind=request.kind.value,
            idempotent=idempotency_key is not None,
        )
        if nested:
            self._stores.after_commit(lambda: self.wake(session_id))
            return Accepted(row, replayed=False)
        if self._goes_at_once(worker, row, request):
            # The worker encrypts it now, and its ratchet step and ``sending`` would be the
            # next commit: the accept's commit waits for that unit (a few ms at most), so
            # the 202 and the message leave after one fsync rather than two in a row. The
            # worker's unit runs after this one, on the same connection: it sees the row, and
            # if this commit fails, that unit fails with it (or, in a later commit, finds no
            # open row to mark ``sending``) and nothing is sent.
            self._arrived(row, worker, generation, commit.hold_open())
            await commit.wait(ACCEPT_COMMIT_TIMEOUT_S)
        else:
            await commit.wait(ACCEPT_COMMIT_TIMEOUT_S)
            self._arrived(row, worker, generation)
        return Accepted(row, replayed=False)

    def _goes_at_once(self, worker: _Worker | None, row: OutboxRow, request: SendRequest) -> bool:
        """Whether the worker would start ``row`` at its next look: only then is the accept's
        commit worth keeping open for it (a wrong guess costs that commit a few ms)."""
        if worker is None or worker.offline:
            return False
        if request.kind in MEDIA_KINDS or len(worker.flights) >= self._config.max_in_flight:
            return False
        return self._wait_to_go(worker, row, self._clock()) <= 0 and not self._behind_in_chat(
            worker, row
        )

    async def _store(self, new: NewOutboxRow, request: SendRequest) -> OutboxRow:
        """The accepted row, and its message shown in its chat (in the caller's unit)."""
        row = await self.repo.insert(new)
        await self._show_queued(new.session_id, new.id, request)
        return row

    async def _show_queued(self, session_id: str, message_id: str, request: SendRequest) -> None:
        """The message's row in its chat, ``pending`` from the moment the send is accepted
        (the messenger fills in the rest when it goes out). Texts and replies only:
        reactions, edits and deletes change other messages, and media, locations and contact
        cards are built when they are sent, so those show once they go out."""
        user = self._own_user(session_id)
        if user is None or request.kind not in (MessageKind.TEXT, MessageKind.REPLY):
            return
        own = str(JID(user, Server.PN))
        at = datetime.fromtimestamp(self._clock(), UTC)
        stored = await self._messages.insert(
            session_id,
            MessageRecord(
                chat=request.to,
                message_id=message_id,
                sender=own,
                from_me=True,
                sent_at=at,
                content_type=ContentType.TEXT,
                status=MessageStatus.PENDING,
                text=request.text,
                quoted_id=request.quoted_id,
            ),
        )
        if stored is None:
            return
        kind = ChatKind.GROUP if JID.parse(request.to).is_group else ChatKind.USER
        chat = await self._chats.record_message(
            session_id,
            request.to,
            kind,
            message_id=message_id,
            sender=own,
            from_me=True,
            preview=stored_preview(stored),
            at=at,
        )
        await self._events.append(session_id, EventType.CHAT_UPDATED, {"chat": chat_json(chat)})

    @staticmethod
    def _replay(existing: OutboxRow, digest: bytes) -> Accepted:
        if existing.request_hash != digest:
            raise IdempotencyConflict(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        return Accepted(existing, replayed=True)

    async def pause_of(self, session_id: str) -> SendingPause | None:
        pause = await self.repo.pause_of(session_id)
        if pause is not None and pause.until.timestamp() <= self._clock():
            return None
        return pause

    async def resume(self, session_id: str) -> bool:
        resumed = await self.repo.resume(session_id)
        worker = self._workers.get(session_id)
        if worker is not None:
            worker.pause = None
        if resumed:
            log.info("outbox.resumed", session=session_id)
        self.wake(session_id)
        return resumed

    # ------------------------------------------------------------------ the worker

    async def _run(self, session_id: str, worker: _Worker) -> None:
        try:
            # The attempts belong to the worker: stopping it (or its crash) ends them too.
            worker.pause = await self.repo.pause_of(session_id)
            async with asyncio.TaskGroup() as attempts:
                await self._schedule(session_id, worker, attempts)
        except* StorageError as errors:
            log.error(
                "outbox.worker_storage_error", session=session_id, error=str(errors.exceptions[0])
            )
            self._restart_later(session_id)
        except* Exception as errors:
            log.error("outbox.worker_crashed", session=session_id, exc_info=errors.exceptions[0])
            self._restart_later(session_id)

    async def _schedule(
        self, session_id: str, worker: _Worker, attempts: asyncio.TaskGroup
    ) -> None:
        """Starts attempts while slots are free and rows may go; sleeps until woken (a new
        row, an attempt written or ended) or until the next row is due."""
        while not self._stopping:
            worker.wake.clear()  # before looking, so a wake-up during the look is kept
            wait = None
            if worker.dirty:
                worker.dirty = False
                try:
                    wait = await self._start_due(session_id, worker, attempts)
                finally:
                    worker.release_holds()  # rows this look did not start: commit now
            if wait is None and not worker.flights:
                if not await self._sleep(worker, IDLE_EXIT_S):
                    return
            elif (wait is None or wait > 0) and not await self._sleep(
                worker, IDLE_EXIT_S if wait is None else wait
            ):
                worker.dirty = True  # a row came due, a token, the connection: look again

    async def _start_due(
        self, session_id: str, worker: _Worker, attempts: asyncio.TaskGroup
    ) -> float | None:
        """Starts what may go now. Returns how long to wait before more may (0: look again at
        once), or None when nothing but a wake-up can change that."""
        limit = self._config.max_in_flight
        # Whatever this look leaves for later marks the worker dirty, so the next wake-up
        # (a slot freed, a message written) looks again.
        if len(worker.flights) >= limit:
            worker.dirty = True
            return None
        connected = self._sender.is_connected(session_id)
        if connected and worker.offline:
            worker.rows.invalidate()  # rows may have changed while the session was away
        worker.offline = not connected
        # At most one candidate per chat in flight is blocked by it: ``limit`` rows are enough.
        flying = list(worker.flights)

        async def held(count: int) -> list[OutboxRow]:
            self.reads += 1
            return await self.repo.open_rows(session_id, count)

        async def past_backlog() -> list[OutboxRow]:
            self.reads += 1
            return await self.repo.next_open_past(session_id, flying, limit, self._stores.now())

        rows = await worker.rows.look(held, past_backlog, flying, limit, self._stores.now)
        if len(rows) == limit:
            worker.dirty = True  # more may wait past the limit
        for row in rows:
            if row.status.has_gone_out:
                await self._outcomes.already_out(row)
                worker.rows.settled(row.id)
                worker.dirty = True
                return 0.0  # its chat's next message may go: look again now
            if len(worker.flights) >= limit:
                worker.dirty = True
                return None
            if self._behind_in_chat(worker, row):
                worker.dirty = True
                continue
            wait = await self._wait_needed(worker, row)
            if wait is None:
                worker.rows.settled(row.id)  # expired: failed
            if wait is not None and wait <= 0 and all(m in worker.flights for m in flying):
                # Its chat's next message (unseen: it was behind a row not yet in flight) may
                # go once this one is written or ends.
                self._start(worker, row, attempts)
                worker.dirty = True
                continue
            # Expired (and failed: what follows it in its chat may go), stale (an attempt
            # ended while we looked: it may be open again, ahead of this row in its chat) or
            # not yet due: look again now, or once it may go.
            worker.dirty = True
            return wait if wait is not None and wait > 0 else 0.0
        return None

    def _start(self, worker: _Worker, row: OutboxRow, attempts: asyncio.TaskGroup) -> None:
        self._buckets[row.session_id].take(self._clock())
        flight = _Flight(row, hold=worker.holds.pop(row.id, None))
        worker.flights[row.id] = flight
        attempts.create_task(self._attempt(worker, flight), name=f"wamd-send-{row.id}")

    def _behind_in_chat(self, worker: _Worker, row: OutboxRow) -> bool:
        """Whether an earlier message of the row's chat must get further first: onto the
        connection, or (without ``pipeline_within_chat``) to its ack."""
        return any(
            flight.row.chat_jid == row.chat_jid
            and not (flight.written and self._config.pipeline_within_chat)
            for flight in worker.flights.values()
        )

    def _restart_later(self, session_id: str) -> None:
        async def later() -> None:
            await asyncio.sleep(5.0)
            self._workers.pop(session_id, None)
            self.wake(session_id)

        if not self._stopping:
            self._workers[session_id] = _Worker(asyncio.create_task(later()))

    @staticmethod
    async def _sleep(worker: _Worker, seconds: float) -> bool:
        """Waits up to ``seconds`` or until woken; False when the wait timed out."""
        try:
            async with asyncio.timeout(seconds):
                await worker.wake.wait()
        except TimeoutError:
            return False
        return True

    async def _wait_needed(self, worker: _Worker, row: OutboxRow) -> float | None:
        """Seconds to wait before ``row`` may go (0: now); None when it expired (it is failed
        here)."""
        now = self._clock()
        age = now - row.created_at.timestamp()
        if age > self._config.max_age_s:
            await self._outcomes.fail(row, f"not sent within {self._config.max_age_s:g} s")
            return None
        return self._wait_to_go(worker, row, now)

    def _wait_to_go(self, worker: _Worker, row: OutboxRow, now: float) -> float:
        """Seconds before ``row`` may go (0: now), its age aside: the session's pause, the
        connection, the row's next attempt, the session's token bucket."""
        session_id = row.session_id
        pause = worker.pause
        if pause is not None and pause.until.timestamp() > now:
            return min(pause.until.timestamp() - now, IDLE_EXIT_S)
        if not self._sender.is_connected(session_id):
            return CONNECTION_POLL_S
        due = row.next_attempt_at.timestamp() - now
        if due > 0:
            return due
        bucket = self._buckets.setdefault(
            session_id, TokenBucket(self._config.rate_per_minute / 60.0, self._config.burst)
        )
        return bucket.wait_time(now)

    async def _attempt(self, worker: _Worker, flight: _Flight) -> None:
        """One attempt, as a task of the worker: it never raises (a sibling would be
        cancelled), and frees its slot when it ends."""
        row = flight.row

        def written() -> None:
            flight.written = True
            worker.wake.set()

        settled = False
        try:
            settled = await self._send(flight, written)
        except Exception:
            log.exception("outbox.attempt_crashed", session=row.session_id, message=row.id)
            # The row stays open and is tried again; not at once, if storage is failing.
            if not self._stopping:
                await asyncio.sleep(ATTEMPT_CRASH_PAUSE_S)
        finally:
            flight.release_hold()
            worker.flights.pop(row.id, None)
            if settled:
                worker.rows.settled(row.id)
            else:
                # The row is open again (a retry, a hold, a pause) with a new state, or
                # failed: read the rows again rather than follow every kind of failure.
                worker.rows.invalidate()
                worker.dirty = True
            worker.wake.set()

    async def _send(self, flight: _Flight, written: Callable[[], None]) -> bool:
        """One attempt; True when the message was sent (the row is settled)."""
        row = flight.row
        session_id = row.session_id
        staged = False

        async def stage() -> None:
            # ``sending`` is committed before the message leaves: with the sender's own commit
            # of the message (one commit for both), or on its own below. Inside that unit the
            # accept's commit, if it waits for us, may go: it will be this unit's.
            nonlocal staged
            flight.release_hold()
            if staged:
                return
            if not await self.repo.mark_sending(row.id):
                raise TransientSendError("the message is no longer open")
            staged = True

        recorded = False

        async def record_done() -> None:
            # In the sender's transaction that records the ack (the message row's ``sent`` and
            # its event) when it takes it: one commit for both.
            nonlocal recorded
            await self.repo.mark_done(row.id)
            recorded = True

        attempt = row.attempts + 1
        message = QueuedMessage(row.id, session_id, request_of(row), written, stage, record_done)
        started = time.perf_counter()
        try:
            await self._sender.send(message)
        except SendFailed as exc:
            if not staged:
                # Failed before the sender recorded the attempt: it still counts.
                await self.repo.mark_sending(row.id)
            if isinstance(exc, RestrictedError):
                pause = self._outcomes.pause_for(row, exc)
                worker = self._workers.get(row.session_id)
                if worker is not None:
                    worker.pause = pause  # before any await: no other row starts meanwhile
                await self._outcomes.restricted(row, exc, attempt, pause)
            elif isinstance(exc, HeldError):
                await self._outcomes.held(row, exc)
            else:
                await self._outcomes.retry_or_fail(row, exc, attempt)
            return False
        if not staged:
            await self.repo.mark_sending(row.id)
        self._on_sent(time.perf_counter() - started)
        # The sender recorded ``sent`` (and the server's time) in the message row, with its
        # event; the outbox records only that the request is done (with it, when it could).
        if not recorded:
            await self.repo.mark_done(row.id)
        discard_staged(row)
        log.debug("outbox.sent", session=session_id, message=row.id, attempt=attempt)
        return True


__all__ = [
    "MEDIA_KINDS",
    "Accepted",
    "HeldError",
    "IdempotencyConflict",
    "InvalidSendRequest",
    "MessageKind",
    "MessageSender",
    "Outbox",
    "PermanentSendError",
    "QueuedMessage",
    "RestrictedError",
    "SendFailed",
    "SendRequest",
    "SendingNotAllowed",
    "ServerAck",
    "TokenBucket",
    "TransientSendError",
    "describe",
    "normalize_chat",
    "parse_send_request",
    "request_of",
]
