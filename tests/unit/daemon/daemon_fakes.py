"""Test doubles for the daemon's unit tests: a scripted client, a clock, a recording sender.

The fake client keeps the real client's contract that matters to the manager: its state moves
only through transitions it publishes as ``StateChanged`` (after the state is set), connect
results arrive as events, and liveness is evidence the test controls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daemon.client.disconnect import Decision, DisconnectAction
from daemon.client.errors import NotPaired
from daemon.client.events import (
    Connected,
    Disconnected,
    EventBus,
    QrCode,
    StateChanged,
    Subscription,
)
from daemon.client.keepalive import Liveness
from daemon.client.state import SessionState, Trigger
from daemon.config import (
    Config,
    ManagerConfig,
    OutboxConfig,
    RecoveryConfig,
    StorageConfig,
    WebhooksConfig,
)
from daemon.outbox import HeldError, QueuedMessage, SendFailed, ServerAck

DRAIN_S = 1.5
"""How long a ``drain`` or ``pongs`` connect keeps frames coming before it logs in (three
times ``fast_config``'s start-up attempt timeout)."""


class Clock:
    """Wall-clock seconds the test moves by hand (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeCredentials:
    pn_jid: str | None = "15550001111:3@s.whatsapp.net"
    lid_jid: str | None = "123456789:3@lid"
    is_paired: bool = True


class FakeDevice:
    """A scripted client. ``script`` lists what each ``connect()`` does: ``ok`` (logs in),
    ``fail`` (backs off with a 503), ``hang`` (stays connecting), ``banned`` (terminal),
    ``drain`` (reads stanzas for ``DRAIN_S``, then logs in), ``pongs`` (only answers to its
    pings arrive, for ``DRAIN_S``, then it logs in)."""

    def __init__(
        self, session_id: str, clock: Clock, *, paired: bool = True, script: list[str] | None = None
    ) -> None:
        self.session_id = session_id
        self._clock = clock
        self._bus = EventBus()
        self._state = SessionState.STOPPED if paired else SessionState.NEW
        self.credentials = FakeCredentials() if paired else None
        self.script = list(script or [])
        self.default = "ok"
        self.connect_times: list[float] = []
        self.disconnect_reasons: list[str] = []
        self.closed = False
        self.running_flag = False
        self.liveness_value = Liveness()
        self.pairs = 0
        self._busy: asyncio.Task[None] | None = None

    # the LinkedDevice protocol

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def running(self) -> bool:
        return self.running_flag

    @property
    def liveness(self) -> Liveness:
        return self.liveness_value

    def events(self) -> Subscription:
        return self._bus.subscribe()

    def _move(self, to: SessionState, trigger: Trigger, reason: str) -> None:
        before = self._state
        self._state = to
        self._bus.publish(StateChanged(self.session_id, before, to, trigger, reason, self._clock()))

    async def connect(self) -> None:
        if self.credentials is None:
            raise NotPaired("not paired")
        self.connect_times.append(time.monotonic())
        outcome = self.script.pop(0) if self.script else self.default
        self.running_flag = True
        self._move(SessionState.CONNECTING, Trigger.CONNECT, "connect requested")
        await asyncio.sleep(0)
        if outcome == "ok":
            now = self._clock()
            self.liveness_value = Liveness(connected_at=now, last_frame_in=now, last_pong=now)
            self._move(SessionState.CONNECTED, Trigger.LOGGED_IN, "logged in")
            self._bus.publish(Connected(self.session_id, self.credentials.pn_jid or "", None, now))
        elif outcome == "fail":
            decision = Decision(DisconnectAction.BACK_OFF, 503, "service unavailable")
            self._move(
                SessionState.BACKING_OFF, Trigger.CONNECTION_LOST, "503: service unavailable"
            )
            self._bus.publish(Disconnected(self.session_id, decision, 1.0))
        elif outcome in ("drain", "pongs"):
            self._busy = asyncio.create_task(self._trickle(stanzas=outcome == "drain"))
        elif outcome == "banned":
            decision = Decision(DisconnectAction.BANNED, 403, "account forbidden or banned")
            self._bus.publish(Disconnected(self.session_id, decision, None))
            self._move(SessionState.BANNED, Trigger.BANNED, "403: account forbidden or banned")
            self.running_flag = False

    async def _trickle(self, *, stanzas: bool) -> None:
        """Frames arrive every 0.1 s (the clock moves with them), then the login completes."""
        for _ in range(int(DRAIN_S / 0.1)):
            await asyncio.sleep(0.1)
            self._clock.advance(0.1)
            now = self._clock()
            self.liveness_value = Liveness(
                connected_at=self.liveness_value.connected_at or now,
                last_frame_in=now,
                last_stanza_in=now if stanzas else None,
            )
            if self._state is not SessionState.CONNECTING:
                return
        now = self._clock()
        self._move(SessionState.CONNECTED, Trigger.LOGGED_IN, "logged in")
        self._bus.publish(Connected(self.session_id, "", None, now))

    async def pair(self) -> None:
        self.pairs += 1
        self._move(SessionState.PAIRING, Trigger.START_PAIRING, "pairing by QR requested")
        self.running_flag = True
        self._bus.publish(QrCode(self.session_id, "qr-text-1", 0, self._clock() + 60.0))

    async def pair_with_code(self, phone: str, timeout: float | None = None) -> str:
        raise NotPaired("code pairing is not scripted")

    async def disconnect(self, reason: str = "disconnect requested") -> None:
        self.disconnect_reasons.append(reason)
        self.running_flag = False
        if self._state is not SessionState.STOPPED and not self._state.is_terminal:
            self._move(SessionState.STOPPED, Trigger.STOP, reason)

    async def logout(self) -> None:
        await self.disconnect("logout")
        self.credentials = None
        self._move(SessionState.LOGGED_OUT, Trigger.LOGGED_OUT, "logged out")

    async def close(self) -> None:
        await self.disconnect("session closed")
        self.closed = True
        self._bus.close()


class DeviceFactory:
    """The manager's opener over fake devices; tests pre-seed behaviour per session id."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.devices: dict[str, FakeDevice] = {}
        self.scripts: dict[str, list[str]] = {}
        self.unpaired: set[str] = set()

    async def __call__(self, session_id: str, name: str) -> FakeDevice:
        device = FakeDevice(
            session_id,
            self.clock,
            paired=session_id not in self.unpaired,
            script=self.scripts.get(session_id),
        )
        self.devices[session_id] = device
        return device


@dataclass
class RecordingSender:
    """The outbox's sender: records sends; ``failures`` are raised first, in order."""

    connected: bool = True
    failures: list[SendFailed] = field(default_factory=list)
    sent: list[QueuedMessage] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    delay: float = 0.0
    on_send: Callable[[QueuedMessage], None] | None = None

    def is_connected(self, session_id: str) -> bool:
        return self.connected

    async def send(self, message: QueuedMessage) -> ServerAck:
        self.attempts.append(message.id)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            failure = self.failures.pop(0)
            if not isinstance(failure, HeldError) and message.stage_attempt is not None:
                # As the client does: a hold is decided before the message is prepared, other
                # failures (no ack, a refusal) come after its commit.
                await message.stage_attempt()
            raise failure
        if message.stage_attempt is not None:
            await message.stage_attempt()
        if message.on_written is not None:
            message.on_written()
        self.sent.append(message)
        if self.on_send is not None:
            self.on_send(message)
        return ServerAck(server_timestamp=1_700_000_000)


def fast_config(tmp: Path, **changes: object) -> Config:
    """A config whose waits are tens of milliseconds."""
    manager = ManagerConfig(
        startup_connects_per_s=20.0,
        startup_burst=1,
        startup_jitter=0.0,
        startup_retry_delays_s=(0.05, 0.1, 0.2),
        startup_attempt_timeout_s=0.5,
        shutdown_timeout_s=2.0,
    )
    recovery = RecoveryConfig(
        check_interval_s=3600.0,
        dead_after_s=5.0,
        probe_after_s=60.0,
        probe_timeout_s=0.5,
        max_per_hour=3,
    )
    outbox = OutboxConfig(
        rate_per_minute=60_000.0,
        burst=1000,
        max_attempts=3,
        retry_base_s=0.01,
        retry_cap_s=0.05,
    )
    webhooks = WebhooksConfig(timeout_s=2.0, max_attempts=3, retry_base_s=0.02, retry_cap_s=0.1)
    base = Config(
        storage=StorageConfig(state_dir=str(tmp)),
        manager=manager,
        recovery=recovery,
        outbox=outbox,
        webhooks=webhooks,
    )
    import dataclasses

    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
