from __future__ import annotations

import pytest

from daemon.client.backoff import Backoff
from daemon.client.disconnect import DisconnectAction, decide
from daemon.client.state import (
    TERMINAL_STATES,
    IllegalTransition,
    SessionState,
    Trigger,
    next_state,
    transition,
)


@pytest.mark.parametrize(
    ("code", "conflict", "action", "reconnects"),
    [
        (515, None, DisconnectAction.RECONNECT_NOW, True),
        (401, None, DisconnectAction.LOGGED_OUT, False),
        (None, "device_removed", DisconnectAction.LOGGED_OUT, False),
        (440, None, DisconnectAction.REPLACED, False),
        (None, "replaced", DisconnectAction.REPLACED, False),
        (405, None, DisconnectAction.OUTDATED, False),
        (403, None, DisconnectAction.BANNED, False),
        (500, None, DisconnectAction.BACK_OFF, True),
        (503, None, DisconnectAction.BACK_OFF, True),
        (None, None, DisconnectAction.BACK_OFF, True),
        (999, None, DisconnectAction.BACK_OFF, True),
    ],
)
def test_disconnect_table(
    code: int | None, conflict: str | None, action: DisconnectAction, reconnects: bool
) -> None:
    decision = decide(code, conflict)
    assert decision.action is action
    assert decision.reconnects is reconnects
    assert decision.reason


def test_every_decision_maps_to_a_legal_transition_from_connected() -> None:
    for code in (515, 401, 440, 405, 403, 500, None):
        decision = decide(code)
        nxt = next_state(SessionState.CONNECTED, decision.trigger)
        assert (nxt in TERMINAL_STATES) is (not decision.reconnects)


def test_happy_path_and_illegal_transition() -> None:
    state = SessionState.NEW
    for trig in (Trigger.START_PAIRING, Trigger.PAIRED_RESTART, Trigger.LOGGED_IN):
        state = next_state(state, trig)
    assert state is SessionState.CONNECTED
    step = transition(state, Trigger.CONNECTION_LOST, "socket closed", now=12.5)
    assert step.to_state is SessionState.BACKING_OFF
    assert step.at == 12.5
    with pytest.raises(IllegalTransition, match="'logged_out' on 'retry_due'"):
        next_state(SessionState.LOGGED_OUT, Trigger.RETRY_DUE)
    with pytest.raises(IllegalTransition):
        next_state(SessionState.NEW, Trigger.LOGGED_IN)


def test_backoff_grows_caps_and_resets_after_stable_connection() -> None:
    draws: list[tuple[float, float]] = []

    def upper(lo: float, hi: float) -> float:
        draws.append((lo, hi))
        return hi

    b = Backoff(uniform=upper)
    delays = [b.next_delay() for _ in range(12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(delays) == 300.0
    assert all(lo == 0.0 for lo, _ in draws)
    b.on_connected(now=100.0)
    b.on_disconnected(now=110.0)  # flapping: not stable, keep growing
    assert b.next_delay() == 300.0
    b.on_connected(now=200.0)
    b.on_disconnected(now=400.0)
    assert b.next_delay() == 1.0
