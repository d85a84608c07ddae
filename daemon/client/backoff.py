"""Exponential backoff with full jitter (base 1 s, cap 5 min), reset after a stable connection.

Pure: the caller passes ``now`` and a random source, and gets the next delay. Full jitter
(a uniform draw in [0, min(cap, base·2^attempt)]) spreads hundreds of sessions that lost the
same server at the same instant, instead of reconnecting them in lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

BASE_S = 1.0
CAP_S = 300.0
# A connection that stayed up this long counts as stable and resets the attempt counter.
STABLE_AFTER_S = 60.0


@dataclass(slots=True)
class Backoff:
    base: float = BASE_S
    cap: float = CAP_S
    stable_after: float = STABLE_AFTER_S
    uniform: Callable[[float, float], float] = field(default=random.uniform)
    attempt: int = 0
    connected_at: float | None = None

    def ceiling(self) -> float:
        return min(self.cap, self.base * (2.0 ** min(self.attempt, 30)))

    def next_delay(self) -> float:
        delay = self.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def on_connected(self, now: float) -> None:
        self.connected_at = now

    def on_disconnected(self, now: float) -> None:
        if self.connected_at is not None and now - self.connected_at >= self.stable_after:
            self.attempt = 0
        self.connected_at = None

    def reset(self) -> None:
        self.attempt = 0
        self.connected_at = None
