"""A send request: what the API accepts to send, validated (the outbox stores it as a row)."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from daemon import chat_address
from daemon.send_content import (
    ContactCard,
    InvalidContent,
    Location,
    MediaAttachment,
    MediaSendKind,
    contacts_from_payload,
    contacts_payload,
)

MAX_TEXT_CHARS = 65_536
MAX_ID_CHARS = 128
MAX_EMOJI_CHARS = 32
MAX_IDEMPOTENCY_KEY = 255


class MessageKind(enum.StrEnum):
    TEXT = "text"
    REPLY = "reply"
    REACTION = "reaction"
    EDIT = "edit"
    DELETE = "delete"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"

    @property
    def is_media(self) -> bool:
        return self.value in MEDIA_KINDS


MEDIA_KINDS = frozenset(k.value for k in MediaSendKind)


class InvalidSendRequest(ValueError):
    """The request cannot be sent as it is (the message names the field)."""


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different request."""


class SendingNotAllowed(Exception):
    """The session cannot take sends (not paired, unknown)."""


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A validated send request (what the API accepted)."""

    to: str
    """The chat: a user JID (phone number or LID) or a group JID, without a device."""
    kind: MessageKind
    text: str | None = None
    quoted_id: str | None = None
    target_id: str | None = None
    """The message a reaction, edit or delete refers to."""
    emoji: str | None = None
    media: MediaAttachment | None = None
    location: Location | None = None
    contacts: tuple[ContactCard, ...] = ()

    def payload(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"to": self.to, "type": self.kind.value}
        for name, value in (
            ("text", self.text),
            ("quotedId", self.quoted_id),
            ("messageId", self.target_id),
            ("emoji", self.emoji),
        ):
            if value is not None:
                fields[name] = value
        if self.media is not None:
            fields.update(self.media.payload())
        if self.location is not None:
            fields.update(self.location.payload())
        if self.contacts:
            fields["contacts"] = contacts_payload(self.contacts)
        return fields

    def digest(self) -> bytes:
        """What makes two requests the same (for Idempotency-Key): a file by its content,
        not by where it was staged."""
        fields = self.payload()
        if self.media is not None:
            fields.pop("thumbnail", None)
            fields.update(self.media.public())
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).digest()


def normalize_chat(to: str) -> str:
    """A chat JID from a JID or a phone number (the rules: :mod:`daemon.chat_address`)."""
    try:
        return chat_address.normalize_chat(to)
    except chat_address.InvalidChat as exc:
        raise InvalidSendRequest(str(exc)) from None


def _text(
    body: dict[str, Any], name: str, *, required: bool, limit: int = MAX_TEXT_CHARS
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidSendRequest(f"'{name}' is required for this type")
        return None
    if not isinstance(value, str):
        raise InvalidSendRequest(f"'{name}' must be a string")
    if len(value) > limit:
        raise InvalidSendRequest(f"'{name}' is longer than {limit} characters")
    return value


def _id(body: dict[str, Any], name: str) -> str:
    value = _text(body, name, required=True, limit=MAX_ID_CHARS)
    if not value:
        raise InvalidSendRequest(f"'{name}' must not be empty")
    return value


def _nonempty_text(body: dict[str, Any]) -> str:
    text = _text(body, "text", required=True)
    if not text:
        raise InvalidSendRequest("'text' must not be empty")
    return text


FIELDS_BY_KIND: dict[MessageKind, frozenset[str]] = {
    MessageKind.TEXT: frozenset({"to", "type", "text"}),
    MessageKind.REPLY: frozenset({"to", "type", "text", "quotedId"}),
    MessageKind.REACTION: frozenset({"to", "type", "messageId", "emoji"}),
    MessageKind.EDIT: frozenset({"to", "type", "messageId", "text"}),
    MessageKind.DELETE: frozenset({"to", "type", "messageId"}),
    MessageKind.LOCATION: frozenset({"to", "type", "latitude", "longitude", "name", "address"}),
    MessageKind.CONTACT: frozenset({"to", "type", "contacts"}),
}
"""The fields a JSON send of each type may carry (a media type is not sent as plain JSON)."""


_COMMON_FIELDS = frozenset({"to", "type", "text", "quotedId", "messageId", "emoji"})
_KNOWN_FIELDS: dict[str, frozenset[str]] = {
    MessageKind.LOCATION.value: _COMMON_FIELDS | {"latitude", "longitude", "name", "address"},
    MessageKind.CONTACT.value: _COMMON_FIELDS | {"contacts"},
}
"""The fields a send request may name, by type (the common ones for the others)."""
_KINDS = {kind.value: kind for kind in MessageKind}


def parse_send_request(body: dict[str, Any]) -> SendRequest:
    """Validates an API request body; raises InvalidSendRequest naming what is wrong."""
    kind_name = body.get("type")
    known = _COMMON_FIELDS
    if isinstance(kind_name, str):
        known = _KNOWN_FIELDS.get(kind_name, _COMMON_FIELDS)
    if not body.keys() <= known:
        unknown = sorted(set(body) - known)
        raise InvalidSendRequest(f"unknown field(s): {', '.join(unknown)}")
    to = body.get("to")
    if not isinstance(to, str):
        raise InvalidSendRequest("'to' is required (a JID or a phone number)")
    kind_text = body.get("type", "text")
    kind = _KINDS.get(kind_text) if isinstance(kind_text, str) else None
    if kind is None:
        choices = ", ".join(k.value for k in MessageKind)
        raise InvalidSendRequest(f"'type' must be one of {choices}")
    allowed = FIELDS_BY_KIND.get(kind)
    if allowed is not None and not body.keys() <= allowed:
        foreign = sorted(set(body) - allowed)
        raise InvalidSendRequest(f"a {kind.value} message has no field(s): {', '.join(foreign)}")
    chat = normalize_chat(to)
    if kind.is_media:
        raise InvalidSendRequest(
            f"a {kind.value} is sent as multipart/form-data with a 'file' part, or with 'url'"
        )
    try:
        if kind is MessageKind.LOCATION:
            return SendRequest(chat, kind, location=Location.from_payload(body))
        if kind is MessageKind.CONTACT:
            return SendRequest(chat, kind, contacts=contacts_from_payload(body.get("contacts")))
    except InvalidContent as exc:
        raise InvalidSendRequest(str(exc)) from None
    if kind is MessageKind.TEXT:
        return SendRequest(chat, kind, text=_nonempty_text(body))
    if kind is MessageKind.REPLY:
        return SendRequest(chat, kind, text=_nonempty_text(body), quoted_id=_id(body, "quotedId"))
    target = _id(body, "messageId")
    if kind is MessageKind.REACTION:
        # An empty emoji removes our reaction (the protocol's own convention).
        emoji = _text(body, "emoji", required=True, limit=MAX_EMOJI_CHARS)
        return SendRequest(chat, kind, target_id=target, emoji=emoji)
    if kind is MessageKind.EDIT:
        return SendRequest(chat, kind, text=_nonempty_text(body), target_id=target)
    return SendRequest(chat, kind, target_id=target)


__all__ = [
    "FIELDS_BY_KIND",
    "MAX_EMOJI_CHARS",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_ID_CHARS",
    "MAX_TEXT_CHARS",
    "MEDIA_KINDS",
    "IdempotencyConflict",
    "InvalidSendRequest",
    "MessageKind",
    "SendRequest",
    "SendingNotAllowed",
    "normalize_chat",
    "parse_send_request",
]
