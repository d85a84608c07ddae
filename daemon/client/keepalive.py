"""Keepalive: a ping every 20–30 s (random), and a socket that misses one answer is dead.

:class:`Keepalive` is pure (time is passed in): it says when the next ping is due, when the
outstanding one times out, and keeps the liveness evidence — the last frame in and the last
answered ping. The connection's driver only sleeps until :meth:`Keepalive.next_deadline` and
reports what happened. A missed answer is not retried: a socket that cannot answer a ping within
10 s is treated as gone, closed and replaced (the "connected but deaf" failure otherwise).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from daemon.binary import Node
from daemon.client.iq import build_iq

INTERVAL_MIN_S = 20.0
INTERVAL_MAX_S = 30.0
ANSWER_TIMEOUT_S = 10.0


def build_ping() -> Node:
    """``iq xmlns=w:p type=get`` with no child (whatsmeow's form; Baileys adds ``<ping/>``)."""
    return build_iq("w:p", "get")


@dataclass(frozen=True, slots=True)
class Liveness:
    """Evidence that a connection is alive (unix seconds; None = never)."""

    connected_at: float | None = None
    last_frame_in: float | None = None
    last_pong: float | None = None
    last_ping_rtt: float | None = None
    last_stanza_in: float | None = None
    """The last frame that was not an answer to our own iq (a pong is not the server's news)."""


@dataclass(slots=True)
class Keepalive:
    interval_min: float = INTERVAL_MIN_S
    interval_max: float = INTERVAL_MAX_S
    answer_timeout: float = ANSWER_TIMEOUT_S
    uniform: Callable[[float, float], float] = field(default=random.uniform)
    next_ping_at: float = 0.0
    ping_sent_at: float | None = None
    connected_at: float | None = None
    last_frame_in: float | None = None
    last_pong: float | None = None
    last_rtt: float | None = None
    last_stanza_in: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.interval_min <= self.interval_max:
            raise ValueError("keepalive needs 0 < interval_min <= interval_max")
        if self.answer_timeout <= 0:
            raise ValueError("keepalive answer timeout must be positive")

    def start(self, now: float) -> None:
        self.connected_at = now
        self.ping_sent_at = None
        self._schedule(now)

    def _schedule(self, now: float) -> None:
        self.next_ping_at = now + self.uniform(self.interval_min, self.interval_max)

    def on_frame(self, now: float) -> None:
        self.last_frame_in = now

    def on_stanza(self, now: float) -> None:
        """A frame that is the server's own (a stanza, not an answer to our iq)."""
        self.last_stanza_in = now

    def ping_due(self, now: float) -> bool:
        return self.ping_sent_at is None and now >= self.next_ping_at

    def on_ping_sent(self, now: float) -> float:
        """Records the ping; returns the instant its answer is overdue."""
        self.ping_sent_at = now
        return now + self.answer_timeout

    def on_pong(self, now: float) -> None:
        if self.ping_sent_at is not None:
            self.last_rtt = now - self.ping_sent_at
        self.last_pong = now
        self.ping_sent_at = None
        self._schedule(now)

    def on_probe_answer(self, sent_at: float, now: float) -> None:
        """An extra ping (a status check) was answered: it is evidence like a keepalive
        answer, but it leaves the keepalive's own schedule alone."""
        self.last_rtt = now - sent_at
        self.last_pong = now

    def is_dead(self, now: float) -> bool:
        return self.ping_sent_at is not None and now >= self.ping_sent_at + self.answer_timeout

    def next_deadline(self) -> float:
        """When the driver must wake: the answer deadline while a ping is out, else the ping."""
        if self.ping_sent_at is not None:
            return self.ping_sent_at + self.answer_timeout
        return self.next_ping_at

    def liveness(self) -> Liveness:
        return Liveness(
            self.connected_at,
            self.last_frame_in,
            self.last_pong,
            self.last_rtt,
            self.last_stanza_in,
        )
