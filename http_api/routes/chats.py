"""Chats and stored messages: the chat list (last-message preview, unread count), a chat's
messages newest first, and mark read. Pages are continued with opaque cursors (``nextCursor``
in one answer is ``cursor``/``before`` of the next); a cursor stays valid while new messages
arrive, because it names a position, not an offset."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from daemon.binary import JID
from daemon.event_format import iso_utc
from daemon.event_records import chat_json, message_json
from daemon.linked_device import ReadReceipts
from http_api.chat_access import require_chat
from http_api.keys import principal, services
from http_api.problems import Problem, bad_request
from http_api.routes.common import (
    check_fields,
    json_response,
    query_int,
    read_json,
    require_paired,
    session_id_of,
)
from http_api.validation import INT64_MAX, bounded_list, parse_json, path_chat
from storage.message_values import ChatRecord, MessageRecord, MessageStatus

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_READ_IDS = 500
MAX_MESSAGE_ID = 128
MAX_CURSOR_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last instant a datetime holds."""
_LAST_ROW = 2**62
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def encode_cursor(fields: dict[str, Any]) -> str:
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fields = parse_json(raw)
    except (binascii.Error, ValueError, Problem):
        raise bad_request("the cursor is not one this API gave out") from None
    if not isinstance(fields, dict):
        raise bad_request("the cursor is not one this API gave out")
    return fields


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _at(value: Any) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CURSOR_MS:
        raise bad_request("the cursor is not one this API gave out")
    return datetime.fromtimestamp(value / 1000, UTC)


def _row_id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT64_MAX:
        raise bad_request("the cursor is not one this API gave out")
    return value


async def _chat_of(request: web.Request) -> str:
    """The chat a path names: a person's LID stands for their chat (kept under their number
    once it is known)."""
    chat = path_chat(request)
    if chat.endswith("@lid"):
        contact = await services(request).messages.contacts.find(session_id_of(request), chat)
        if contact is not None and contact.pn is not None:
            return contact.pn
    return chat


async def list_chats(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    limit = query_int(request, "limit", DEFAULT_PAGE, minimum=1, maximum=MAX_PAGE)
    before: tuple[datetime | None, str] | None = None
    cursor = request.query.get("cursor")
    if cursor:
        fields = decode_cursor(cursor)
        jid = fields.get("j")
        if not isinstance(jid, str):
            raise bad_request("the cursor is not one this API gave out")
        before = (None if fields.get("t") is None else _at(fields.get("t")), jid)
    caller = principal(request)
    chats: list[ChatRecord] = []
    # A chat-restricted key skips the chats it may not see; pages fill from further rows.
    while len(chats) < limit:
        page = await services(request).messages.chats.page(session_id, limit=limit, before=before)
        chats += [c for c in page if caller.may_see_chat(c.jid)]
        if len(page) < limit:
            break
        last_seen = page[-1]
        before = (last_seen.last_message_at, last_seen.jid)
    chats = chats[:limit]
    next_cursor = None
    if len(chats) == limit:
        last: ChatRecord = chats[-1]
        at = None if last.last_message_at is None else _ms(last.last_message_at)
        next_cursor = encode_cursor({"t": at, "j": last.jid})
    contacts = await services(request).messages.contacts.all(session_id)
    lids = {c.pn: c.lid for c in contacts if c.pn is not None}
    return json_response(
        {"chats": [chat_json(c, lids.get(c.jid)) for c in chats], "nextCursor": next_cursor}
    )


def _message_position(name: str, text: str, *, after: bool) -> tuple[datetime, int]:
    """``before``/``after``: a cursor this API gave out, an RFC 3339 / ISO 8601 time, or unix
    epoch milliseconds. A time stands for every message at it (a cursor is exact)."""
    # A time has no row of its own: ``before`` a time is before every row at that time,
    # ``after`` it after every one.
    edge_row = _LAST_ROW if after else 0
    if text.isascii() and text.isdigit():
        if len(text) > len(str(MAX_CURSOR_MS)) or int(text) > MAX_CURSOR_MS:
            raise bad_request(f"'{name}' as epoch milliseconds is out of range")
        return datetime.fromtimestamp(int(text) / 1000, UTC), edge_row
    if _ISO_START.match(text):
        try:
            at = datetime.fromisoformat(text)
            at = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
            _ms(at)
        except (ValueError, OverflowError):
            raise bad_request(
                f"'{name}' is not an ISO 8601 time (e.g. 2026-03-01T12:00:00Z), epoch "
                "milliseconds or a cursor"
            ) from None
        return at, edge_row
    fields = decode_cursor(text)
    return _at(fields.get("t")), _row_id(fields.get("r"))


def _message_cursor(message: MessageRecord) -> str:
    return encode_cursor({"t": _ms(message.sent_at), "r": message.row_id})


async def list_messages(request: web.Request) -> web.Response:
    """Newest first, before a position (``before``), or oldest first after one (``after``,
    forward paging: ``nextCursor`` is the newest returned, to poll with)."""
    session_id = session_id_of(request)
    chat = await _chat_of(request)
    require_chat(request, chat)
    limit = query_int(request, "limit", DEFAULT_PAGE, minimum=1, maximum=MAX_PAGE)
    before_text, after_text = request.query.get("before"), request.query.get("after")
    if before_text and after_text:
        raise bad_request("give 'before' or 'after', not both")
    before = _message_position("before", before_text, after=False) if before_text else None
    after = _message_position("after", after_text, after=True) if after_text else None
    found = await services(request).messages.messages.page(
        session_id, chat, limit=limit, before=before, after=after
    )
    next_cursor = None
    if found and (after is not None or len(found) == limit):
        next_cursor = _message_cursor(found[-1])
    return json_response({"messages": [message_json(m) for m in found], "nextCursor": next_cursor})


async def mark_read(request: web.Request) -> web.Response:
    """Read receipts for the ``ids`` given, or for every unread message among the chat's
    newest hundred."""
    session_id = session_id_of(request)
    chat = await _chat_of(request)
    require_chat(request, chat)
    body = await read_json(request, optional=True)
    check_fields(body, {"ids"})
    svc = services(request)
    ids = body.get("ids")
    if "ids" not in body:
        recent = await svc.messages.messages.page(session_id, chat, limit=MAX_PAGE)
        ids = [m.message_id for m in recent if not m.from_me and m.status is MessageStatus.RECEIVED]
    elif not all(
        0 < len(i) <= MAX_MESSAGE_ID for i in bounded_list(ids, "ids", str, limit=MAX_READ_IDS)
    ):
        raise bad_request(f"'ids' must be message ids of 1 to {MAX_MESSAGE_ID} characters")
    if not ids:
        return json_response({"read": 0})
    require_paired(request, session_id)
    client = svc.manager.client(session_id)
    if not isinstance(client, ReadReceipts):
        raise Problem(409, "not-supported", "this session's client cannot send read receipts")
    count = await client.mark_read(JID.parse(chat), ids)
    return json_response({"read": int(count)})


async def message_detail(session_id: str, message_id: str, request: web.Request) -> dict[str, Any]:
    """A stored message of ours with its per-recipient receipts (for the outbox view)."""
    svc = services(request)
    stored = await svc.messages.messages.find_own(session_id, message_id)
    if stored is None:
        return {"message": None, "receipts": []}
    receipts = await svc.messages.receipts.for_message(session_id, stored.chat, message_id)
    return {
        "message": message_json(stored),
        "receipts": [
            {
                "recipient": r.recipient,
                "status": r.status.value,
                "deliveredAt": iso_utc(r.delivered_at),
                "readAt": iso_utc(r.read_at),
                "playedAt": iso_utc(r.played_at),
            }
            for r in receipts
        ],
    }


__all__ = [
    "decode_cursor",
    "encode_cursor",
    "list_chats",
    "list_messages",
    "mark_read",
    "message_detail",
]
