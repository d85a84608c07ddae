"""What the messaging side of a session tells the world: typed, frozen events.

Each one describes rows that are already committed: the event is handed to the
:class:`~daemon.client.sinks.EventSink` inside the very transaction that writes those rows, and
published on the session's bus only after that transaction committed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from daemon.client.call_events import CallEnded, CallOffered
from daemon.client.restrictions import Restriction
from storage.message_values import (
    ChatRecord,
    GroupRecord,
    MessageRecord,
    MessageStatus,
    ReceiptStatus,
)


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A new message row: from someone else, or sent from one of our other devices."""

    session_id: str
    message: MessageRecord
    recovered: bool = False
    """It could not be decrypted at first and arrived again after retry receipts."""


class UpdateKind(enum.StrEnum):
    STATUS = "status"
    EDITED = "edited"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class MessageUpdated:
    """A stored message changed: its status (our sends), or it was edited or revoked."""

    session_id: str
    chat: str
    message_id: str
    sender: str
    kind: UpdateKind
    status: MessageStatus | None = None
    text: str | None = None
    """The new text of an edited message."""
    at: float = 0.0
    """Unix seconds of the change (the server's time when it gave one)."""


@dataclass(frozen=True, slots=True)
class ReceiptReceived:
    """A recipient device reports one or more of our messages delivered, read or played."""

    session_id: str
    chat: str
    message_ids: tuple[str, ...]
    recipient: str
    """The device JID that sent the receipt."""
    status: ReceiptStatus
    at: float


class UndecryptableState(enum.StrEnum):
    WAITING = "waiting"
    """Retry receipts are out; the sender may still encrypt it again."""
    FAILED = "failed"
    """The retries ran out: the message is lost unless the phone resends it."""


@dataclass(frozen=True, slots=True)
class Undecryptable:
    session_id: str
    chat: str
    message_id: str
    sender: str
    sender_device: str
    state: UndecryptableState
    retries: int
    reason: str


@dataclass(frozen=True, slots=True)
class ChatUpdated:
    """The chat list entry changed (new last message, unread count)."""

    session_id: str
    chat: ChatRecord


@dataclass(frozen=True, slots=True)
class GroupUpdated:
    """Group metadata or membership changed (``change``: create, add, remove, promote,
    demote, subject, metadata)."""

    session_id: str
    group: GroupRecord
    change: str
    actor: str | None = None
    participants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """Someone we subscribed to came online or went offline."""

    session_id: str
    who: str
    available: bool
    last_seen: float | None = None
    """Unix seconds, when the person shares it."""


@dataclass(frozen=True, slots=True)
class ChatStateChanged:
    """Someone is typing, recording a voice note, or stopped, in a chat with us."""

    session_id: str
    chat: str
    sender: str
    state: str
    """composing, recording or paused."""


@dataclass(frozen=True, slots=True)
class RestrictionChanged:
    """The service announced a restriction of the account (reachout time-lock, message cap)
    or lifted one."""

    session_id: str
    restriction: Restriction


MessagingEvent = (
    MessageReceived
    | MessageUpdated
    | ReceiptReceived
    | Undecryptable
    | ChatUpdated
    | GroupUpdated
    | PresenceChanged
    | ChatStateChanged
    | CallOffered
    | CallEnded
    | RestrictionChanged
)
