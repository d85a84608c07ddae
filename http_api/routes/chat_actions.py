"""Chat actions every device of the account applies, sent as app-state patches (as the phone
sends them): pin, mute (for a while or for good) and star a message. Archive and unarchive
are ``POST .../archive`` (``http_api.routes.sync``)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from daemon.binary import JID
from daemon.client.messaging_errors import TargetNotFound
from daemon.client.session import Session
from daemon.outbox import InvalidSendRequest, normalize_chat
from http_api.chat_access import require_chat
from http_api.keys import services
from http_api.problems import Problem, bad_request
from http_api.routes.common import (
    check_fields,
    json_response,
    read_json,
    require_paired,
    session_id_of,
)
from storage.sync_values import MUTED_FOREVER


def _app_state_client(request: web.Request, session_id: str) -> Session:
    require_paired(request, session_id)
    client = services(request).manager.client(session_id)
    if not isinstance(client, Session):
        raise Problem(409, "not-supported", "this session's client cannot change chat settings")
    return client


def _chat(request: web.Request, raw: str) -> JID:
    try:
        chat = JID.parse(normalize_chat(raw))
    except InvalidSendRequest as exc:
        raise bad_request(f"bad chat: {exc}") from None
    require_chat(request, str(chat))
    return chat


def _flag(body: dict[str, object], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise bad_request(f"'{name}' (a boolean) is required")
    return value


async def pin_chat(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    chat = _chat(request, request.match_info["jid"])
    body = await read_json(request)
    check_fields(body, {"pinned"})
    pinned = _flag(body, "pinned")
    client = _app_state_client(request, session_id)
    await client.pin_chat(chat, pinned)
    return json_response({"chat": str(chat), "pinned": pinned})


async def mute_chat(request: web.Request) -> web.Response:
    """``{muted: true, until?: RFC 3339}`` mutes until then (for good without ``until``);
    ``{muted: false}`` unmutes."""
    session_id = session_id_of(request)
    chat = _chat(request, request.match_info["jid"])
    body = await read_json(request)
    check_fields(body, {"muted", "until"})
    muted = _flag(body, "muted")
    until = body.get("until")
    muted_until: int | None = None
    if muted:
        muted_until = MUTED_FOREVER
        if "until" in body:
            if not isinstance(until, str):
                raise bad_request("'until' must be an RFC 3339 time")
            try:
                moment = datetime.fromisoformat(until)
            except ValueError:
                raise bad_request("'until' must be an RFC 3339 time") from None
            if moment.tzinfo is None:
                raise bad_request("'until' needs a time zone (Z or an offset)")
            muted_until = int(moment.timestamp() * 1000)
    elif "until" in body:
        raise bad_request("'until' goes with muted: true")
    client = _app_state_client(request, session_id)
    await client.mute_chat(chat, muted_until)
    shown = None if muted_until in (None, MUTED_FOREVER) else until
    return json_response({"chat": str(chat), "muted": muted, "until": shown})


async def star_message(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    message_id = request.match_info["message_id"]
    body = await read_json(request)
    check_fields(body, {"chat", "starred"})
    raw_chat = body.get("chat")
    if not isinstance(raw_chat, str):
        raise bad_request("'chat' (the message's chat JID) is required")
    chat = _chat(request, raw_chat)
    starred = _flag(body, "starred")
    client = _app_state_client(request, session_id)
    try:
        await client.star_message(chat, message_id, starred)
    except TargetNotFound as exc:
        raise Problem(404, "message-not-found", str(exc)) from None
    return json_response({"chat": str(chat), "id": message_id, "starred": starred})


__all__ = ["mute_chat", "pin_chat", "star_message"]
