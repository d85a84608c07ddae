"""What the outbox asks of the messaging layer: a :class:`MessageSender` puts one queued
message on the wire and answers with the server's ack, or raises a :class:`SendFailed` that
says whether another attempt can help."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from daemon.send_request import SendRequest


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One message for the sender to put on the wire."""

    id: str
    session_id: str
    request: SendRequest
    on_written: Callable[[], None] | None = None
    """Called once the message is written to the connection (before its ack), so the outbox
    may start the chat's next message; a sender that never calls it keeps the chat waiting for
    the ack instead."""
    stage_attempt: Callable[[], Awaitable[None]] | None = None
    """The outbox's record of this attempt (``sending``): the sender awaits it inside the
    transaction that commits the message before it is written (or on its own before sending,
    when it has none), so one commit carries both. A sender that never awaits it leaves the
    outbox to record the attempt on its own afterwards."""
    record_done: Callable[[], Awaitable[None]] | None = None
    """The outbox's record that the request is done (the server took the message): the sender
    awaits it inside the transaction that records the ack, so one commit carries both. A
    sender that never awaits it leaves the outbox to record it on its own after ``send``."""


@dataclass(frozen=True, slots=True)
class ServerAck:
    server_timestamp: int | None
    """The server's timestamp from its ack (unix seconds), when it gave one."""


class SendFailed(Exception):
    """Base of what a sender raises; ``retryable`` says whether another attempt can help."""

    retryable = True


class TransientSendError(SendFailed):
    """Not connected, a timeout, a server error: try again later."""


class PermanentSendError(SendFailed):
    """The server or the sender refused this message for good (bad recipient, too large)."""

    retryable = False


class RestrictedError(SendFailed):
    """The server signals the account is rate-limited or restricted (429, 463...)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code


class HeldError(SendFailed):
    """A restriction covers this message (a new chat during a reachout time-lock or message
    cap): it waits until ``until`` (unix seconds) while other chats keep flowing."""

    def __init__(self, until: float | None, message: str) -> None:
        super().__init__(message)
        self.until = until


class MessageSender(Protocol):
    """What the outbox needs from the messaging layer. The sender records the message's own
    status events (``sent``, then receipts); the outbox records only its decisions (failed,
    sending paused)."""

    def is_connected(self, session_id: str) -> bool: ...

    async def send(self, message: QueuedMessage) -> ServerAck:
        """Sends and returns after the server's ack; raises a SendFailed."""
        ...


__all__ = [
    "HeldError",
    "MessageSender",
    "PermanentSendError",
    "QueuedMessage",
    "RestrictedError",
    "SendFailed",
    "ServerAck",
    "TransientSendError",
]
