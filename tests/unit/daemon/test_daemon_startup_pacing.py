"""The start-up pacer with a fake clock: in any window no more connects start than the rate
allows plus the burst, whatever the arrivals, login times, retries, jitter and late wake-ups;
never more than ``max_concurrent`` under way; a backlog runs at the full rate; a fleet's
shares add up to the rate; and the config (with the deprecated ``connect_stagger_s``) gives
the right rate."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.config import ManagerConfig
from daemon.startup_pacing import (
    NO_LIMIT,
    StartupPacer,
    StartupRate,
    StartupRateError,
    configured_rate,
    most_in_any_window,
)

EPS = 1e-9


@dataclass
class Run:
    starts: list[float] = field(default_factory=list)
    most_connecting: int = 0
    most_logging_in: int = 0


def simulate(
    rate: StartupRate,
    arrivals: list[float],
    *,
    seed: int,
    login_s: tuple[float, float] = (0.01, 0.5),
    fail_chance: float = 0.0,
    retry_s: float = 0.0,
    max_retries: int = 3,
    lateness_s: float = 0.0,
) -> Run:
    """A discrete-event run of the gate: each arrival queues a connect; the head starts when
    the pacer allows, waking up to ``lateness_s`` late (a busy event loop); a started connect
    finishes after a random login time, and a failed one queues again after ``retry_s`` (up
    to ``max_retries`` times)."""
    rng = random.Random(seed)
    pacer = StartupPacer(rate, uniform=rng.uniform)
    run = Run()
    # (time, order, kind, retries left): kinds are "ask", "wake" and "finish".
    events: list[tuple[float, int, str, int]] = []
    order = 0

    def push(at: float, kind: str, retries: int) -> None:
        nonlocal order
        heapq.heappush(events, (at, order, kind, retries))
        order += 1

    for at in arrivals:
        push(at, "ask", max_retries)
    queue: deque[int] = deque()
    logging_in: list[tuple[float, float]] = []

    def pump(now: float) -> None:
        while queue:
            at = pacer.next_start(now)
            if at is None:
                return  # a finish wakes the head
            if at > now:
                late = rng.uniform(0.0, lateness_s) if rng.random() < 0.3 else 0.0
                push(at + late, "wake", 0)
                return
            retries = queue.popleft()
            pacer.start(now)
            run.starts.append(now)
            run.most_connecting = max(run.most_connecting, pacer.connecting)
            finish = now + rng.uniform(*login_s)
            logging_in.append((now, finish))
            failed = rng.random() < fail_chance
            push(finish, "finish", retries - 1 if failed else -1)

    while events:
        now, _, kind, retries = heapq.heappop(events)
        if kind == "ask":
            queue.append(retries)
        elif kind == "finish":
            pacer.finished()
            if retries >= 0:
                push(now + retry_s, "ask", retries)
        pump(now)
    assert not queue and pacer.connecting == 0
    edges = sorted([(s, 1) for s, _ in logging_in] + [(f, -1) for _, f in logging_in])
    current = 0
    for _, step in edges:
        current += step
        run.most_logging_in = max(run.most_logging_in, current)
    return run


def drain(pacer: StartupPacer, now: float, count: int) -> list[float]:
    """Starts ``count`` connects as soon as each is allowed, from ``now``."""
    starts: list[float] = []
    while len(starts) < count:
        at = pacer.next_start(now)
        assert at is not None
        now = max(now, at)
        pacer.start(now)
        starts.append(now)
    return starts


rates = st.builds(
    StartupRate,
    connects_per_s=st.floats(min_value=0.2, max_value=200.0),
    burst=st.integers(min_value=1, max_value=20),
    max_concurrent=st.integers(min_value=1, max_value=64),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
arrival_lists = st.lists(st.floats(min_value=0.0, max_value=30.0), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(
    rate=rates,
    arrivals=arrival_lists,
    seed=st.integers(0, 2**32 - 1),
    lateness=st.sampled_from([0.0, 0.3, 5.0]),
)
def test_never_more_than_rate_plus_burst_in_any_window(
    rate: StartupRate, arrivals: list[float], seed: int, lateness: float
) -> None:
    run = simulate(rate, arrivals, seed=seed, fail_chance=0.3, retry_s=0.05, lateness_s=lateness)
    assert len(run.starts) >= len(arrivals)
    for window in (0.1, 1.0, 2.5, 10.0):
        assert most_in_any_window(run.starts, window) <= rate.max_starts_in(window)


@settings(max_examples=100, deadline=None)
@given(rate=rates, arrivals=arrival_lists, seed=st.integers(0, 2**32 - 1))
def test_never_more_than_max_concurrent_under_way(
    rate: StartupRate, arrivals: list[float], seed: int
) -> None:
    run = simulate(rate, arrivals, seed=seed, login_s=(0.0, 3.0), fail_chance=0.2)
    assert run.most_connecting <= rate.max_concurrent
    assert run.most_logging_in <= rate.max_concurrent


@pytest.mark.parametrize("seed", range(5))
def test_retries_without_delay_still_keep_the_rate(seed: int) -> None:
    # Every attempt fails and is retried at once: the retries queue at the same gate.
    rate = StartupRate(connects_per_s=10.0, burst=3, max_concurrent=50)
    run = simulate(rate, [0.0] * 40, seed=seed, fail_chance=1.0, retry_s=0.0, max_retries=3)
    assert len(run.starts) == 160
    assert most_in_any_window(run.starts, 1.0) <= 13


def test_a_backlog_starts_the_burst_at_once_then_one_interval_apart() -> None:
    rate = StartupRate(connects_per_s=4.0, burst=3, max_concurrent=1000)
    pacer = StartupPacer(rate, uniform=random.Random(0).uniform)
    assert drain(pacer, 10.0, 7) == [10.0, 10.0, 10.0, 10.25, 10.5, 10.75, 11.0]


def test_a_late_wake_up_starts_a_burst_at_most_then_the_rate() -> None:
    rate = StartupRate(connects_per_s=10.0, burst=2, max_concurrent=1000)
    pacer = StartupPacer(rate, uniform=random.Random(0).uniform)
    assert drain(pacer, 0.0, 4) == pytest.approx([0.0, 0.0, 0.1, 0.2])
    # The waiter for 0.3 wakes at 3.0: not the 28 starts that fell due meanwhile at once.
    assert drain(pacer, 3.0, 4) == pytest.approx([3.0, 3.0, 3.1, 3.2])


def test_an_idle_pacer_refills_its_burst() -> None:
    rate = StartupRate(connects_per_s=2.0, burst=2, max_concurrent=1000)
    pacer = StartupPacer(rate, uniform=random.Random(0).uniform)
    assert drain(pacer, 0.0, 3) == [0.0, 0.0, 0.5]
    # Long after: a new batch (sessions a fleet daemon adopts) gets its burst again, no more.
    assert drain(pacer, 100.0, 3) == [100.0, 100.0, 100.5]


@pytest.mark.parametrize("seed", range(3))
def test_jitter_within_the_burst_slack_costs_no_pace(seed: int) -> None:
    rate = StartupRate(connects_per_s=20.0, burst=5, max_concurrent=1000, jitter=1.0)
    run = simulate(rate, [0.0] * 500, seed=seed, login_s=(0.0, 0.0))
    # Unjittered, the last of 500 starts at (500 - 5) / 20 s; jitter adds at most one interval.
    assert max(run.starts) <= (500 - 5 + 1) / 20.0 + EPS
    assert len(set(run.starts)) >= 496  # the burst at once, then no two on the same instant
    assert most_in_any_window(run.starts, 1.0) <= 25


def test_jitter_with_a_burst_of_one_only_slows() -> None:
    rate = StartupRate(connects_per_s=10.0, burst=1, max_concurrent=1000, jitter=0.5)
    run = simulate(rate, [0.0] * 200, seed=3, login_s=(0.0, 0.0))
    gaps = [b - a for a, b in itertools.pairwise(run.starts)]
    assert min(gaps) >= 0.1 - EPS


def test_a_full_pacer_starts_again_after_a_finish() -> None:
    pacer = StartupPacer(
        StartupRate(connects_per_s=NO_LIMIT, max_concurrent=2), uniform=random.uniform
    )
    assert drain(pacer, 0.0, 2) == [0.0, 0.0]
    assert pacer.next_start(1.0) is None
    pacer.finished()
    assert pacer.next_start(1.0) == 1.0
    assert pacer.connecting == 1


def test_starting_early_or_finishing_what_never_started_is_a_bug() -> None:
    pacer = StartupPacer(StartupRate(connects_per_s=1.0), uniform=random.uniform)
    with pytest.raises(RuntimeError):
        pacer.finished()
    pacer.start(0.0)
    with pytest.raises(RuntimeError):
        pacer.start(0.5)  # the next one may start at 1.0


def test_retune_rescales_the_debt_ahead() -> None:
    pacer = StartupPacer(
        StartupRate(connects_per_s=1.0, max_concurrent=100), uniform=random.uniform
    )
    assert drain(pacer, 0.0, 2) == [0.0, 1.0]
    # One interval of the old rate is still ahead at 1.0: a quarter second at four a second.
    pacer.retune(StartupRate(connects_per_s=4.0, max_concurrent=100), now=1.0)
    assert drain(pacer, 1.0, 3) == [1.25, 1.5, 1.75]
    pacer.retune(StartupRate(connects_per_s=NO_LIMIT, max_concurrent=100), now=1.8)
    assert pacer.next_start(1.8) == 1.8
    pacer.start(1.8)
    pacer.retune(StartupRate(connects_per_s=2.0, max_concurrent=100), now=2.0)
    assert drain(pacer, 2.0, 2) == [2.0, 2.5]


@settings(max_examples=60, deadline=None)
@given(
    rate=rates,
    daemons=st.integers(min_value=1, max_value=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_fleet_of_shares_keeps_the_fleet_rate(rate: StartupRate, daemons: int, seed: int) -> None:
    share = rate.share(daemons)
    assert share.connects_per_s * daemons == pytest.approx(rate.connects_per_s)
    assert share.max_concurrent * daemons >= rate.max_concurrent
    starts: list[float] = []
    for index in range(daemons):
        starts += simulate(share, [0.0] * 60, seed=seed + index, login_s=(0.0, 0.2)).starts
    fleet_burst = share.burst * daemons
    assert fleet_burst <= rate.burst + daemons
    for window in (1.0, 5.0):
        bound = fleet_burst + math.floor(rate.connects_per_s * window + 1e-6)
        assert most_in_any_window(starts, window) <= bound


@pytest.mark.parametrize(
    "changes",
    [
        {"connects_per_s": 0.0},
        {"connects_per_s": -1.0},
        {"connects_per_s": math.nan},
        {"burst": 0},
        {"max_concurrent": 0},
        {"jitter": 1.5},
        {"jitter": -0.1},
    ],
)
def test_a_rate_that_cannot_pace_is_refused(changes: dict[str, float]) -> None:
    values: dict[str, float] = {"connects_per_s": 1.0, **changes}
    with pytest.raises(StartupRateError):
        StartupRate(**values)  # type: ignore[arg-type]


def test_shares_of_fewer_than_one_daemon_and_bounds_of_no_limit_are_refused() -> None:
    with pytest.raises(StartupRateError):
        StartupRate(connects_per_s=1.0).share(0)
    with pytest.raises(StartupRateError):
        StartupRate(connects_per_s=NO_LIMIT).max_starts_in(1.0)


def test_most_in_any_window_counts_closed_windows() -> None:
    assert most_in_any_window([], 1.0) == 0
    assert most_in_any_window([0.0, 0.4, 1.0, 2.5], 1.0) == 3  # closed: 0.0 and 1.0 both count
    assert most_in_any_window([0.0, 1.0, 2.0, 2.5], 1.0) == 2
    assert most_in_any_window([5.0, 0.0, 0.5, 0.45], 0.5) == 3  # unordered input


def test_the_configured_rate() -> None:
    assert configured_rate(ManagerConfig()) == StartupRate(
        connects_per_s=20.0, burst=5, max_concurrent=32, jitter=0.5
    )
    custom = ManagerConfig(
        startup_connects_per_s=3.0, startup_burst=2, startup_max_concurrent=4, startup_jitter=0
    )
    assert configured_rate(custom) == StartupRate(3.0, burst=2, max_concurrent=4, jitter=0.0)


def test_the_deprecated_stagger_is_the_old_fixed_spacing() -> None:
    old = configured_rate(ManagerConfig(connect_stagger_s=2.0, startup_burst=9))
    assert old == StartupRate(connects_per_s=0.5, burst=1, max_concurrent=32, jitter=0.0)
    assert drain(StartupPacer(old, uniform=random.uniform), 0.0, 3) == [0.0, 2.0, 4.0]
    assert configured_rate(ManagerConfig(connect_stagger_s=0.0)).connects_per_s == NO_LIMIT
