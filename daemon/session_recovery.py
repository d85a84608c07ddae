"""Recovery: checking each connected session against evidence, and reconnecting dead ones.

Every ``check_interval_s`` each session whose client says *connected* is checked: no frame for
``dead_after_s`` (or a client that is no longer running) means the socket is dead and the
session is reconnected; no inbound message for ``probe_after_s`` earns a ping probe, and a
probe that fails reconnects it. At most ``max_per_hour`` automatic recoveries per session in a
sliding hour; the next one puts the session in ``needs_attention`` and leaves it for a person.
Every decision is logged and recorded as a ``session.recovery`` event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from daemon.client.errors import ClientError
from daemon.client.state import SessionState
from daemon.config import Config
from daemon.event_format import EventType
from daemon.linked_device import Prober
from daemon.session_handle import SessionHandle
from daemon.session_records import SessionRecorder
from storage.errors import StorageError
from storage.values import SessionStatus

log = structlog.get_logger("daemon.manager")


class Recovery:
    def __init__(
        self,
        config: Config,
        recorder: SessionRecorder,
        prober: Prober,
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._recorder = recorder
        self._probe = prober
        self._clock = clock
        self._started: dict[str, int] = {}

    def started(self, session_id: str) -> int:
        """Automatic recoveries of the session since this process started."""
        return self._started.get(session_id, 0)

    async def loop(self, handles: Mapping[str, SessionHandle]) -> None:
        interval = self._config.recovery.check_interval_s
        while True:
            await asyncio.sleep(interval)
            for session_id in list(handles):
                handle = handles.get(session_id)
                if handle is None or handle.recovering:
                    continue
                try:
                    await self.check_liveness(session_id, handle)
                except (ClientError, StorageError) as exc:
                    log.warning("manager.recovery_check_failed", session=session_id, error=str(exc))

    def socket_alive(self, handle: SessionHandle, now: float | None = None) -> bool:
        """Evidence, not a flag: a running client, connected, with a recent frame."""
        client = handle.client
        if client.state is not SessionState.CONNECTED or not client.running:
            return False
        liveness = client.liveness
        last = liveness.last_frame_in or liveness.connected_at
        if last is None:
            return False
        at = self._clock() if now is None else now
        return at - last <= self._config.recovery.dead_after_s

    async def check_liveness(self, session_id: str, handle: SessionHandle) -> None:
        """One recovery check of one session (see the module docstring)."""
        client = handle.client
        if client.state is not SessionState.CONNECTED:
            return
        now = self._clock()
        settings = self._config.recovery
        if not self.socket_alive(handle, now):
            liveness = client.liveness
            last = liveness.last_frame_in or liveness.connected_at
            if not client.running:
                reason = "client not running while its status says connected"
            elif last is None:
                reason = "no frame ever received on this socket"
            else:
                reason = f"no frame received for {now - last:.1f} s"
            await self.recover(session_id, handle, reason)
            return
        quiet_since = max(
            handle.last_inbound_message_at or 0.0,
            client.liveness.connected_at or 0.0,
            handle.last_probe_at,
        )
        if now - quiet_since < settings.probe_after_s:
            return
        handle.last_probe_at = now
        try:
            rtt = await self._probe(client, settings.probe_timeout_s)
        except (ClientError, TimeoutError, ConnectionError) as exc:
            await self.recover(
                session_id,
                handle,
                f"probe after {now - quiet_since:.0f} s without inbound messages failed: {exc}",
            )
            return
        log.info("manager.probe_ok", session=session_id, rtt_ms=round(rtt * 1000, 1))
        await self._recorder.record_check(session_id)

    async def recover(self, session_id: str, handle: SessionHandle, reason: str) -> None:
        async with handle.lock:
            if handle.client.state is not SessionState.CONNECTED:
                return  # the client moved on by itself meanwhile
            handle.recovering = True
            try:
                await self._recover_locked(session_id, handle, reason)
            finally:
                handle.recovering = False

    async def _recover_locked(self, session_id: str, handle: SessionHandle, reason: str) -> None:
        now = self._clock()
        limit = self._config.recovery.max_per_hour
        handle.forget_old_recoveries(now)
        record = self._recorder
        if len(handle.recoveries) >= limit:
            message = (
                f"automatic recovery limit reached ({limit} in the last hour); "
                f"waiting for a person: {reason}"
            )
            log.error("manager.recovery_limit", session=session_id, reason=reason, limit=limit)
            await record.append(
                session_id,
                EventType.RECOVERY,
                {
                    "action": "needs_attention",
                    "reason": reason,
                    "recoveriesLastHour": len(handle.recoveries),
                },
            )
            await handle.client.disconnect(f"recovery limit reached: {reason}")
            await record.mark(
                session_id, handle, SessionStatus.NEEDS_ATTENTION, message, error=reason
            )
            await record.append(
                session_id, EventType.ALERT, {"kind": "needs_attention", "message": message}
            )
            return
        handle.recoveries.append(now)
        attempt = len(handle.recoveries)
        self._started[session_id] = self._started.get(session_id, 0) + 1
        log.warning("manager.recovering", session=session_id, reason=reason, attempt=attempt)
        await record.append(
            session_id,
            EventType.RECOVERY,
            {"action": "reconnect", "reason": reason, "recoveriesLastHour": attempt},
        )
        await handle.client.disconnect(f"recovery: {reason}")
        await handle.client.connect()


__all__ = ["Recovery"]
