"""Chat permissions of session keys: a key restricted to some chats (JIDs of groups or people)
sees only those chats wherever chats appear (chat list, messages, outbox, groups, media,
events, webhooks) and may send only there, and only if it may send at all. Anything else is
403 ``chat-not-allowed`` / ``send-not-allowed``; the admin key and unrestricted keys see all.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.outbox import InvalidSendRequest, normalize_chat
from http_api.keys import principal
from http_api.problems import Problem, bad_request

MAX_CHATS = 1000


def require_chat(request: web.Request, chat: str) -> None:
    if not principal(request).may_see_chat(chat):
        raise Problem(403, "chat-not-allowed", f"this API key may not see chat {chat}", chat=chat)


def require_send(request: web.Request, chat: str) -> None:
    caller = principal(request)
    if not caller.can_send:
        raise Problem(403, "send-not-allowed", "this API key may read but not send")
    require_chat(request, chat)


def parse_chats(value: Any) -> tuple[str, ...] | None:
    """A key's ``chats`` field: a list of JIDs or phone numbers (null: every chat)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_CHATS:
        raise bad_request(f"'chats' must be a list of up to {MAX_CHATS} chat JIDs, or null")
    chats = []
    for raw in value:
        if not isinstance(raw, str):
            raise bad_request("'chats' holds JID strings")
        try:
            chats.append(normalize_chat(raw))
        except InvalidSendRequest as exc:
            raise bad_request(f"'chats': {raw!r} is not a chat ({exc})") from None
    return tuple(chats)


__all__ = ["parse_chats", "require_chat", "require_send"]
