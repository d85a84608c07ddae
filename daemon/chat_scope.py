"""Which chat an event is about, for keys and webhooks restricted to some chats (pure).

Events name their chat in one of a few places (``message.chat``, ``chat`` as a JID or as a
chat object, ``group.jid``); events about no chat (connection state, alerts, pairing) have
none and are not filtered by chat.
"""

from __future__ import annotations

from typing import Any


def event_chat(data: dict[str, Any]) -> str | None:
    """The chat JID an event's data is about, or None."""
    message = data.get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), str):
        return str(message["chat"])
    chat = data.get("chat")
    if isinstance(chat, str):
        return chat
    if isinstance(chat, dict) and isinstance(chat.get("jid"), str):
        return str(chat["jid"])
    group = data.get("group")
    if isinstance(group, dict) and isinstance(group.get("jid"), str):
        return str(group["jid"])
    return None


def visible(chats: frozenset[str] | None, data: dict[str, Any]) -> bool:
    """Whether an event with ``data`` may be shown to a holder of ``chats`` (None: all)."""
    if chats is None:
        return True
    chat = event_chat(data)
    return chat is None or chat in chats


__all__ = ["event_chat", "visible"]
