"""Sending: ``POST /sessions/{id}/messages`` (202 at once; the outbox sends), a sent message's
state, the session's outbox and its pause."""

from __future__ import annotations

import re

from aiohttp import web

from daemon.outbox import (
    MEDIA_KINDS,
    SendRequest,
    describe,
    normalize_chat,
    parse_send_request,
)
from http_api import media_intake
from http_api.chat_access import require_chat, require_send
from http_api.keys import principal, services
from http_api.media_intake import discard_staged
from http_api.problems import Problem, bad_request
from http_api.routes.chats import message_detail
from http_api.routes.common import (
    json_response,
    query_int,
    read_json,
    require_paired,
    session_id_of,
)
from http_api.routes.groups import refuse_read_only_group
from http_api.shapes import pause_json
from http_api.validation import query_choice
from storage.outbox_values import OutboxStatus

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[ -~]{1,255}")
MAX_PAGE = 100


async def send_message(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    svc = services(request)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise bad_request(f"{IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters")
    send = await _send_request(request)
    try:
        require_send(request, send.to)
        require_paired(request, session_id)
        await refuse_read_only_group(request, session_id, send.to)
        accepted = await svc.outbox.accept(session_id, send, key)
    except BaseException:
        discard_staged(send)
        raise
    if accepted.replayed:
        discard_staged(send)
    headers = {"Location": f"/sessions/{session_id}/messages/{accepted.row.id}"}
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(describe(accepted.row), status=202, headers=headers)


async def _send_request(request: web.Request) -> SendRequest:
    """The request from a JSON body, or with a file (multipart upload or ``url``), staged.
    A ``url`` is fetched only once the key may send to the chat and the chat takes sends."""
    config = services(request).config
    if request.content_type == "multipart/form-data":
        return await media_intake.from_multipart(request, config)
    body = await read_json(request)
    kind = body.get("type")
    if isinstance(kind, str) and kind in MEDIA_KINDS and "url" in body:
        to = body.get("to")
        if not isinstance(to, str):
            raise bad_request("'to' is required (a JID or a phone number)")
        chat = normalize_chat(to)
        require_send(request, chat)
        await refuse_read_only_group(request, request.match_info["id"], chat)
        return await media_intake.from_url(body, config)
    return parse_send_request(body)


async def get_message(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    message_id = request.match_info["message_id"]
    row = await services(request).outbox.repo.get(session_id, message_id)
    if row is None:
        raise Problem(404, "message-not-found", f"no message {message_id!r} in this session")
    require_chat(request, row.chat_jid)
    return json_response({**describe(row), **await message_detail(session_id, row.id, request)})


async def list_outbox(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    svc = services(request)
    status = query_choice(request, "status", OutboxStatus)
    limit = query_int(request, "limit", 20, minimum=1, maximum=MAX_PAGE)
    before = request.query.get("before") or None
    rows = await svc.outbox.repo.page(session_id, status=status, before_id=before, limit=limit)
    counts = await svc.outbox.repo.counts(session_id)
    caller = principal(request)
    return json_response(
        {
            "messages": [describe(row) for row in rows if caller.may_see_chat(row.chat_jid)],
            "nextCursor": rows[-1].id if len(rows) == limit else None,
            "counts": {s.value: counts.get(s, 0) for s in OutboxStatus},
            "paused": pause_json(await svc.outbox.pause_of(session_id)),
        }
    )


async def resume_outbox(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    resumed = await services(request).outbox.resume(session_id)
    return json_response({"resumed": resumed})


__all__ = ["get_message", "list_outbox", "resume_outbox", "send_message"]
