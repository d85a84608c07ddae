"""The connection state machine of one session, written as a table (h11 style).

``new → pairing → connecting → connected → backing_off → (logged_out | replaced | outdated |
banned | stopped)``, plus ``needs_attention`` when the stored auth state is missing or damaged
(identity is never re-created silently, so a person has to look). The table maps (state, event)
to the next state; anything not in the table is an illegal transition and raises
:class:`IllegalTransition` naming both. The async client
feeds events and persists every transition (with its reason and time) before acting on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SessionState(enum.Enum):
    NEW = "new"
    PAIRING = "pairing"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    OUTDATED = "outdated"
    BANNED = "banned"
    STOPPED = "stopped"
    NEEDS_ATTENTION = "needs_attention"
    PASSKEY_REQUIRED = "passkey_required"
    """The account demands a passkey to link a device; only the phone's owner can lift that."""

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {
        SessionState.LOGGED_OUT,
        SessionState.REPLACED,
        SessionState.OUTDATED,
        SessionState.BANNED,
        SessionState.NEEDS_ATTENTION,
        SessionState.PASSKEY_REQUIRED,
    }
)


class Trigger(enum.Enum):
    START_PAIRING = "start_pairing"
    CONNECT = "connect"
    LOGGED_IN = "logged_in"
    PAIRED_RESTART = "paired_restart"
    CONNECTION_LOST = "connection_lost"
    RETRY_DUE = "retry_due"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    OUTDATED = "outdated"
    BANNED = "banned"
    STOP = "stop"
    QR_EXPIRED = "qr_expired"
    AUTH_STATE_BROKEN = "auth_state_broken"
    PASSKEY_REQUIRED = "passkey_required"


S = SessionState
T = Trigger

TRANSITIONS: dict[tuple[SessionState, Trigger], SessionState] = {
    (S.NEW, T.START_PAIRING): S.PAIRING,
    (S.NEW, T.CONNECT): S.CONNECTING,
    (S.PAIRING, T.PAIRED_RESTART): S.CONNECTING,
    (S.PAIRING, T.CONNECTION_LOST): S.BACKING_OFF,
    (S.CONNECTING, T.LOGGED_IN): S.CONNECTED,
    (S.CONNECTING, T.CONNECTION_LOST): S.BACKING_OFF,
    (S.CONNECTED, T.CONNECTION_LOST): S.BACKING_OFF,
    # 515 after login (stream restart) reconnects at once without a backoff delay.
    (S.CONNECTED, T.PAIRED_RESTART): S.CONNECTING,
    (S.CONNECTING, T.PAIRED_RESTART): S.CONNECTING,
    (S.BACKING_OFF, T.RETRY_DUE): S.CONNECTING,
    (S.BACKING_OFF, T.START_PAIRING): S.PAIRING,
    (S.STOPPED, T.CONNECT): S.CONNECTING,
    (S.STOPPED, T.START_PAIRING): S.PAIRING,
    # A replaced session reconnects only when a person asks (no automatic loop).
    (S.REPLACED, T.CONNECT): S.CONNECTING,
    (S.OUTDATED, T.CONNECT): S.CONNECTING,
    (S.BANNED, T.CONNECT): S.CONNECTING,
    (S.NEEDS_ATTENTION, T.CONNECT): S.CONNECTING,
    # Every QR ref shown and none scanned: stop instead of asking for refs forever.
    (S.PAIRING, T.QR_EXPIRED): S.STOPPED,
    # Re-pairing is one explicit call away after a logout (a new identity, the old one retired).
    (S.LOGGED_OUT, T.START_PAIRING): S.PAIRING,
    (S.NEEDS_ATTENTION, T.START_PAIRING): S.PAIRING,
    # The service asked for a passkey while linking: a person acts on the phone, then pairs again.
    (S.PAIRING, T.PASSKEY_REQUIRED): S.PASSKEY_REQUIRED,
    (S.PASSKEY_REQUIRED, T.START_PAIRING): S.PAIRING,
}
for _state in (S.PAIRING, S.CONNECTING, S.CONNECTED, S.BACKING_OFF):
    TRANSITIONS[(_state, T.LOGGED_OUT)] = S.LOGGED_OUT
    TRANSITIONS[(_state, T.REPLACED)] = S.REPLACED
    TRANSITIONS[(_state, T.OUTDATED)] = S.OUTDATED
    TRANSITIONS[(_state, T.BANNED)] = S.BANNED
for _state in SessionState:
    if _state is not S.STOPPED:
        TRANSITIONS[(_state, T.STOP)] = S.STOPPED
    # A damaged or vanished auth state can be found whenever the session touches it.
    if _state not in (S.NEEDS_ATTENTION, S.LOGGED_OUT):
        TRANSITIONS[(_state, T.AUTH_STATE_BROKEN)] = S.NEEDS_ATTENTION
# An explicit logout is possible from wherever the session rests.
for _state in (
    S.NEW,
    S.STOPPED,
    S.REPLACED,
    S.OUTDATED,
    S.BANNED,
    S.NEEDS_ATTENTION,
    S.PASSKEY_REQUIRED,
):
    TRANSITIONS[(_state, T.LOGGED_OUT)] = S.LOGGED_OUT


class IllegalTransition(RuntimeError):
    def __init__(self, state: SessionState, trigger: Trigger) -> None:
        super().__init__(f"no transition from {state.value!r} on {trigger.value!r}")
        self.state = state
        self.trigger = trigger


@dataclass(frozen=True, slots=True)
class Transition:
    """One persisted step: what happened, why, and when (``at`` is unix seconds)."""

    from_state: SessionState
    to_state: SessionState
    trigger: Trigger
    reason: str
    at: float


def next_state(state: SessionState, trigger: Trigger) -> SessionState:
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransition(state, trigger) from None


def transition(state: SessionState, trigger: Trigger, reason: str, now: float) -> Transition:
    return Transition(state, next_state(state, trigger), trigger, reason, now)
