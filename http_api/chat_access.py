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


RESTRICTED_ROUTES = frozenset(
    {
        ("GET", "/sessions"),
        ("GET", "/sessions/{id}"),
        ("GET", "/openapi.json"),
        ("GET", "/whoami"),
        ("GET", "/sessions/{id}/events"),
        ("POST", "/sessions/{id}/messages"),
        ("GET", "/sessions/{id}/messages/{message_id}"),
        ("GET", "/sessions/{id}/messages/{message_id}/media"),
        ("POST", "/sessions/{id}/messages/{message_id}/star"),
        ("GET", "/sessions/{id}/outbox"),
        ("GET", "/sessions/{id}/chats"),
        ("GET", "/sessions/{id}/chats/{jid}/messages"),
        ("POST", "/sessions/{id}/chats/{jid}/read"),
        ("POST", "/sessions/{id}/chats/{jid}/history"),
        ("POST", "/sessions/{id}/chats/{jid}/archive"),
        ("POST", "/sessions/{id}/chats/{jid}/pin"),
        ("POST", "/sessions/{id}/chats/{jid}/mute"),
        ("POST", "/sessions/{id}/chats/{jid}/presence"),
        ("GET", "/sessions/{id}/groups"),
        ("GET", "/sessions/{id}/groups/{jid}"),
        ("PATCH", "/sessions/{id}/groups/{jid}"),
        ("POST", "/sessions/{id}/groups/{jid}/participants"),
        ("DELETE", "/sessions/{id}/groups/{jid}/participants"),
        ("POST", "/sessions/{id}/groups/{jid}/admins"),
        ("POST", "/sessions/{id}/groups/{jid}/leave"),
        ("GET", "/sessions/{id}/groups/{jid}/invite"),
        ("DELETE", "/sessions/{id}/groups/{jid}/invite"),
        ("GET", "/sessions/{id}/contacts"),
        ("GET", "/sessions/{id}/contacts/{jid}/picture"),
        ("POST", "/sessions/{id}/contacts/{jid}/subscribe"),
        ("GET", "/sessions/{id}/webhooks"),
        ("POST", "/sessions/{id}/webhooks"),
        ("GET", "/webhooks"),
        ("GET", "/webhooks/{webhook_id}"),
        ("PATCH", "/webhooks/{webhook_id}"),
        ("DELETE", "/webhooks/{webhook_id}"),
        ("GET", "/webhooks/{webhook_id}/deliveries"),
        ("POST", "/webhooks/{webhook_id}/deliveries/replay"),
    }
)
"""What a chat-restricted key may call (each checks the chat); anything else about the whole
session (connect, logout, pairing, number checks, presence...) is 403 for it."""


def refuse_restricted(request: web.Request) -> None:
    """For a chat-restricted key (checked after authentication): 403 outside
    RESTRICTED_ROUTES."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    if (request.method, path) not in RESTRICTED_ROUTES:
        raise Problem(403, "chat-not-allowed", "this API key is restricted to some chats")


__all__ = ["RESTRICTED_ROUTES", "parse_chats", "refuse_restricted", "require_chat", "require_send"]
