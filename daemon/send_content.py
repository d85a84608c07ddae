"""What a queued media, location or contact-card send carries, as the outbox stores it.

A media file is staged on disk before the outbox row is written (the HTTP layer streams it
there, bounded), so the row holds its path, digest and size, never the bytes; the worker
uploads it when the session is connected; the outbox removes the staged copy once the row is
final (sent, or failed for good).
"""

from __future__ import annotations

import base64
import contextlib
import enum
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.client.media_message import MediaKind, OutgoingMedia
from waproto import wa_e2e_pb2

CARD_PHONE = re.compile(r"[0-9]{7,15}")
"""A contact card's number: ASCII digits (``str.isdigit`` takes ``²`` too)."""
MAX_CAPTION_CHARS = 4096
THUMBNAIL_SUFFIX = ".thumb"
"""A shared file's thumbnail sits beside it (``<path>.thumb``), so that a campaign's 100,000
outbox rows do not each carry a copy of it."""

if TYPE_CHECKING:
    from daemon.send_request import SendRequest


class InvalidContent(ValueError):
    """A field of a media, location or contact send is wrong (the message names it)."""


class MediaSendKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A file written to the staging directory, with what was learnt while writing it."""

    path: str
    sha256: str
    """Hex SHA-256 of the bytes."""
    size: int
    mimetype: str


@dataclass(frozen=True, slots=True)
class MediaAttachment:
    kind: MediaSendKind
    file: StagedFile
    caption: str = ""
    file_name: str = ""
    ptt: bool = False
    """Audio only: a voice note (push to talk) rather than an audio file."""
    width: int = 0
    height: int = 0
    thumbnail: bytes = b""
    """A small JPEG shown before the download (images)."""
    shared: bool = False
    """The staged file belongs to a campaign (one file for all its recipients): the outbox
    leaves it in place when a send is final; the campaign removes it when it ends."""

    def payload(self) -> dict[str, Any]:
        file: dict[str, Any] = {
            "path": self.file.path,
            "sha256": self.file.sha256,
            "size": self.file.size,
            "mimetype": self.file.mimetype,
        }
        if self.shared:
            file["shared"] = True
        fields: dict[str, Any] = {"file": file}
        if self.caption:
            fields["caption"] = self.caption
        if self.file_name:
            fields["fileName"] = self.file_name
        if self.ptt:
            fields["ptt"] = True
        if self.width and self.height:
            fields["width"], fields["height"] = self.width, self.height
        if self.thumbnail and not self.shared:
            fields["thumbnail"] = base64.b64encode(self.thumbnail).decode()
        return fields

    @classmethod
    def from_payload(cls, kind: MediaSendKind, payload: dict[str, Any]) -> MediaAttachment:
        file = payload["file"]
        return cls(
            kind=kind,
            file=StagedFile(
                path=str(file["path"]),
                sha256=str(file["sha256"]),
                size=int(file["size"]),
                mimetype=str(file["mimetype"]),
            ),
            caption=str(payload.get("caption", "")),
            file_name=str(payload.get("fileName", "")),
            ptt=bool(payload.get("ptt", False)),
            width=int(payload.get("width", 0)),
            height=int(payload.get("height", 0)),
            thumbnail=base64.b64decode(payload.get("thumbnail", "")),
            shared=bool(file.get("shared", False)),
        )

    def public(self) -> dict[str, Any]:
        """What the API shows of it (no local path)."""
        fields = self.payload()
        fields["file"] = {
            "sha256": self.file.sha256,
            "size": self.file.size,
            "mimetype": self.file.mimetype,
        }
        fields.pop("thumbnail", None)
        return fields


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str = ""
    address: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude) and -90 <= self.latitude <= 90):
            raise InvalidContent("'latitude' must be a number from -90 to 90")
        if not (math.isfinite(self.longitude) and -180 <= self.longitude <= 180):
            raise InvalidContent("'longitude' must be a number from -180 to 180")

    def payload(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"latitude": self.latitude, "longitude": self.longitude}
        if self.name:
            fields["name"] = self.name
        if self.address:
            fields["address"] = self.address
        return fields

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Location:
        def number(name: str) -> float:
            value = payload.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidContent(f"'{name}' (a number) is required for a location")
            return float(value)

        def text(name: str) -> str:
            value = payload.get(name, "")
            if not isinstance(value, str) or len(value) > 1000:
                raise InvalidContent(f"'{name}' must be a string of up to 1000 characters")
            return value

        return cls(number("latitude"), number("longitude"), text("name"), text("address"))


@dataclass(frozen=True, slots=True)
class ContactCard:
    name: str
    phone: str
    """International number, digits only (the ``waid`` of the card)."""

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200:
            raise InvalidContent("a contact card needs a 'name' of up to 200 characters")
        if not CARD_PHONE.fullmatch(self.phone):
            raise InvalidContent("a contact card's 'phone' is 7 to 15 digits")

    def vcard(self) -> str:
        name = self.name.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        return (
            "BEGIN:VCARD\nVERSION:3.0\n"
            f"FN:{name}\n"
            f"TEL;type=CELL;type=VOICE;waid={self.phone}:+{self.phone}\n"
            "END:VCARD"
        )


def contacts_from_payload(value: Any) -> tuple[ContactCard, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 20:
        raise InvalidContent("'contacts' must be a list of 1 to 20 {name, phone} objects")
    cards = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"name", "phone"}:
            raise InvalidContent("each contact is an object with 'name' and 'phone'")
        name, phone = item.get("name"), item.get("phone")
        if not isinstance(name, str) or not isinstance(phone, str):
            raise InvalidContent("each contact has a 'name' and a 'phone' (strings)")
        digits = "".join(ch for ch in phone if ch not in " -().").removeprefix("+")
        cards.append(ContactCard(name, digits))
    return tuple(cards)


def contacts_payload(cards: tuple[ContactCard, ...]) -> list[dict[str, str]]:
    return [{"name": c.name, "phone": c.phone} for c in cards]


def shared_thumbnail_path(file_path: str) -> Path:
    return Path(file_path + THUMBNAIL_SUFFIX)


def outgoing_media(attachment: MediaAttachment) -> OutgoingMedia:
    """The client's description of a staged file to upload and announce (a shared file's
    thumbnail read from beside it)."""
    thumbnail = attachment.thumbnail
    if attachment.shared and not thumbnail:
        with contextlib.suppress(FileNotFoundError):
            thumbnail = shared_thumbnail_path(attachment.file.path).read_bytes()
    kind = MediaKind(attachment.kind.value)
    if kind is MediaKind.AUDIO and attachment.ptt:
        kind = MediaKind.VOICE
    return OutgoingMedia(
        kind=kind,
        mimetype=attachment.file.mimetype,
        path=Path(attachment.file.path),
        caption=attachment.caption,
        file_name=attachment.file_name,
        width=attachment.width,
        height=attachment.height,
        thumbnail=thumbnail,
    )


def card_message(request: SendRequest) -> wa_e2e_pb2.Message:
    """The E2E message of a location or of contact cards (one card, or an array)."""
    if request.location is not None:
        where = request.location
        location = wa_e2e_pb2.LocationMessage(
            degreesLatitude=where.latitude, degreesLongitude=where.longitude
        )
        if where.name:
            location.name = where.name
        if where.address:
            location.address = where.address
        return wa_e2e_pb2.Message(locationMessage=location)
    cards = [
        wa_e2e_pb2.ContactMessage(displayName=c.name, vcard=c.vcard()) for c in request.contacts
    ]
    if len(cards) == 1:
        return wa_e2e_pb2.Message(contactMessage=cards[0])
    names = f"{len(cards)} contacts"
    return wa_e2e_pb2.Message(
        contactsArrayMessage=wa_e2e_pb2.ContactsArrayMessage(displayName=names, contacts=cards)
    )


__all__ = [
    "MAX_CAPTION_CHARS",
    "THUMBNAIL_SUFFIX",
    "ContactCard",
    "InvalidContent",
    "Location",
    "MediaAttachment",
    "MediaSendKind",
    "StagedFile",
    "card_message",
    "contacts_from_payload",
    "contacts_payload",
    "outgoing_media",
    "shared_thumbnail_path",
]
