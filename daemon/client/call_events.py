"""What incoming calls tell the world (a linked device never takes a call; it sees it ring)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallOffered:
    """Someone is calling this account (every linked device of it rings)."""

    session_id: str
    call_id: str
    caller: str
    """The caller's account JID (as the stanza named it)."""
    at: float
    """Unix seconds of the offer (the server's clock)."""
    video: bool
    group: str | None
    """The group of a group call."""
    auto_rejected: bool
    """``calls.auto_reject`` declined it at once (a CallEnded follows)."""


@dataclass(frozen=True, slots=True)
class CallEnded:
    session_id: str
    call_id: str
    caller: str
    at: float
    reason: str
    """``rejected`` (by us), ``rejected_elsewhere`` (another of our devices declined),
    ``accepted_elsewhere``, or the caller's terminate reason (``timeout``, ...)."""


CallEvent = CallOffered | CallEnded
