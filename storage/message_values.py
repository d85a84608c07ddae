"""Values of the messaging tables: messages, receipts, chats, contacts, groups, sent plaintexts.

Frozen and slotted, like :mod:`storage.values`. JIDs are strings in their canonical form
(``daemon.binary.JID`` string form); times are timezone-aware datetimes at the boundary and
unix milliseconds in the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class MessageStatus(enum.StrEnum):
    """Where a message stands.

    Our own messages go ``pending → sent → delivered → read → played`` (never backwards), or
    ``failed`` when the server refused them;
    incoming ones are ``received`` (``read`` once we marked them read). ``waiting``: it could
    not be decrypted yet and retry receipts are out; ``undecryptable``: the retries ran out.
    """

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    RECEIVED = "received"
    WAITING = "waiting"
    UNDECRYPTABLE = "undecryptable"
    FAILED = "failed"
    """Ours, refused by the server (its error code is in the event that said so)."""

    @property
    def rank(self) -> int:
        """Order of progress for our own messages (a receipt never moves a status back)."""
        return _RANK.get(self, 0)


_RANK = {
    MessageStatus.PENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
    MessageStatus.PLAYED: 5,
}


class ContentType(enum.StrEnum):
    """The extracted kind of a message (the full protobuf is kept beside it)."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"
    CONTACT = "contact"
    LOCATION = "location"
    POLL = "poll"
    REACTION = "reaction"
    EDIT = "edit"
    REVOKE = "revoke"
    EPHEMERAL_SETTING = "ephemeral_setting"
    PROTOCOL = "protocol"
    """A protocol message between our own devices (history sync, app-state keys, ...)."""
    UNKNOWN = "unknown"
    PLACEHOLDER = "placeholder"
    """Not decrypted (yet): ``status`` says whether retries are still out."""


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One stored message."""

    chat: str
    message_id: str
    sender: str
    """The sender's account JID (ours for our own messages)."""
    from_me: bool
    sent_at: datetime
    content_type: ContentType
    status: MessageStatus
    text: str | None = None
    quoted_id: str | None = None
    target_id: str | None = None
    payload: bytes | None = None
    sender_device: str | None = None
    push_name: str | None = None
    edited_at: datetime | None = None
    revoked_at: datetime | None = None
    retry_count: int = 0
    row_id: int = 0
    """The local row number (0 before the row exists); increases with insertion order."""

    def __post_init__(self) -> None:
        if not self.chat or not self.message_id or not self.sender:
            raise ValueError("a message needs a chat, an id and a sender")
        if self.sent_at.tzinfo is None:
            raise ValueError("message times must be timezone-aware")


class ReceiptStatus(enum.StrEnum):
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"

    @property
    def message_status(self) -> MessageStatus:
        return MessageStatus(self.value)


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """How far one of our messages got on one recipient device."""

    chat: str
    message_id: str
    recipient: str
    status: ReceiptStatus
    delivered_at: datetime | None
    read_at: datetime | None
    played_at: datetime | None


class ChatKind(enum.StrEnum):
    USER = "user"
    GROUP = "group"
    BROADCAST = "broadcast"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ChatRecord:
    jid: str
    kind: ChatKind
    name: str | None
    last_message_id: str | None
    last_sender: str | None
    last_from_me: bool | None
    last_preview: str | None
    last_message_at: datetime | None
    unread_count: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact under both its names: phone-number JID and LID (either may be unknown)."""

    pn: str | None
    lid: str | None
    push_name: str | None

    def __post_init__(self) -> None:
        if self.pn is None and self.lid is None:
            raise ValueError("a contact needs a phone-number JID or a LID")
        if self.pn is not None and not self.pn.endswith("@s.whatsapp.net"):
            raise ValueError(f"not a phone-number JID: {self.pn!r}")
        if self.lid is not None and not self.lid.endswith("@lid"):
            raise ValueError(f"not a LID: {self.lid!r}")


class ParticipantRole(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"


@dataclass(frozen=True, slots=True)
class GroupParticipant:
    jid: str
    """The member's account JID (phone number when known)."""
    lid: str | None
    role: ParticipantRole


@dataclass(frozen=True, slots=True)
class GroupRecord:
    jid: str
    subject: str
    owner: str | None
    addressing_mode: str
    is_member: bool
    """False once we left or were removed: the group is then read-only."""
    participants: tuple[GroupParticipant, ...]
    created_at: datetime | None = None
    description: str = ""
    announce: bool = False
    """Only admins may send."""
    locked: bool = False
    """Only admins may change the subject, description and settings."""
    own_admin: bool = False
    """We are an admin (or the super admin) of the group."""
    last_synced_at: datetime | None = None
    """When the server last gave us the whole metadata."""

    @property
    def read_only(self) -> bool:
        """We may not send: not a member, or an announce group where we are not admin."""
        return not self.is_member or (self.announce and not self.own_admin)

    def __post_init__(self) -> None:
        if not self.jid.endswith("@g.us"):
            raise ValueError(f"not a group JID: {self.jid!r}")
        if self.addressing_mode not in ("pn", "lid"):
            raise ValueError(f"unknown addressing mode {self.addressing_mode!r}")


@dataclass(frozen=True, slots=True)
class OutgoingPlaintext:
    """A message we sent, as needed to encrypt it again for a retry receipt."""

    message_id: str
    chat: str
    message_type: str
    """The stanza ``type`` (text, reaction, media...)."""
    edit: str | None
    """The stanza ``edit`` attribute, if any."""
    payload: bytes
    """The serialized E2E Message."""
    sent_at: datetime
    created_at: datetime
