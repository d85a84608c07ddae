"""The campaign pacer with a fake clock: the per-minute bound holds on the wire whatever the
outbox does (stalls, bursts after a reconnect, slow acks), dispatches are spread evenly, jitter
only slows, the daily window is respected in its time zone, and a restart resumes the pace."""

from __future__ import annotations

import itertools
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import pytest

from daemon.campaigns.pacing import MINUTE_S, Pacer, window_open_at
from storage.campaign_values import DailyWindow, Pacing


def max_in_any_minute(times: list[float]) -> int:
    ordered = sorted(times)
    return max(
        (bisect_left(ordered, t + MINUTE_S) - i for i, t in enumerate(ordered)),
        default=0,
    )


@dataclass
class FifoOutbox:
    """Sends in order; sometimes stalls (a disconnect) so that a backlog goes out at once."""

    rng: random.Random
    stall_chance: float
    queue: list[tuple[float, float]] = field(default_factory=list)
    """(wire time, settle time) of messages not yet settled."""
    wire: list[float] = field(default_factory=list)
    last_wire: float = 0.0

    def take(self, now: float) -> None:
        delay = self.rng.uniform(0.0, 0.05)
        if self.rng.random() < self.stall_chance:
            delay += self.rng.uniform(5.0, 90.0)
        wire = max(self.last_wire, now + delay)
        self.last_wire = wire
        self.wire.append(wire)
        self.queue.append((wire, wire + self.rng.uniform(0.0, 2.0)))

    def settle_until(self, now: float, pacer: Pacer) -> None:
        for item in [q for q in self.queue if q[1] <= now]:
            self.queue.remove(item)
            pacer.settled(item[1])


def run(pacing: Pacing, seed: int, seconds: float, stall_chance: float) -> list[float]:
    rng = random.Random(seed)
    pacer = Pacer(pacing, next_due=0.0, uniform=rng.uniform)
    outbox = FifoOutbox(rng, stall_chance)
    now = 0.0
    while now < seconds:
        outbox.settle_until(now, pacer)
        allowance = pacer.allowance(now)
        for _ in range(allowance.count):
            outbox.take(now)
        pacer.dispatched(allowance.count, now)
        now += rng.choice([0.001, 0.01, 0.3, 2.0])
    return outbox.wire


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rate", [1, 7, 60, 600, 6000])
def test_never_more_than_the_rate_in_any_minute_on_the_wire(seed: int, rate: int) -> None:
    wire = run(Pacing(rate), seed, seconds=400.0, stall_chance=0.02)
    assert wire, "something was sent"
    assert max_in_any_minute(wire) <= rate


@pytest.mark.parametrize("seed", range(4))
def test_the_bound_holds_with_jitter_and_without_stalls(seed: int) -> None:
    wire = run(Pacing(30, jitter_s=1.5), seed, seconds=300.0, stall_chance=0.0)
    assert max_in_any_minute(wire) <= 30


def test_dispatches_are_spread_evenly() -> None:
    pacer = Pacer(Pacing(60), next_due=100.0, uniform=lambda a, b: a)
    assert pacer.allowance(99.0).count == 0
    assert pacer.allowance(99.0).retry_at == 100.0
    times = []
    now = 100.0
    while now < 110.0:
        allowance = pacer.allowance(now)
        times += [now] * allowance.count
        pacer.dispatched(allowance.count, now)
        for _ in range(allowance.count):
            pacer.settled(now)
        now += 0.01
    assert len(times) == 10
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(1.0, abs=0.011)


def test_a_late_loop_catches_up_a_little_never_a_burst() -> None:
    pacer = Pacer(Pacing(6000), next_due=0.0, uniform=lambda a, b: a)
    # One dispatch per 0.1 s loop at an interval of 0.01 s: ten at a time.
    first = pacer.allowance(0.0)
    assert first.count == 1
    pacer.dispatched(1, 0.0)
    assert pacer.allowance(0.1).count == 10
    # After a long stop (paused, disconnected) only CATCH_UP_S worth goes at once, and
    # then the pace is the rate again.
    pacer.dispatched(10, 0.1)
    assert pacer.allowance(500.0).count == 26
    pacer.dispatched(26, 500.0)
    assert pacer.allowance(500.0).count == 0
    assert pacer.allowance(500.0).retry_at == pytest.approx(500.01)
    assert pacer.allowance(500.05).count == 5


def test_in_flight_messages_hold_their_place_until_they_settle() -> None:
    pacer = Pacer(Pacing(3), next_due=0.0, uniform=lambda a, b: a)
    for now in (0.0, 20.0, 40.0):
        assert pacer.allowance(now).count == 1
        pacer.dispatched(1, now)
    # Three in flight: nothing more until one settles, however long it takes.
    blocked = pacer.allowance(300.0)
    assert blocked.count == 0 and blocked.retry_at is None
    pacer.settled(301.0)
    assert pacer.allowance(301.0).count == 0
    assert pacer.allowance(301.0).retry_at == 361.0
    assert pacer.allowance(361.0).count == 1


def test_a_restart_resumes_from_the_stored_evidence() -> None:
    # Two settled in the last minute and one still queued, at a rate of 3: nothing may go
    # until the older settle leaves the minute.
    pacer = Pacer(
        Pacing(3), next_due=50.0, in_flight=1, settled=[30.0, 45.0], uniform=lambda a, b: a
    )
    assert pacer.allowance(60.0).count == 0
    assert pacer.allowance(60.0).retry_at == 90.0
    assert pacer.allowance(90.0).count == 1


def test_jitter_only_ever_delays() -> None:
    draws = iter([0.0, 3.0, 1.5])
    pacer = Pacer(Pacing(60, jitter_s=3.0), next_due=0.0, uniform=lambda a, b: next(draws))
    pacer.dispatched(1, 0.0)
    assert pacer.next_due == 1.0
    pacer.dispatched(1, 1.0)
    assert pacer.next_due == 5.0
    pacer.dispatched(1, 5.0)
    assert pacer.next_due == 7.5
    assert pacer.allowance(10.0).count == 1  # jitter sends one at a time


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


BERLIN = DailyWindow(time(9, 0), time(18, 0), "Europe/Berlin")
NIGHT = DailyWindow(time(22, 0), time(6, 0), "America/New_York")


@pytest.mark.parametrize(
    ("window", "now", "opens"),
    [
        (BERLIN, "2026-12-07T07:59:00+00:00", "2026-12-07T08:00:00+00:00"),
        (BERLIN, "2026-12-07T08:30:00+00:00", "2026-12-07T08:30:00+00:00"),
        (BERLIN, "2026-12-07T17:00:00+00:00", "2026-12-08T08:00:00+00:00"),
        # Summer time: 09:00 in Berlin is 07:00 UTC.
        (BERLIN, "2026-07-01T06:00:00+00:00", "2026-07-01T07:00:00+00:00"),
        # Across midnight: open late evening and early morning in New York (UTC-5).
        (NIGHT, "2026-12-07T04:00:00+00:00", "2026-12-07T04:00:00+00:00"),
        (NIGHT, "2026-12-07T10:59:00+00:00", "2026-12-07T10:59:00+00:00"),
        (NIGHT, "2026-12-07T11:00:00+00:00", "2026-12-08T03:00:00+00:00"),
        (NIGHT, "2026-12-08T03:00:00+00:00", "2026-12-08T03:00:00+00:00"),
    ],
)
def test_the_daily_window_in_its_time_zone(window: DailyWindow, now: str, opens: str) -> None:
    assert window_open_at(window, ts(now)) == ts(opens)


def test_outside_the_window_the_pacer_waits_for_it() -> None:
    start = ts("2026-12-07T17:30:00+00:00")  # 18:30 in Berlin
    pacer = Pacer(Pacing(60, window=BERLIN), next_due=start, uniform=lambda a, b: a)
    allowance = pacer.allowance(start)
    assert allowance.count == 0
    assert allowance.retry_at == ts("2026-12-08T08:00:00+00:00")
    assert pacer.allowance(ts("2026-12-08T08:00:00+00:00")).count == 1
    assert datetime.fromtimestamp(allowance.retry_at or 0, UTC).hour == 8
