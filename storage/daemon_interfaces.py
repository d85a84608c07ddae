"""The daemon's own stores: the outbox, the event log, webhooks and API keys.

The same rules as :mod:`storage.interfaces` hold: every method is atomic, joins the caller's
``transaction()`` when there is one, and lets only :mod:`storage.errors` exceptions out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from storage.api_key_values import ApiKeyRow
from storage.event_values import NewEvent, StoredEvent
from storage.outbox_values import NewOutboxRow, OutboxRow, OutboxStatus, SendingPause
from storage.webhook_values import Delivery, DeliveryJob, DeliveryStatus, DispatchStep, Webhook


class OutboxRepo(Protocol):
    """Sends as rows (with the caller's idempotency key), their attempts and the request's
    outcome, and per-session sending pauses. A row read back carries the status shown for it:
    the message row's once the message has gone out (the message row is the one truth of a
    sent message's lifecycle), else the request's."""

    async def insert(self, row: NewOutboxRow) -> OutboxRow:
        """Store a new send, due now. Raises AlreadyExists when the session already has the
        idempotency key (or the id), NotFound when the session does not exist."""
        ...

    async def get(self, session_id: str, message_id: str) -> OutboxRow | None: ...

    async def get_by_id(self, message_id: str) -> OutboxRow | None: ...

    async def find_by_key(self, session_id: str, idempotency_key: str) -> OutboxRow | None: ...

    async def next_open(self, session_id: str, now: datetime | None = None) -> OutboxRow | None:
        """The row to send next: the oldest due one among each chat's oldest open row, else
        the one due first (``now`` defaults to the backend's clock)."""
        ...

    async def next_open_past(
        self, session_id: str, in_flight: Sequence[str], limit: int, now: datetime | None = None
    ) -> list[OutboxRow]:
        """Up to ``limit`` rows that may go next while the rows ``in_flight`` are being sent,
        best first (the order of ``next_open``): none of those, and none behind a chat's open
        row that is not in flight."""
        ...

    async def open_rows(self, session_id: str, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` of the session's open rows, in order of acceptance."""
        ...

    async def sessions_with_open_rows(self) -> list[str]: ...

    async def page(
        self,
        session_id: str,
        *,
        status: OutboxStatus | None = None,
        before_id: str | None = None,
        limit: int = 20,
    ) -> list[OutboxRow]:
        """Newest first; ``before_id`` continues after that row."""
        ...

    async def counts(self, session_id: str) -> dict[OutboxStatus, int]: ...

    async def mark_sending(self, message_id: str) -> bool:
        """Record that an attempt starts now (committed before the send goes out)."""
        ...

    async def mark_done(self, message_id: str) -> bool:
        """The server took the message: the request is done. Its lifecycle (``sent`` with the
        server's time, then receipts) is the message row's, written by the client."""
        ...

    async def reschedule(self, message_id: str, next_attempt_at: datetime, error: str) -> bool: ...

    async def mark_failed(self, message_id: str, reason: str) -> bool: ...

    async def requeue_interrupted(self, session_id: str | None = None) -> int:
        """Rows a previous process left in ``sending`` go back to pending (only
        ``session_id``'s when given: a session taken over from another daemon of a fleet).
        Those whose message row says it went out are not uncertain; the others are counted in
        ``uncertain_sends`` (whether the server got them is unknown) and in the number
        returned."""
        ...

    async def pause(self, session_id: str, until: datetime, reason: str) -> None: ...

    async def pause_of(self, session_id: str) -> SendingPause | None: ...

    async def resume(self, session_id: str) -> bool: ...


class EventLogRepo(Protocol):
    """The append-only event log, its per-session sequence numbers and named cursors."""

    async def append(
        self, session_id: str, event_type: str, data: dict[str, Any], event_id: str
    ) -> StoredEvent:
        """Append one event with the session's next sequence number (inside the caller's
        transaction when there is one, so an event commits with what it reports)."""
        ...

    async def append_many(self, session_id: str, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append ``events`` in order with the session's next sequence numbers, like
        :meth:`append` each (one write of the counter, the rows not read back); returns them
        as stored, each with the appender's ``data`` object."""
        ...

    async def read_session(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        types: frozenset[str] | None = None,
    ) -> list[StoredEvent]:
        """The session's events after ``after_seq``, oldest first (optionally of ``types``)."""
        ...

    async def latest_recoveries(self, session_id: str, limit: int) -> list[StoredEvent]:
        """The session's newest ``session.recovery`` events, newest first."""
        ...

    async def read_all(self, *, after_position: int = 0, limit: int = 500) -> list[StoredEvent]: ...

    async def get(self, event_id: str) -> StoredEvent | None: ...

    async def last_seq(self, session_id: str) -> int: ...

    async def last_position(self) -> int: ...

    async def cursor(self, name: str) -> int | None: ...

    async def set_cursor(self, name: str, position: int) -> None: ...

    async def dispatch_horizon(self, name: str) -> int:
        """How far the webhook dispatcher with cursor ``name`` is done: its cursor, or the end
        of the log while no webhook is enabled (the dispatcher then idles)."""
        ...

    async def prune(self, older_than: datetime, *, up_to_position: int) -> int:
        """Delete events older than ``older_than`` at or before ``up_to_position`` that no
        pending webhook delivery needs; returns how many."""
        ...


class WebhookRepo(Protocol):
    """Webhook subscriptions and their deliveries (pending, delivered, dead)."""

    async def create(
        self,
        webhook_id: str,
        *,
        session_id: str | None,
        url: str,
        secret: str,
        events: frozenset[str],
        enabled: bool = True,
        api_key_id: str | None = None,
    ) -> Webhook:
        """``api_key_id``: made with that session key; it gets the key's chats."""
        ...

    async def upsert_global(
        self, webhook_id: str, *, url: str, secret: str, events: frozenset[str]
    ) -> Webhook:
        """Create or update a global webhook under a fixed id (the one from the config)."""
        ...

    async def get(self, webhook_id: str) -> Webhook | None: ...

    async def list_all(self) -> list[Webhook]: ...

    async def list_global(self) -> list[Webhook]: ...

    async def list_for_session(self, session_id: str) -> list[Webhook]: ...

    async def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        secret: str | None = None,
        events: frozenset[str] | None = None,
        enabled: bool | None = None,
    ) -> Webhook: ...

    async def delete(self, webhook_id: str) -> bool: ...

    async def has_listeners(self) -> bool:
        """Whether an enabled webhook exists (the dispatcher reads nothing while none does;
        the write that enables the first one moves the dispatch cursor to the end of the
        log, so it starts from the events after it)."""
        ...

    async def park(self, webhook_id: str, reason: str) -> bool:
        """Disables the webhook with ``reason`` (False: it was not enabled, or is gone)."""
        ...

    async def dispatch(
        self,
        cursor_name: str,
        select: Callable[[StoredEvent, Sequence[Webhook]], Sequence[Webhook]],
        *,
        unusable: Callable[[Webhook], str | None] = lambda _webhook: None,
        batch: int = 500,
    ) -> DispatchStep:
        """One dispatch step, atomically: read the events after the cursor, create a pending
        delivery for each webhook ``select`` picks, move the cursor. Repeating a step never
        delivers an event twice. A webhook whose row cannot be read, or that ``unusable``
        gives a reason against, is parked in the same transaction and gets nothing."""
        ...

    async def claim_due(
        self, now: datetime, until: datetime, *, limit: int = 50
    ) -> list[DeliveryJob]:
        """Due deliveries of enabled webhooks, oldest first, each claimed until ``until``: no
        other claim (another daemon's) gets it before then, unless its outcome is recorded
        first (which replaces the claim). A crash lets the claim expire."""
        ...

    async def next_due_at(self) -> datetime | None: ...

    async def mark_delivered(self, delivery_id: int, status_code: int) -> bool: ...

    async def reschedule(
        self,
        delivery_id: int,
        next_attempt_at: datetime,
        status_code: int | None,
        error: str,
    ) -> bool: ...

    async def mark_dead(self, delivery_id: int, status_code: int | None, error: str) -> bool: ...

    async def deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[Delivery]: ...

    async def replay(self, webhook_id: str, delivery_ids: Sequence[int] | None = None) -> int:
        """Dead deliveries back to pending, due now, attempts reset; returns how many."""
        ...

    async def delivery_counts(self, webhook_id: str) -> dict[DeliveryStatus, int]: ...

    async def pending_count(self) -> int: ...


class ApiKeyRepo(Protocol):
    """Per-session API keys (only a hash of each secret is stored)."""

    async def create(
        self,
        key_id: str,
        session_id: str,
        secret_hash: bytes,
        label: str = "",
        *,
        chats: tuple[str, ...] | None = None,
        can_send: bool = True,
        created_by: str = "admin",
    ) -> ApiKeyRow: ...

    async def get(self, key_id: str) -> ApiKeyRow | None: ...

    async def list_for_session(self, session_id: str) -> list[ApiKeyRow]: ...

    async def update(
        self,
        session_id: str,
        key_id: str,
        *,
        label: str | None = None,
        set_chats: bool = False,
        chats: tuple[str, ...] | None = None,
        can_send: bool | None = None,
    ) -> ApiKeyRow:
        """Changes the label, the chats (when ``set_chats``; None lifts the restriction) or
        the right to send; the key's webhooks follow its chats in the same transaction."""
        ...

    async def delete(self, session_id: str, key_id: str) -> bool: ...
