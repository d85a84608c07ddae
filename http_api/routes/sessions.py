"""Sessions: create, list, get (with a real status check), update, delete, connect, disconnect,
reconnect, logout, QR pairing (JSON, PNG, SVG), pair codes, and session API keys."""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from daemon.client.pair_code import normalize_phone
from daemon.event_format import iso_from_unix
from daemon.fleet.views import session_views
from http_api import qr_image
from http_api.chat_access import parse_chats
from http_api.keys import principal, services
from http_api.problems import Problem, bad_request
from http_api.routes.common import (
    check_fields,
    json_response,
    optional_bool,
    optional_str,
    query_float,
    read_json,
    require_admin,
    session_id_of,
)
from http_api.shapes import api_key_json, issued_key_json, qr_json, session_json

SESSION_ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
SESSION_ID = re.compile(SESSION_ID_PATTERN)
"""Always ``fullmatch``: ``$`` would let a trailing newline through."""
PHONE = re.compile(r"\+?[1-9][0-9 ().-]{5,38}[0-9]")
"""What a pair-code request's phone may look like before its digits are taken."""
MAX_NAME = 200
MAX_WAIT_S = 60.0


async def list_sessions(request: web.Request) -> web.Response:
    svc = services(request)
    caller = principal(request)
    views = await session_views(svc.manager, svc.stores, svc.fleet, caller.may_access)
    return json_response({"sessions": [session_json(view) for view in views]})


async def create_session(request: web.Request) -> web.Response:
    require_admin(request)
    body = await read_json(request, optional=True)
    check_fields(body, {"id", "name", "autoConnect"})
    given = optional_str(body, "id")
    session_id = "s_" + secrets.token_hex(6) if given is None else given
    if not SESSION_ID.fullmatch(session_id):
        raise bad_request(
            "'id' must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    name = optional_str(body, "name") or ""
    if len(name) > MAX_NAME:
        raise bad_request(f"'name' is longer than {MAX_NAME} characters")
    auto_connect = optional_bool(body, "autoConnect")
    svc = services(request)
    view = await svc.manager.create(
        session_id, name=name, auto_connect=True if auto_connect is None else auto_connect
    )
    issued = await svc.keys.issue(session_id, "created with the session")
    return json_response(
        {"session": session_json(view), "apiKey": issued_key_json(issued)},
        status=201,
        headers={"Location": f"/sessions/{session_id}"},
    )


async def get_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    view = await services(request).manager.check(session_id)
    return json_response(session_json(view))


async def update_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    body = await read_json(request)
    check_fields(body, {"name", "autoConnect", "active"})
    name = optional_str(body, "name")
    if name is not None and len(name) > MAX_NAME:
        raise bad_request(f"'name' is longer than {MAX_NAME} characters")
    view = await services(request).manager.update(
        session_id,
        name=name,
        auto_connect=optional_bool(body, "autoConnect"),
        active=optional_bool(body, "active"),
    )
    return json_response(session_json(view))


async def delete_session(request: web.Request) -> web.Response:
    """Logout then delete; deleting a session that is not there is not an error."""
    require_admin(request)
    session_id = request.match_info["id"]
    if not SESSION_ID.fullmatch(session_id):
        raise Problem(404, "session-not-found", "no session can have this id")
    try:
        await services(request).manager.delete(session_id)
    finally:
        services(request).keys.forget_session(session_id)
    return web.Response(status=204)


async def connect(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    manager = services(request).manager
    await manager.connect(session_id)
    return json_response(session_json(await manager.view(session_id)), status=202)


async def disconnect(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    manager = services(request).manager
    await manager.disconnect(session_id)
    return json_response(session_json(await manager.view(session_id)))


async def reconnect(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    wait = query_float(request, "wait", 10.0, maximum=MAX_WAIT_S)
    result = await services(request).manager.reconnect(session_id, wait=wait)
    return json_response({"success": result.success, "message": result.message})


async def logout(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    manager = services(request).manager
    await manager.logout(session_id)
    return json_response(session_json(await manager.view(session_id)))


async def start_pairing(request: web.Request) -> web.Response:
    """Starts QR pairing (idempotent) and answers with the first QR once it is there."""
    session_id = session_id_of(request)
    wait = query_float(request, "wait", 10.0, maximum=MAX_WAIT_S)
    qr = await services(request).manager.start_pairing(session_id, wait=wait)
    if qr is None:
        return json_response({"sessionId": session_id, "status": "pairing"}, status=202)
    return json_response(qr_json(session_id, qr))


def _qr_format(request: web.Request) -> str:
    wanted = request.query.get("format")
    if wanted is None:
        accept = request.headers.get("Accept", "")
        if "image/png" in accept:
            wanted = "png"
        elif "image/svg+xml" in accept:
            wanted = "svg"
        else:
            wanted = "json"
    if wanted not in ("json", "png", "svg"):
        raise bad_request("'format' must be json, png or svg")
    return wanted


async def get_qr(request: web.Request) -> web.StreamResponse:
    session_id = session_id_of(request)
    fmt = _qr_format(request)
    manager = services(request).manager
    qr = manager.current_qr(session_id)
    if qr is None:
        status = manager.status_of(session_id).value
        raise Problem(
            404,
            "no-qr",
            f"no QR to show (session is {status}); POST /sessions/{session_id}/pair starts pairing",
            sessionId=session_id,
        )
    headers = {"Cache-Control": "no-store"}
    if fmt == "png":
        return web.Response(body=qr_image.png(qr.code), content_type="image/png", headers=headers)
    if fmt == "svg":
        return web.Response(
            body=qr_image.svg(qr.code), content_type="image/svg+xml", headers=headers
        )
    return json_response(qr_json(session_id, qr), headers=headers)


async def request_pair_code(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    body = await read_json(request)
    check_fields(body, {"phone"})
    phone = optional_str(body, "phone")
    if phone is None or not PHONE.fullmatch(phone):
        raise Problem(
            400,
            "invalid-phone-number",
            "'phone' is required: an international number, e.g. +15551234567 (7 to 20 digits)",
        )
    digits = normalize_phone(phone)
    code = await services(request).manager.request_pair_code(session_id, digits)
    return json_response(
        {
            "sessionId": session_id,
            "code": code.code,
            "phone": code.phone,
            "expiresAt": iso_from_unix(code.expires_at),
        }
    )


async def list_api_keys(request: web.Request) -> web.Response:
    require_admin(request)
    session_id = session_id_of(request)
    rows = await services(request).keys.repo.list_for_session(session_id)
    return json_response({"apiKeys": [api_key_json(row) for row in rows]})


async def create_api_key(request: web.Request) -> web.Response:
    require_admin(request)
    session_id = session_id_of(request)
    body = await read_json(request, optional=True)
    check_fields(body, {"label", "chats", "canSend", "createdBy"})
    label = _label(body, "label") or ""
    can_send = optional_bool(body, "canSend")
    issued = await services(request).keys.issue(
        session_id,
        label,
        chats=parse_chats(body.get("chats")),
        can_send=True if can_send is None else can_send,
        created_by=_label(body, "createdBy") or "admin",
    )
    return json_response(issued_key_json(issued), status=201)


def _label(body: dict[str, Any], name: str) -> str | None:
    value = optional_str(body, name)
    if value is not None and len(value) > MAX_NAME:
        raise bad_request(f"'{name}' is longer than {MAX_NAME} characters")
    return value


async def update_api_key(request: web.Request) -> web.Response:
    """Changes a key's label, chats (null lifts the restriction) or right to send; requests
    and open event streams of the key follow at once."""
    require_admin(request)
    session_id = session_id_of(request)
    body = await read_json(request)
    check_fields(body, {"label", "chats", "canSend"})
    row = await services(request).keys.update(
        session_id,
        request.match_info["key_id"],
        label=_label(body, "label"),
        set_chats="chats" in body,
        chats=parse_chats(body.get("chats")),
        can_send=optional_bool(body, "canSend"),
    )
    return json_response(api_key_json(row))


async def delete_api_key(request: web.Request) -> web.Response:
    require_admin(request)
    session_id = session_id_of(request)
    await services(request).keys.revoke(session_id, request.match_info["key_id"])
    return web.Response(status=204)


__all__ = [
    "connect",
    "create_api_key",
    "create_session",
    "delete_api_key",
    "delete_session",
    "disconnect",
    "get_qr",
    "get_session",
    "list_api_keys",
    "list_sessions",
    "logout",
    "reconnect",
    "request_pair_code",
    "start_pairing",
    "update_api_key",
    "update_session",
]
