"""Connecting a session when the daemon starts: an attempt, and the retry schedule around it.

Every attempt (the first, each retry, and the connect that hands over to the client's backoff)
waits for its turn at the :class:`~daemon.startup_gate.StartupGate`, so start-up and its
retries together never start connects faster than the configured rate.

An attempt fails when the client backs off, or when nothing happens within
``startup_attempt_timeout_s`` (a window every stanza from the server starts again: draining an
offline backlog is progress); a failed attempt is stopped and retried after each of
``startup_retry_delays_s``. When those are used up the session is recorded as
``disconnected`` and handed to the client's own backoff. A terminal answer (logged out,
banned, outdated...) ends the schedule at once: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from enum import Enum

import structlog

from daemon.client.errors import ClientError, NotPaired
from daemon.client.events import Connected, Disconnected, StateChanged
from daemon.client.state import SessionState
from daemon.config import Config
from daemon.linked_device import LinkedDevice
from daemon.session_handle import SessionHandle
from daemon.session_records import SessionRecorder
from daemon.startup_gate import StartupGate
from storage.values import SessionStatus

log = structlog.get_logger("daemon.manager")


class StartupOutcome(Enum):
    CONNECTED = "connected"
    FAILED = "failed"
    TERMINAL = "terminal"


class Progress:
    """The deadline of one start-up attempt: ``timeout`` seconds, pushed back by every stanza
    the server sends (answers to our own pings do not count: a server that answers pings but
    never logs us in is not making progress), so only a stalled attempt runs out."""

    def __init__(self, client: LinkedDevice, clock: Callable[[], float], timeout: float) -> None:
        self._client = client
        self._clock = clock
        self._timeout = timeout
        self._deadline = clock() + timeout

    def remaining(self) -> float:
        return max(0.0, self._deadline - self._clock())

    def advanced(self) -> bool:
        """True (and the deadline moved) when a stanza arrived since the deadline was set."""
        last = self._client.liveness.last_stanza_in
        if last is None or last + self._timeout <= self._deadline:
            return False
        self._deadline = last + self._timeout
        return True


async def attempt_connect(
    client: LinkedDevice, timeout: float, clock: Callable[[], float]
) -> tuple[StartupOutcome, str]:
    """One start-up attempt: its outcome, and why it failed."""
    with client.events() as events:
        try:
            await client.connect()
        except NotPaired as exc:
            return StartupOutcome.TERMINAL, str(exc)
        except ClientError as exc:
            return StartupOutcome.TERMINAL, str(exc)
        if client.state is SessionState.CONNECTED:
            return StartupOutcome.CONNECTED, ""
        reason = f"not connected within {timeout:g} s"
        # Stanzas arriving are progress (a login draining hundreds of offline messages is
        # not a failed connect): the attempt fails only after ``timeout`` without one.
        progress = Progress(client, clock, timeout)
        while True:
            try:
                event = await events.next(progress.remaining())
            except TimeoutError:
                if progress.advanced():
                    continue
                return StartupOutcome.FAILED, reason
            except StopAsyncIteration:
                return StartupOutcome.FAILED, reason
            if isinstance(event, Connected):
                return StartupOutcome.CONNECTED, ""
            if isinstance(event, Disconnected):
                reason = event.decision.reason
                if event.decision.code is not None:
                    reason = f"{event.decision.code}: {reason}"
            if isinstance(event, StateChanged):
                if event.to_state is SessionState.BACKING_OFF:
                    return StartupOutcome.FAILED, event.reason or reason
                if event.to_state.is_terminal:
                    return StartupOutcome.TERMINAL, event.reason
                if event.to_state is SessionState.STOPPED:
                    return StartupOutcome.TERMINAL, event.reason


async def connect_at_startup(
    session_id: str,
    gate: StartupGate,
    handle_of: Callable[[str], SessionHandle | None],
    config: Config,
    recorder: SessionRecorder,
    clock: Callable[[], float],
) -> None:
    """Runs the attempts of the schedule, each paced by ``gate``; a session deleted meanwhile
    is left alone."""
    delays = config.manager.startup_retry_delays_s
    last_error = ""
    for attempt in range(len(delays) + 1):
        if attempt:
            wait = delays[attempt - 1]
            log.info(
                "manager.startup_retry_scheduled",
                session=session_id,
                attempt=attempt + 1,
                delay=wait,
                error=last_error,
            )
            await asyncio.sleep(wait)
        async with gate.slot():
            handle = handle_of(session_id)
            if handle is None:
                return
            async with handle.lock:
                if not attempt:
                    # A ``disconnected`` left by the previous run must not hide this start-up's
                    # attempts.
                    handle.override = None
                outcome, detail = await attempt_connect(
                    handle.client, config.manager.startup_attempt_timeout_s, clock
                )
                if outcome is StartupOutcome.CONNECTED:
                    log.info("manager.startup_connected", session=session_id, attempt=attempt + 1)
                    return
                if outcome is StartupOutcome.TERMINAL:
                    log.warning("manager.startup_stopped", session=session_id, reason=detail)
                    return
                last_error = detail
                log.warning(
                    "manager.startup_attempt_failed",
                    session=session_id,
                    attempt=attempt + 1,
                    error=detail,
                )
                await handle.client.disconnect(f"start-up attempt {attempt + 1} failed: {detail}")
    async with gate.slot():
        handle = handle_of(session_id)
        if handle is None:
            return
        async with handle.lock:
            await recorder.mark(
                session_id,
                handle,
                SessionStatus.DISCONNECTED,
                f"start-up connect failed {len(delays) + 1} times; client backoff takes over",
                error=last_error,
            )
            # From here on the client's own backoff policy retries (full jitter, capped).
            with contextlib.suppress(ClientError):
                await handle.client.connect()


__all__ = ["Progress", "StartupOutcome", "attempt_connect", "connect_at_startup"]
