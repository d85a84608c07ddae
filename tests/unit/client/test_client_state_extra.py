"""The transitions this issue added to the state table."""

from __future__ import annotations

import pytest

from daemon.client.disconnect import Decision, DisconnectAction
from daemon.client.state import (
    IllegalTransition,
    SessionState,
    Trigger,
    next_state,
)
from storage.values import SessionStatus

S = SessionState
T = Trigger


def test_every_client_state_is_a_storage_status() -> None:
    for state in SessionState:
        assert SessionStatus(state.value).value == state.value


@pytest.mark.parametrize(
    "state", [S.NEW, S.PAIRING, S.CONNECTING, S.CONNECTED, S.BACKING_OFF, S.STOPPED, S.REPLACED]
)
def test_a_broken_auth_state_needs_attention_from_anywhere(state: SessionState) -> None:
    assert next_state(state, T.AUTH_STATE_BROKEN) is S.NEEDS_ATTENTION
    assert S.NEEDS_ATTENTION.is_terminal


def test_qr_expiry_stops_pairing_only() -> None:
    assert next_state(S.PAIRING, T.QR_EXPIRED) is S.STOPPED
    with pytest.raises(IllegalTransition):
        next_state(S.CONNECTED, T.QR_EXPIRED)
    expired = Decision(DisconnectAction.QR_EXPIRED, None, "no scan")
    assert expired.trigger is T.QR_EXPIRED and not expired.reconnects


def test_logout_and_repair_paths() -> None:
    for state in (S.NEW, S.STOPPED, S.REPLACED, S.OUTDATED, S.BANNED, S.NEEDS_ATTENTION):
        assert next_state(state, T.LOGGED_OUT) is S.LOGGED_OUT
    assert next_state(S.LOGGED_OUT, T.START_PAIRING) is S.PAIRING
    with pytest.raises(IllegalTransition):
        next_state(S.LOGGED_OUT, T.CONNECT)
    with pytest.raises(IllegalTransition):
        next_state(S.LOGGED_OUT, T.AUTH_STATE_BROKEN)
