"""What an outbox attempt that did not end in the server's ack leaves behind.

A retryable failure is scheduled again after a full-jitter backoff until the attempts run out;
a server restriction pauses the session's sending (with an alert) and keeps the row; a hold
(a new chat refused for now) retries when it ends; anything else fails the row, its message
row and reports it. A row whose message the server already took (a previous process recorded
the ack and died before the outbox's ``done``) is done without sending it again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta

import structlog

from daemon.config import OutboxConfig
from daemon.event_format import EventType, iso_utc
from daemon.eventlog import EventLog
from daemon.message_sender import HeldError, RestrictedError, SendFailed
from daemon.outbox_rows import discard_staged
from daemon.retry import retry_delay
from storage.outbox_values import OutboxRow, OutboxStatus, SendingPause
from storage.stores import Stores

log = structlog.get_logger("daemon.outbox")

HELD_RETRY_S = 60.0
"""How long a held message waits when the restriction named no end."""


class AttemptOutcomes:
    """Records the end of attempts that did not go out, for the outbox's workers."""

    def __init__(
        self,
        stores: Stores,
        events: EventLog,
        config: OutboxConfig,
        *,
        clock: Callable[[], float] = time.time,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._stores = stores
        self._events = events
        self._config = config
        self._clock = clock
        self._uniform = uniform
        self._outbox = stores.outbox
        self._messages = stores.messages.messages

    async def already_out(self, row: OutboxRow) -> None:
        """The message row says the server took the message (a previous process recorded the
        ack, then died before the outbox's ``done``): done, without sending it again."""
        if await self._outbox.mark_done(row.id):
            discard_staged(row)
            log.info("outbox.already_sent", session=row.session_id, message=row.id)

    async def retry_or_fail(self, row: OutboxRow, exc: SendFailed, attempt: int) -> None:
        """Scheduled again after a backoff, or failed: not retryable, or out of attempts."""
        reason = str(exc) or type(exc).__name__
        if not exc.retryable:
            await self.fail(row, reason)
            return
        if attempt >= self._config.max_attempts:
            await self.fail(row, f"gave up after {attempt} attempts: {reason}")
            return
        delay = retry_delay(
            attempt, self._config.retry_base_s, self._config.retry_cap_s, self._uniform
        )
        when = self._stores.now() + timedelta(seconds=delay)
        await self._outbox.reschedule(row.id, when, reason)
        log.info(
            "outbox.retry_scheduled",
            session=row.session_id,
            message=row.id,
            attempt=attempt,
            delay=round(delay, 3),
            error=reason,
        )

    def pause_for(self, row: OutboxRow, exc: RestrictedError) -> SendingPause:
        """The pause of the session's sending that ``exc`` calls for."""
        until = self._stores.now() + timedelta(seconds=self._config.restriction_pause_s)
        reason = f"server restriction {exc.code}: {exc}" if exc.code else f"restriction: {exc}"
        return SendingPause(row.session_id, until, reason)

    async def restricted(
        self, row: OutboxRow, exc: RestrictedError, attempt: int, pause: SendingPause
    ) -> None:
        """``pause`` recorded with an alert, and the row due again once sending resumes."""
        until, reason = pause.until, pause.reason
        async with self._stores.transaction():
            await self._outbox.pause(row.session_id, until, reason)
            await self._outbox.reschedule(row.id, self._stores.now(), reason)
            await self._events.append(
                row.session_id,
                EventType.ALERT,
                {
                    "kind": "sending_paused",
                    "message": f"{reason}; sending paused until {iso_utc(until)}",
                    "code": exc.code,
                    "until": iso_utc(until),
                },
            )
        log.error(
            "outbox.sending_paused",
            session=row.session_id,
            code=exc.code,
            until=iso_utc(until),
            attempt=attempt,
        )

    async def held(self, row: OutboxRow, exc: HeldError) -> None:
        """Due again when the hold ends (or after ``HELD_RETRY_S`` when it named no end)."""
        now = self._clock()
        until = exc.until if exc.until is not None and exc.until > now else now + HELD_RETRY_S
        when = self._stores.now() + timedelta(seconds=until - now)
        reason = f"held: {exc}"
        await self._outbox.reschedule(row.id, when, reason)
        log.warning("outbox.held", session=row.session_id, message=row.id, until=iso_utc(when))

    async def fail(self, row: OutboxRow, reason: str) -> None:
        """Failed for good: the row, its message row and a ``message.updated`` event."""
        discard_staged(row)
        async with self._stores.transaction():
            if await self._outbox.mark_failed(row.id, reason):
                await self._messages.fail_own(row.session_id, row.id)
                await self._events.append(
                    row.session_id,
                    EventType.MESSAGE_UPDATED,
                    {
                        "id": row.id,
                        "chat": row.chat_jid,
                        "status": OutboxStatus.FAILED.value,
                        "error": reason,
                    },
                )
        log.warning("outbox.failed", session=row.session_id, message=row.id, reason=reason)


__all__ = ["HELD_RETRY_S", "AttemptOutcomes"]
