"""Presence of one session: announcing ours, typing indicators to a chat, subscribing to
someone's, and turning the presence and chat states the server relays into events."""

from __future__ import annotations

from daemon.binary import JID, Node
from daemon.client.connection import Connection
from daemon.client.errors import StanzaError
from daemon.client.login import build_presence
from daemon.client.message_context import MessagingContext
from daemon.client.message_events import ChatStateChanged, PresenceChanged
from daemon.client.presence import (
    ChatState,
    build_chatstate,
    build_subscribe,
    parse_chatstate,
    parse_presence,
)


class PresenceService:
    def __init__(self, m: MessagingContext) -> None:
        self._m = m

    def install(self, connection: Connection) -> None:
        connection.router.by_tag["presence"] = self._on_presence
        connection.router.by_tag["chatstate"] = self._on_chatstate

    async def set_available(self, available: bool) -> None:
        m = self._m
        connection = m.require_connection()
        credentials = m.session.require_credentials()
        name = credentials.push_name or m.session.config.push_name
        await connection.send(build_presence(name, available))

    async def send_chatstate(self, chat: JID, state: ChatState) -> None:
        await self._m.require_connection().send(build_chatstate(chat, state))

    async def subscribe(self, target: JID) -> None:
        await self._m.require_connection().send(build_subscribe(target))

    async def _on_presence(self, node: Node) -> None:
        m = self._m
        try:
            update = parse_presence(node)
        except StanzaError as exc:
            m.log.info("client.presence_unreadable", error=str(exc))
            return
        if m.addressing.is_own(update.who):
            return
        who = str(m.addressing.account(update.who))
        async with m.unit() as events:
            events.append(PresenceChanged(m.session_id, who, update.available, update.last_seen))

    async def _on_chatstate(self, node: Node) -> None:
        m = self._m
        try:
            update = parse_chatstate(node)
        except StanzaError as exc:
            m.log.info("client.chatstate_unreadable", error=str(exc))
            return
        chat = update.chat if update.chat.is_group else m.addressing.account(update.chat)
        sender = m.addressing.account(update.sender)
        async with m.unit() as events:
            events.append(
                ChatStateChanged(m.session_id, str(chat), str(sender), update.state.value)
            )


__all__ = ["PresenceService"]
