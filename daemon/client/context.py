"""What every handler of one session shares: its id, storage, settings, events, credentials.

:class:`ClientOptions` holds the timings. Their defaults are the real protocol's; tests pass
shorter ones (every wait in the client is one of these, so a test never sleeps for real minutes).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from daemon.client import backoff, keepalive, qr
from daemon.client.events import Event, EventBus
from daemon.client.prekeys import PreKeyManager
from daemon.config import WhatsAppConfig
from storage.interfaces import AuthStore
from storage.values import DeviceCredentials

# How the phone lists a code-paired device ("Browser (OS)", as WhatsApp Web sends it).
PLATFORM_DISPLAY = "Chrome (Linux)"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    qr_first_ttl: float = qr.FIRST_REF_TTL_S
    qr_later_ttl: float = qr.LATER_REF_TTL_S
    keepalive_min: float = keepalive.INTERVAL_MIN_S
    keepalive_max: float = keepalive.INTERVAL_MAX_S
    keepalive_timeout: float = keepalive.ANSWER_TIMEOUT_S
    backoff_base: float = backoff.BASE_S
    backoff_cap: float = backoff.CAP_S
    stable_after: float = backoff.STABLE_AFTER_S
    iq_timeout: float | None = None
    """Seconds an iq waits for its answer; None takes ``WhatsAppConfig.iq_timeout_s``."""
    qr_platform_id: str = qr.PLATFORM_CHROME
    platform_display: str = PLATFORM_DISPLAY
    uniform: Callable[[float, float], float] = field(default=random.uniform)
    """The random source of keepalive intervals and backoff jitter."""
    auto_reject_calls: bool = False
    """Decline every incoming call at once (``calls.auto_reject``, ``daemon.client.calls``)."""


@dataclass(slots=True)
class ClientCounters:
    """Running totals of one session's client since the process started (for metrics)."""

    frames_in: int = 0
    frames_out: int = 0
    decrypt_failures: int = 0
    """Messages that did not decrypt on an attempt (each retry that fails counts)."""
    undecryptable: int = 0
    """Messages given up on after every retry."""
    retry_receipts_sent: int = 0
    retry_receipts_received: int = 0
    persist_observer: Callable[[float], None] | None = None
    """Told how long each incoming message took from its stanza to its commit (seconds)."""

    def observe_persist(self, seconds: float) -> None:
        if self.persist_observer is not None:
            self.persist_observer(seconds)


@dataclass(slots=True)
class SessionContext:
    session_id: str
    store: AuthStore
    config: WhatsAppConfig
    options: ClientOptions
    bus: EventBus
    log: structlog.typing.FilteringBoundLogger
    prekeys: PreKeyManager
    credentials: DeviceCredentials | None = None
    clock: Callable[[], float] = time.time
    counters: ClientCounters = field(default_factory=ClientCounters)

    def now(self) -> float:
        return self.clock()

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    @property
    def iq_timeout(self) -> float:
        if self.options.iq_timeout is not None:
            return self.options.iq_timeout
        return self.config.iq_timeout_s

    def require_credentials(self) -> DeviceCredentials:
        if self.credentials is None:
            raise RuntimeError(f"session {self.session_id!r} has no credentials loaded")
        return self.credentials
