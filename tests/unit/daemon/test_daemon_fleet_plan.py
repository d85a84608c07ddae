"""The fleet's share plan: a pure function, checked by simulating whole fleets round by round."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.fleet.plan import plan_share

SESSIONS = [f"s{i:03d}" for i in range(30)]


def simulate(
    nodes: list[str],
    sessions: list[str],
    owners: dict[str, str],
    rounds: int,
    *,
    seed: int = 0,
    slack: int = 1,
    handoffs: int = 2,
) -> tuple[dict[str, str], int]:
    """Runs rounds where each node, in a shuffled order, follows its plan (acquisition wins
    only over an unowned session, as the lease upsert does); returns the owners and the
    largest number of sessions that moved in one round."""
    rng = random.Random(seed)
    owners = dict(owners)
    most_moved = 0
    for _ in range(rounds):
        moved = 0
        for node in rng.sample(nodes, len(nodes)):
            plan = plan_share(node, nodes, sessions, owners, slack=slack, max_handoffs=handoffs)
            for session in plan.hand_back:
                assert owners.pop(session) == node
                moved += 1
            for session in plan.take:
                if session not in owners:
                    owners[session] = node
        most_moved = max(most_moved, moved)
    return owners, most_moved


def counts(owners: dict[str, str], nodes: list[str]) -> list[int]:
    return [sum(1 for owner in owners.values() if owner == node) for node in nodes]


def test_a_fresh_fleet_owns_every_session_within_its_share() -> None:
    nodes = ["a", "b", "c"]
    owners, _ = simulate(nodes, SESSIONS, {}, rounds=3)
    assert set(owners) == set(SESSIONS)
    assert all(9 <= n <= 11 for n in counts(owners, nodes))


def test_a_dead_daemons_sessions_go_to_the_survivors() -> None:
    owners, _ = simulate(["a", "b"], SESSIONS, {}, rounds=2)
    survivors = {s: o for s, o in owners.items() if o != "b"}  # b's leases expired
    owners, _ = simulate(["a", "c"], SESSIONS, survivors, rounds=2)
    assert set(owners) == set(SESSIONS)
    assert set(owners.values()) == {"a", "c"}


def test_a_returning_daemon_takes_its_share_back_a_few_at_a_time() -> None:
    everything = dict.fromkeys(SESSIONS, "a")
    owners, most_moved = simulate(["a", "b"], SESSIONS, everything, rounds=12, handoffs=2)
    assert set(owners) == set(SESSIONS)
    assert counts(owners, ["a", "b"]) == [15, 15]
    assert most_moved <= 2


def test_nobody_hands_back_without_someone_to_take_it() -> None:
    owners = dict.fromkeys(SESSIONS, "a")
    plan = plan_share("a", ["a"], SESSIONS, owners)
    assert plan.share == 30 and plan.hand_back == () and plan.take == ()


def test_sessions_no_one_should_own_are_ignored() -> None:
    plan = plan_share("a", ["a", "b"], ["s1", "s2"], {"gone": "a", "s1": "b"})
    assert plan.share == 1
    assert plan.take == ("s2",)


@settings(max_examples=60, deadline=None)
@given(
    n_nodes=st.integers(min_value=1, max_value=5),
    n_sessions=st.integers(min_value=0, max_value=60),
    seed=st.integers(min_value=0, max_value=10_000),
    slack=st.integers(min_value=0, max_value=2),
)
def test_any_fleet_settles_with_every_session_owned_and_fair(
    n_nodes: int, n_sessions: int, seed: int, slack: int
) -> None:
    nodes = [f"n{i}" for i in range(n_nodes)]
    sessions = [f"s{i:03d}" for i in range(n_sessions)]
    rng = random.Random(seed)
    start = {s: rng.choice(nodes) for s in sessions if rng.random() < 0.5}
    owners, most_moved = simulate(nodes, sessions, start, rounds=40, seed=seed, slack=slack)
    assert set(owners) == set(sessions)
    share = -(-n_sessions // n_nodes)
    assert max(counts(owners, nodes), default=0) <= share
    assert most_moved <= 2 * n_nodes
