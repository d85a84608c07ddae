"""Retry delays for the daemon's own retries (outbox sends, webhook deliveries).

Full jitter over an exponential ceiling: many failures that start together (a receiver that was
down, a server hiccup for every session) spread out instead of retrying in lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def retry_delay(
    attempts: int,
    base: float,
    cap: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """The wait after ``attempts`` failed attempts: uniform in [0, min(cap, base·2^(n-1))],
    but never less than a tenth of ``base`` (a zero draw must not retry at once)."""
    ceiling = min(cap, base * (2.0 ** min(max(attempts - 1, 0), 30)))
    return max(base / 10.0, uniform(0.0, ceiling))
