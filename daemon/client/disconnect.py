"""What to do when a connection ends: one table from stream-error / failure code to an action.

WhatsApp ends connections with ``<stream:error code=…>`` (or a ``<conflict type=…>`` child) and
refuses logins with ``<failure reason=…>``. Each code maps to exactly one action; the client logs
the code, the reason and the decision, and the manager never second-guesses the table.

==============================  ===============  ==========================================
code / condition                action           what the session does
==============================  ===============  ==========================================
515 (restart required)          reconnect_now    dials again at once (after pairing: logs in)
401, 406, conflict              logged_out       retires the identity (kept, never reused),
device_removed, 411                              stops; alert
440, conflict replaced          replaced         stops; no automatic reconnect loop; alert
405, 409                        outdated         stops; alert naming the refused version
403, 402                        banned           stops; alert
500, 503, 408, 428, unknown,    back_off         full-jitter backoff (base 1 s, cap 5 min),
network error, dead keepalive                    reset after a stable connection
QR refs exhausted (local)       qr_expired       stops pairing (no endless QR requests)
passkey_prologue_request        passkey_required stops pairing; alert (the phone's owner acts)
==============================  ===============  ==========================================

Three immediate restarts in a row without a login in between are treated as ``back_off``
(a server that answers every connection with 515 must not get a reconnect storm).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from daemon.client.state import Trigger


class DisconnectAction(enum.Enum):
    RECONNECT_NOW = "reconnect_now"
    BACK_OFF = "back_off"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    OUTDATED = "outdated"
    BANNED = "banned"
    # Not a server verdict: every QR ref (or the pair code's window) ran out unscanned.
    QR_EXPIRED = "qr_expired"
    # Not a code either: the service wants a passkey (WebAuthn) to link this device.
    PASSKEY_REQUIRED = "passkey_required"


class StreamCode(enum.IntEnum):
    LOGGED_OUT = 401
    BANNED = 403
    CONNECTION_LOST = 408
    MULTIDEVICE_MISMATCH = 411
    CONNECTION_CLOSED = 428
    REPLACED = 440
    CLIENT_OUTDATED = 405
    BAD_SESSION = 500
    SERVICE_UNAVAILABLE = 503
    RESTART_REQUIRED = 515


@dataclass(frozen=True, slots=True)
class Decision:
    action: DisconnectAction
    code: int | None
    reason: str

    @property
    def trigger(self) -> Trigger:
        return _TRIGGERS[self.action]

    @property
    def reconnects(self) -> bool:
        return self.action in (DisconnectAction.RECONNECT_NOW, DisconnectAction.BACK_OFF)


_TRIGGERS = {
    DisconnectAction.RECONNECT_NOW: Trigger.PAIRED_RESTART,
    DisconnectAction.BACK_OFF: Trigger.CONNECTION_LOST,
    DisconnectAction.LOGGED_OUT: Trigger.LOGGED_OUT,
    DisconnectAction.REPLACED: Trigger.REPLACED,
    DisconnectAction.OUTDATED: Trigger.OUTDATED,
    DisconnectAction.BANNED: Trigger.BANNED,
    DisconnectAction.QR_EXPIRED: Trigger.QR_EXPIRED,
    DisconnectAction.PASSKEY_REQUIRED: Trigger.PASSKEY_REQUIRED,
}

# The table the docs show. Codes not listed (500, 503, 408, 428, network errors, timeouts and
# anything unknown) back off with full jitter: retrying is safe, storming is not.
POLICY: dict[int, tuple[DisconnectAction, str]] = {
    515: (DisconnectAction.RECONNECT_NOW, "stream restart required (after pairing or by server)"),
    401: (DisconnectAction.LOGGED_OUT, "device removed or logged out; credentials retired"),
    # 411 means the primary and this companion disagree about multi-device: re-pair needed.
    411: (DisconnectAction.LOGGED_OUT, "multi-device mismatch; re-pairing needed"),
    440: (DisconnectAction.REPLACED, "another connection replaced this one"),
    405: (DisconnectAction.OUTDATED, "client version outdated; update client_version"),
    403: (DisconnectAction.BANNED, "account forbidden or banned"),
    # <failure reason=…> codes (whatsmeow ConnectFailureReason): 402 is a temporary ban, 406 an
    # unexplained logout, 409 a user agent the server rejects (retrying the same one is futile).
    402: (DisconnectAction.BANNED, "account temporarily banned"),
    406: (DisconnectAction.LOGGED_OUT, "logged out by the server (unknown reason)"),
    409: (DisconnectAction.OUTDATED, "user agent rejected; check client_version"),
    500: (DisconnectAction.BACK_OFF, "server bad session"),
    503: (DisconnectAction.BACK_OFF, "service unavailable"),
    408: (DisconnectAction.BACK_OFF, "connection lost"),
    428: (DisconnectAction.BACK_OFF, "connection closed"),
}


def decide(code: int | None, conflict: str | None = None, detail: str = "") -> Decision:
    """Classifies an ended connection. ``code`` is the stream-error code or failure reason,
    ``conflict`` the type of a ``<conflict>`` child (``replaced`` or ``device_removed``)."""
    if conflict == "replaced":
        return Decision(DisconnectAction.REPLACED, code or 440, "conflict: replaced")
    if conflict == "device_removed":
        return Decision(DisconnectAction.LOGGED_OUT, code or 401, "conflict: device removed")
    if code is not None and code in POLICY:
        action, reason = POLICY[code]
        return Decision(action, code, reason)
    reason = detail or ("network error or timeout" if code is None else f"unknown code {code}")
    return Decision(DisconnectAction.BACK_OFF, code, reason)
