"""Campaign API requests, validated (pure: values in, values or a CampaignInputError out).

Nothing here touches storage; a request that fails validation changes nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.campaigns.template import TemplateError, clean_value, render, variables_of
from daemon.chat_address import InvalidChat, normalize_user
from daemon.outbox import (
    InvalidSendRequest,
    MessageKind,
    SendRequest,
    normalize_chat,
    parse_send_request,
)
from daemon.send_content import MAX_CAPTION_CHARS, MediaAttachment, MediaSendKind
from storage.campaign_values import DailyWindow, NewRecipient, Pacing

MAX_RECIPIENTS = 100_000
"""Per campaign, and so per request."""
MAX_NAME_CHARS = 200
MAX_JITTER_S = 3600.0
MAX_RATE_PER_MINUTE = 60_000
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class CampaignInputError(ValueError):
    """The request is invalid (the message names the field); nothing was changed."""


class ContentType(enum.StrEnum):
    """What a campaign may send: a message of the messages API that needs no earlier message
    (a reply, reaction, edit or delete refers to one). A media campaign's file is staged once
    for all its recipients."""

    TEXT = "text"
    LOCATION = "location"
    CONTACT = "contact"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"

    @property
    def is_media(self) -> bool:
        return MessageKind(self.value).is_media


TEMPLATED_FIELDS = {
    ContentType.TEXT: ("text",),
    ContentType.LOCATION: ("name", "address"),
    ContentType.CONTACT: (),
    ContentType.IMAGE: ("caption",),
    ContentType.VIDEO: ("caption",),
    ContentType.AUDIO: (),
    ContentType.DOCUMENT: ("caption",),
    ContentType.STICKER: (),
}
"""The content fields where ``{{name}}`` placeholders are substituted."""

MEDIA_FIELDS = frozenset({"type", "caption", "fileName", "ptt", "mimetype", "url"})
"""What a media campaign's content may say besides its file (as the messages API)."""


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    name: str
    content: dict[str, Any]
    defaults: dict[str, str]
    pacing: Pacing
    scheduled_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvalidRecipient:
    index: int
    value: Any
    reason: str


@dataclass(frozen=True, slots=True)
class RecipientBatch:
    recipients: list[NewRecipient]
    """Valid and de-duplicated within the batch, in the order given."""
    invalid: list[InvalidRecipient]
    duplicates: int
    """Entries that repeat an earlier entry of the batch."""


def _check_fields(body: Mapping[str, Any], allowed: set[str], where: str = "") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise CampaignInputError(f"unknown field(s){where}: {', '.join(unknown)}")


def parse_time(value: Any, name: str) -> datetime:
    """An RFC 3339 time with an offset (``Z`` or ``+02:00``)."""
    if not isinstance(value, str):
        raise CampaignInputError(f"{name!r} must be an RFC 3339 time string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CampaignInputError(f"{name!r} is not an RFC 3339 time: {value!r}") from None
    if at.tzinfo is None:
        raise CampaignInputError(f"{name!r} needs a time zone offset (Z or +hh:mm)")
    return at.astimezone(UTC)


def future_time(value: Any, name: str, now: datetime) -> datetime:
    at = parse_time(value, name)
    if at <= now:
        raise CampaignInputError(f"{name!r} is in the past")
    return at


def _clock(value: Any, name: str) -> time:
    if not isinstance(value, str) or (match := _CLOCK.match(value)) is None:
        raise CampaignInputError(f"{name!r} must be a 24-hour time like '09:00'")
    return time(int(match.group(1)), int(match.group(2)))


def parse_window(value: Any) -> DailyWindow | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CampaignInputError("'window' must be an object {start, end, timeZone}")
    _check_fields(value, {"start", "end", "timeZone"}, " in 'window'")
    zone = value.get("timeZone")
    if not isinstance(zone, str) or not zone:
        raise CampaignInputError("'window.timeZone' must be an IANA time zone like 'Europe/Berlin'")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignInputError(f"'window.timeZone' is not a known time zone: {zone!r}") from None
    start = _clock(value.get("start"), "window.start")
    end = _clock(value.get("end"), "window.end")
    if start == end:
        raise CampaignInputError("'window.start' and 'window.end' must differ")
    return DailyWindow(start, end, zone)


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CampaignInputError(f"{name!r} must be a number")
    return float(value)


def parse_content(
    value: Any, media: MediaAttachment | None = None
) -> tuple[dict[str, Any], frozenset[str]]:
    """The content object (a messages API body without ``to``) and the variables it uses.
    A media content takes its file from ``media`` (staged by the caller, shared by every
    recipient); its ``url``, if any, was fetched already and is not kept."""
    if not isinstance(value, dict):
        raise CampaignInputError("'content' is required: an object like {type: text, text}")
    if "to" in value:
        raise CampaignInputError("'content' has no 'to': the recipients are the campaign's")
    try:
        kind_name = value.get("type", "text")
        if not isinstance(kind_name, str):
            raise ValueError(kind_name)
        kind = ContentType(kind_name)
    except ValueError:
        raise CampaignInputError(
            f"'content.type' must be one of {', '.join(ContentType)}"
        ) from None
    content = {**value, "type": kind.value}
    if kind.is_media:
        content = _media_content(kind, content, media)
    elif media is not None:
        raise CampaignInputError(f"a file goes with a media content, not with {kind.value}")
    names = content_variables(content)
    if kind is ContentType.TEXT and not str(content.get("text") or "").strip():
        raise CampaignInputError("'content.text' must be a non-empty string")
    content_request(content, {name: "x" for name in names}, "15550000000@s.whatsapp.net")
    return content, names


def _media_content(
    kind: ContentType, value: dict[str, Any], media: MediaAttachment | None
) -> dict[str, Any]:
    unknown = sorted(set(value) - MEDIA_FIELDS)
    if unknown:
        raise CampaignInputError(f"unknown field(s) in 'content': {', '.join(unknown)}")
    if media is None:
        raise CampaignInputError(
            f"a {kind.value} campaign needs its file: send multipart/form-data with a "
            "'campaign' part and a 'file' part, or give 'content.url'"
        )
    if media.kind.value != kind.value:
        raise CampaignInputError(f"the file is staged as {media.kind.value}, not {kind.value}")
    return {"type": kind.value, **replace(media, shared=True).payload()}


def content_variables(content: Mapping[str, Any]) -> frozenset[str]:
    """The variable names a (stored or new) content uses."""
    names: set[str] = set()
    for name in TEMPLATED_FIELDS[ContentType(content["type"])]:
        field = content.get(name)
        if isinstance(field, str):
            try:
                names |= variables_of(field)
            except TemplateError as exc:
                raise CampaignInputError(f"'content.{name}': {exc}") from None
    return frozenset(names)


def content_request(content: Mapping[str, Any], values: Mapping[str, str], to: str) -> SendRequest:
    """The outbox request for one recipient: the content with its placeholders filled in;
    raises CampaignInputError (e.g. a text that grew too long)."""
    kind = ContentType(content["type"])
    body = dict(content)
    try:
        for name in TEMPLATED_FIELDS[kind]:
            if isinstance(body.get(name), str):
                body[name] = render(body[name], values)
    except KeyError as exc:
        raise CampaignInputError(f"no value for the variable {exc}") from None
    try:
        if kind.is_media:
            return _media_request(kind, body, to)
        return parse_send_request({**body, "to": to})
    except InvalidSendRequest as exc:
        raise CampaignInputError(f"'content': {exc}") from None


def _media_request(kind: ContentType, body: dict[str, Any], to: str) -> SendRequest:
    caption = body.get("caption", "")
    if not isinstance(caption, str) or len(caption) > MAX_CAPTION_CHARS:
        raise CampaignInputError(
            f"'content.caption' must be a string of up to {MAX_CAPTION_CHARS} characters "
            "once its variables are filled in"
        )
    try:
        attachment = MediaAttachment.from_payload(MediaSendKind(kind.value), body)
    except (KeyError, TypeError, ValueError) as exc:
        raise CampaignInputError(f"'content' has no usable file: {exc}") from None
    return SendRequest(normalize_chat(to), MessageKind(kind.value), media=attachment)


def _values(value: Any, names: frozenset[str], where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise CampaignInputError(f"{where} must be an object of variable values")
    unknown = sorted(set(value) - names)
    if unknown:
        used = ", ".join(sorted(names)) or "none"
        raise CampaignInputError(
            f"{where}: unknown variable(s) {', '.join(unknown)} (the text uses: {used})"
        )
    try:
        return {name: clean_value(name, v) for name, v in value.items()}
    except TemplateError as exc:
        raise CampaignInputError(f"{where}: {exc}") from None


def parse_campaign(
    body: Mapping[str, Any],
    *,
    default_rate: int,
    now: datetime,
    media: MediaAttachment | None = None,
) -> CampaignDraft:
    _check_fields(
        body,
        {"name", "content", "defaults", "scheduledAt", "ratePerMinute", "jitterSeconds", "window"},
    )
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise CampaignInputError(f"'name' must be a string of at most {MAX_NAME_CHARS} characters")
    content, names = parse_content(body.get("content"), media)
    defaults = _values(body.get("defaults", {}), names, "'defaults'")
    rate = body.get("ratePerMinute", default_rate)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE_PER_MINUTE:
        raise CampaignInputError(
            f"'ratePerMinute' must be an integer from 1 to {MAX_RATE_PER_MINUTE}"
        )
    jitter = _number(body, "jitterSeconds") or 0.0
    if not 0 <= jitter <= MAX_JITTER_S:
        raise CampaignInputError(f"'jitterSeconds' must be between 0 and {MAX_JITTER_S:g}")
    scheduled = body.get("scheduledAt")
    return CampaignDraft(
        name=name,
        content=content,
        defaults=defaults,
        pacing=Pacing(rate, jitter, parse_window(body.get("window"))),
        scheduled_at=None if scheduled is None else future_time(scheduled, "scheduledAt", now),
    )


def normalize_recipient(value: str) -> str:
    """A user JID (phone number or LID) from a JID or a phone number, by the messages API's rules
    (:func:`daemon.chat_address.normalize_user`); raises ValueError."""
    try:
        return normalize_user(value)
    except InvalidChat as exc:
        raise ValueError(str(exc).replace("'to'", "the recipient")) from None


def parse_recipients(
    body: Mapping[str, Any], names: frozenset[str], defaults: Mapping[str, str]
) -> RecipientBatch:
    """Validates a batch. Bad addresses are reported per entry; a bad variable (unknown, or
    missing with no default) refuses the whole batch."""
    _check_fields(body, {"recipients"})
    items = body.get("recipients")
    if not isinstance(items, list) or not items:
        raise CampaignInputError("'recipients' must be a non-empty list")
    if len(items) > MAX_RECIPIENTS:
        raise CampaignInputError(f"at most {MAX_RECIPIENTS} recipients per campaign")
    missing = names - set(defaults)
    seen: set[str] = set()
    valid: list[NewRecipient] = []
    invalid: list[InvalidRecipient] = []
    duplicates = 0
    for index, item in enumerate(items):
        variables: dict[str, str] | None = None
        address: Any
        if isinstance(item, str):
            address = item
        elif isinstance(item, dict):
            _check_fields(item, {"to", "variables"}, f" in recipients[{index}]")
            address = item.get("to")
            if "variables" in item:
                variables = _values(item["variables"], names, f"recipients[{index}].variables")
        else:
            invalid.append(InvalidRecipient(index, item, "not a string or {to, variables}"))
            continue
        if missing - set(variables or ()):
            lacking = ", ".join(sorted(missing - set(variables or ())))
            raise CampaignInputError(
                f"recipients[{index}] has no value for {lacking} and the campaign no default"
            )
        if not isinstance(address, str):
            invalid.append(InvalidRecipient(index, address, "'to' must be a string"))
            continue
        try:
            jid = normalize_recipient(address)
        except ValueError as exc:
            invalid.append(InvalidRecipient(index, address, str(exc)))
            continue
        if jid in seen:
            duplicates += 1
            continue
        seen.add(jid)
        valid.append(NewRecipient(jid, variables or None))
    return RecipientBatch(valid, invalid, duplicates)


def parse_start(body: Mapping[str, Any], now: datetime) -> datetime | None:
    """The ``scheduledAt`` a start request gives (None: keep the campaign's, or start now)."""
    _check_fields(body, {"scheduledAt"})
    value = body.get("scheduledAt")
    return None if value is None else future_time(value, "scheduledAt", now)


__all__ = [
    "MAX_RECIPIENTS",
    "CampaignDraft",
    "CampaignInputError",
    "InvalidRecipient",
    "RecipientBatch",
    "content_variables",
    "normalize_recipient",
    "parse_campaign",
    "parse_content",
    "parse_recipients",
    "parse_start",
    "parse_time",
    "parse_window",
]
