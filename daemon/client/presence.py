"""Presence and chat states (protocol-inventory §12.1, whatsmeow presence.go; pure).

* Our availability: ``presence(type=available|unavailable, name)`` (built by
  :func:`daemon.client.login.build_presence`).
* Subscribing to someone's: ``presence(type=subscribe, to=<jid>)``; the server answers with their
  current presence and then sends every change while we are connected.
* Incoming: ``presence(from[, type=unavailable][, last=<unix>|deny])``.
* Typing in a chat: ``chatstate(to) > composing | composing(media=audio) | paused``; incoming
  ``chatstate(from[, participant]) > ...`` (``composing media=audio`` is "recording").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.errors import StanzaError


class ChatState(enum.StrEnum):
    COMPOSING = "composing"
    RECORDING = "recording"
    PAUSED = "paused"


def build_subscribe(target: JID) -> Node:
    return Node("presence", {"type": "subscribe", "to": target.to_non_ad()})


def build_chatstate(chat: JID, state: ChatState) -> Node:
    if state is ChatState.RECORDING:
        child = Node("composing", {"media": "audio"})
    else:
        child = Node(state.value)
    return Node("chatstate", {"to": chat.to_non_ad()}, [child])


@dataclass(frozen=True, slots=True)
class PresenceUpdate:
    who: JID
    available: bool
    last_seen: int | None
    """Unix seconds of the last time online, when the person lets us know."""


def parse_presence(node: Node) -> PresenceUpdate:
    try:
        who = node.attr_jid("from")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"presence: {exc}") from None
    if who is None:
        raise StanzaError("presence without from")
    last = node.attr_str("last")
    return PresenceUpdate(
        who=who.to_non_ad(),
        available=node.attr_str("type") != "unavailable",
        last_seen=int(last) if last is not None and last.isdigit() else None,
    )


@dataclass(frozen=True, slots=True)
class ChatStateUpdate:
    chat: JID
    """The person, or the group."""
    sender: JID
    """Who is typing (the participant in a group)."""
    state: ChatState


def parse_chatstate(node: Node) -> ChatStateUpdate:
    try:
        chat = node.attr_jid("from")
        participant = node.attr_jid("participant")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"chatstate: {exc}") from None
    if chat is None or not node.children:
        raise StanzaError("chatstate without from or state")
    child = node.children[0]
    if child.tag == "composing":
        state = ChatState.RECORDING if child.attr_str("media") == "audio" else ChatState.COMPOSING
    elif child.tag == "paused":
        state = ChatState.PAUSED
    else:
        raise StanzaError(f"unknown chat state <{child.tag}>")
    sender = participant if participant is not None else chat
    return ChatStateUpdate(chat.to_non_ad(), sender.to_non_ad(), state)


__all__ = [
    "ChatState",
    "ChatStateUpdate",
    "PresenceUpdate",
    "build_chatstate",
    "build_subscribe",
    "parse_chatstate",
    "parse_presence",
]
