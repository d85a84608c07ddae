"""People and presence: the contact list, which numbers are on WhatsApp, profile pictures,
PN ↔ LID, our presence, typing indicators in a chat, and presence subscriptions (the updates
arrive as ``presence.updated`` and ``chatstate.updated`` events)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.binary import JID
from daemon.chat_address import phone_digits
from daemon.client.errors import IqError, IqTimeout
from daemon.client.presence import ChatState
from daemon.outbox import InvalidSendRequest, normalize_chat
from http_api.chat_access import require_chat
from http_api.keys import principal, services
from http_api.problems import Problem, bad_request
from http_api.routes.chats import decode_cursor, encode_cursor
from http_api.routes.common import (
    check_fields,
    json_response,
    query_int,
    read_json,
    session_id_of,
)
from http_api.routes.groups import messenger_of
from storage.directory_interfaces import ContactEntry

MAX_CHECK = 500
DEFAULT_PAGE = 100
MAX_PAGE = 500


def _jid(raw: str, where: str) -> JID:
    try:
        return JID.parse(normalize_chat(raw))
    except InvalidSendRequest as exc:
        raise bad_request(f"bad JID in {where}: {exc}") from None


def _person(request: web.Request) -> JID:
    jid = _jid(request.match_info["jid"], "the path")
    require_chat(request, str(jid))
    return jid


def _unrestricted(request: web.Request) -> None:
    if principal(request).restricted:
        raise Problem(403, "chat-not-allowed", "this API key is restricted to some chats")


def _entry_json(entry: ContactEntry) -> dict[str, Any]:
    return {
        "jid": entry.pn or entry.lid,
        "phoneNumber": entry.pn,
        "lid": entry.lid,
        "pushName": entry.push_name,
        "fullName": entry.full_name,
        "firstName": entry.first_name,
    }


async def list_contacts(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    caller = principal(request)
    limit = query_int(request, "limit", DEFAULT_PAGE, minimum=1, maximum=MAX_PAGE)
    after = 0
    if cursor := request.query.get("cursor"):
        position = decode_cursor(cursor).get("c")
        if not isinstance(position, int):
            raise bad_request("the cursor is not one this API gave out")
        after = position
    directory = services(request).messages.directory
    found: list[ContactEntry] = []
    while len(found) < limit:
        page = await directory.page(session_id, after=after, limit=limit)
        if not page:
            break
        after = page[-1].position
        found += [
            e for e in page if any(caller.may_see_chat(j) for j in (e.pn, e.lid) if j is not None)
        ]
    found = found[:limit]
    next_cursor = encode_cursor({"c": found[-1].position}) if len(found) == limit else None
    return json_response({"contacts": [_entry_json(e) for e in found], "nextCursor": next_cursor})


def _number(raw: Any) -> str | None:
    return phone_digits(raw) if isinstance(raw, str) else None


async def check_numbers(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    _unrestricted(request)
    body = await read_json(request)
    check_fields(body, {"numbers"})
    raw = body.get("numbers")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CHECK:
        raise bad_request(f"'numbers' must be a list of 1 to {MAX_CHECK} phone numbers")
    numbers = [_number(n) for n in raw]
    bad = [raw[i] for i, n in enumerate(numbers) if n is None]
    if bad:
        raise Problem(
            400,
            "invalid-phone-number",
            "not international phone numbers (7 to 15 digits, no leading 0): "
            + ", ".join(repr(b) for b in bad[:10]),
            invalid=[str(b) for b in bad],
        )
    asked = list(dict.fromkeys(n for n in numbers if n is not None))
    lookups = messenger_of(request, session_id).lookups
    try:
        results = await lookups.check(asked)
    except IqTimeout:
        raise Problem(504, "server-timeout", "the server did not answer in time") from None
    return json_response(
        {
            "results": [
                {
                    "number": r.number,
                    "onWhatsApp": r.on_whatsapp,
                    "jid": str(r.jid) if r.on_whatsapp and r.jid is not None else None,
                    "lid": str(r.lid) if r.lid is not None else None,
                    "businessName": r.business_name,
                }
                for r in results
            ]
        }
    )


async def get_picture(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    person = _person(request)
    preview = request.query.get("preview", "false")
    if preview not in ("true", "false"):
        raise bad_request("query parameter 'preview' must be true or false")
    lookups = messenger_of(request, session_id).lookups
    try:
        info = await lookups.picture(person, preview=preview == "true")
    except IqError as exc:
        if exc.code in (401, 403):
            raise Problem(
                403, "picture-hidden", "their privacy settings hide the picture"
            ) from None
        raise
    if info is None:
        raise Problem(404, "no-picture", f"{person} has no profile picture")
    return json_response(
        {
            "jid": str(person),
            "id": info.id,
            "url": info.url,
            "type": info.kind,
            "directPath": info.direct_path,
        }
    )


async def get_lid(request: web.Request) -> web.Response:
    """``{pn, lid}`` for a phone number (asked of the server when not known) or for a LID
    (known only if this session learnt it)."""
    session_id = session_id_of(request)
    _unrestricted(request)
    jid = _jid(request.match_info["jid"], "the path")
    if jid.is_group:
        raise bad_request("a group has no LID")
    lookups = messenger_of(request, session_id).lookups
    if jid.is_pn:
        pn: JID | None = jid
        lid = await lookups.lid_of(jid)
    else:
        pn, lid = await lookups.pn_of(jid), jid
    if pn is None or lid is None:
        raise Problem(404, "mapping-unknown", f"no phone number ↔ LID mapping known for {jid}")
    return json_response({"pn": str(pn), "lid": str(lid)})


async def set_presence(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    _unrestricted(request)
    body = await read_json(request)
    check_fields(body, {"state"})
    state = body.get("state")
    if state not in ("available", "unavailable"):
        raise bad_request("'state' must be available or unavailable")
    await messenger_of(request, session_id).presence.set_available(state == "available")
    return json_response({"state": state})


async def send_chat_presence(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    chat = _jid(request.match_info["jid"], "the path")
    require_chat(request, str(chat))
    if not principal(request).can_send:
        raise Problem(403, "send-not-allowed", "this API key may read but not send")
    body = await read_json(request)
    check_fields(body, {"state"})
    try:
        state = ChatState(str(body.get("state")))
    except ValueError:
        raise bad_request("'state' must be composing, recording or paused") from None
    await messenger_of(request, session_id).presence.send_chatstate(chat, state)
    return json_response({"chat": str(chat), "state": state.value})


async def subscribe_presence(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    person = _person(request)
    if person.is_group:
        raise bad_request("subscribe to a person's presence, not a group's")
    await messenger_of(request, session_id).presence.subscribe(person)
    return json_response({"jid": str(person), "subscribed": True}, status=202)


__all__ = [
    "check_numbers",
    "get_lid",
    "get_picture",
    "list_contacts",
    "send_chat_presence",
    "set_presence",
    "subscribe_presence",
]
