"""What the client's sync layer offers over HTTP: a media message's file (downloaded on
demand), asking the phone for a chat's older messages, and archiving a chat (an app-state
patch the phone and every other device apply).

Each is a capability of the session's client (a Protocol in ``daemon.linked_device``), not
part of the LinkedDevice protocol the manager knows: a client without it is answered with a
clear 409, as for read receipts."""

from __future__ import annotations

from aiohttp import web

from daemon.binary import JID
from daemon.linked_device import ChatArchiving, HistoryRequester, MediaDownloads
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
from http_api.validation import chat_jid

DEFAULT_HISTORY_COUNT = 50
MAX_HISTORY_COUNT = 500
FALLBACK_MIMETYPE = "application/octet-stream"


def _not_supported(what: str) -> Problem:
    return Problem(409, "not-supported", f"this session's client cannot {what}")


def _chat(raw: str, where: str) -> JID:
    return JID.parse(chat_jid(raw, where))


async def get_media(request: web.Request) -> web.StreamResponse:
    """The file of a stored media message. A message id is unique only within its chat, so
    the chat is the ``chat`` query parameter."""
    session_id = session_id_of(request)
    message_id = request.match_info["message_id"]
    raw_chat = request.query.get("chat")
    if not raw_chat:
        raise bad_request("query parameter 'chat' (the message's chat JID) is required")
    chat = _chat(raw_chat, "'chat'")
    require_chat(request, str(chat))
    require_paired(request, session_id)
    client = services(request).manager.client(session_id)
    if not isinstance(client, MediaDownloads):
        raise _not_supported("download media")
    stored = await client.download_media(chat, message_id)
    file = stored.record.file
    mimetype = (file.mimetype if file is not None else None) or FALLBACK_MIMETYPE
    return web.FileResponse(stored.path, headers={"Content-Type": mimetype})


async def request_history(request: web.Request) -> web.Response:
    """Asks the phone for older messages of the chat; they arrive later, as history."""
    session_id = session_id_of(request)
    chat = _chat(request.match_info["jid"], "the path")
    require_chat(request, str(chat))
    body = await read_json(request, optional=True)
    check_fields(body, {"count"})
    count = body.get("count", DEFAULT_HISTORY_COUNT)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_HISTORY_COUNT:
        raise bad_request(f"'count' must be an integer from 1 to {MAX_HISTORY_COUNT}")
    require_paired(request, session_id)
    client = services(request).manager.client(session_id)
    if not isinstance(client, HistoryRequester):
        raise _not_supported("request history")
    result = await client.request_history(chat, count=count, wait=False)
    return json_response({"requested": True, "requestId": str(result.request_id)}, status=202)


async def archive_chat(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    chat = _chat(request.match_info["jid"], "the path")
    require_chat(request, str(chat))
    body = await read_json(request)
    check_fields(body, {"archived"})
    archived = body.get("archived")
    if not isinstance(archived, bool):
        raise bad_request("'archived' (a boolean) is required")
    require_paired(request, session_id)
    client = services(request).manager.client(session_id)
    if not isinstance(client, ChatArchiving):
        raise _not_supported("archive chats")
    await client.archive_chat(chat, archived)
    return json_response({"archived": archived})


__all__ = ["archive_chat", "get_media", "request_history"]
