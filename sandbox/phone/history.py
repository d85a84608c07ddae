"""What the phone remembers of its chats, and the history sync it builds from that for a companion.

A freshly linked companion gets, as peer protocol messages from device 0 (protocol-inventory §9,
§13.5): INITIAL_BOOTSTRAP with the newest messages of every chat inline
(``initialHistBootstrapInlinePayload``, so no client has to download from a fixed media host),
then PUSH_NAME with the contacts' names, then RECENT with the older messages and
``progress=100``, which tells the companion the sync is complete. Every payload is a
zlib-compressed ``HistorySync``.

The chats come from the phone's seeded history (configurable, empty by default) and from
whatever the phone has exchanged since it started.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from daemon.binary import JID
from waproto import wa_e2e_pb2, wa_history_pb2, wa_web_pb2

__all__ = [
    "ChatMessage",
    "HistoryChunk",
    "HistoryConfig",
    "SeededChat",
    "build_conversations",
    "compress",
    "decompress",
    "history_sync_plan",
    "notification_message",
]

RECENT_DONE_PROGRESS = 100
DEFAULT_BOOTSTRAP_MESSAGES_PER_CHAT = 20

HistoryType = wa_history_pb2.HistorySync.HistorySyncType


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message as the phone's chat list keeps it.

    ``chat`` is the conversation (the peer's account JID, or the group); ``sender`` is the
    author's account JID in groups when the message is not ours (``participant`` in the key).
    ``message`` is the serialized ``wa_e2e.Message``.
    """

    chat: JID
    message_id: str
    from_me: bool
    timestamp: int
    message: bytes
    sender: JID | None = None
    push_name: str = ""

    @classmethod
    def text(
        cls,
        chat: JID,
        message_id: str,
        text: str,
        *,
        from_me: bool,
        timestamp: int,
        sender: JID | None = None,
        push_name: str = "",
    ) -> ChatMessage:
        body = wa_e2e_pb2.Message(conversation=text).SerializeToString()
        return cls(chat, message_id, from_me, timestamp, body, sender, push_name)

    def to_web_message_info(self) -> wa_web_pb2.WebMessageInfo:
        key = wa_e2e_pb2.MessageKey(
            remoteJID=str(self.chat), fromMe=self.from_me, ID=self.message_id
        )
        info = wa_web_pb2.WebMessageInfo(
            key=key,
            message=wa_e2e_pb2.Message.FromString(self.message),
            messageTimestamp=self.timestamp,
            # What the phone's own copy shows: ours were delivered, theirs were read.
            status=(
                wa_web_pb2.WebMessageInfo.DELIVERY_ACK
                if self.from_me
                else wa_web_pb2.WebMessageInfo.READ
            ),
        )
        if self.chat.is_group and not self.from_me and self.sender is not None:
            info.key.participant = str(self.sender)
            info.participant = str(self.sender)
        if self.push_name and not self.from_me:
            info.pushName = self.push_name
        return info


@dataclass(frozen=True, slots=True)
class SeededChat:
    """A chat the phone already has when the sandbox starts (for history tests)."""

    jid: JID
    name: str = ""
    messages: tuple[ChatMessage, ...] = ()
    unread_count: int = 0


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """How the phone answers a new companion's first login."""

    seeded_chats: tuple[SeededChat, ...] = ()
    bootstrap_messages_per_chat: int = DEFAULT_BOOTSTRAP_MESSAGES_PER_CHAT
    """The newest N messages of each chat go inline in INITIAL_BOOTSTRAP; older ones in RECENT."""
    send_history: bool = True
    send_app_state_keys: bool = True


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """One history sync notification to send, with its decompressed payload for inspection."""

    sync_type: wa_e2e_pb2.HistorySyncType
    payload: wa_history_pb2.HistorySync
    chunk_order: int
    progress: int | None = None

    def notification(self, original_message_id: str = "") -> wa_e2e_pb2.HistorySyncNotification:
        data = compress(self.payload)
        notification = wa_e2e_pb2.HistorySyncNotification(
            fileSHA256=hashlib.sha256(data).digest(),
            fileLength=len(data),
            syncType=self.sync_type,
            chunkOrder=self.chunk_order,
            initialHistBootstrapInlinePayload=data,
        )
        if self.progress is not None:
            notification.progress = self.progress
        if original_message_id:
            notification.originalMessageID = original_message_id
        oldest = _oldest_timestamp(self.payload)
        if oldest is not None:
            notification.oldestMsgInChunkTimestampSec = oldest
        return notification


def compress(history: wa_history_pb2.HistorySync) -> bytes:
    return zlib.compress(history.SerializeToString())


def decompress(data: bytes) -> wa_history_pb2.HistorySync:
    """The inverse of ``compress`` (what a companion does with the inline payload)."""
    return wa_history_pb2.HistorySync.FromString(zlib.decompress(data))


def notification_message(
    notification: wa_e2e_pb2.HistorySyncNotification,
) -> wa_e2e_pb2.Message:
    """The E2E message that carries a history sync notification to a companion."""
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION,
            historySyncNotification=notification,
        )
    )


def build_conversations(
    messages: Iterable[ChatMessage],
    *,
    names: Mapping[JID, str] | None = None,
    unread: Mapping[JID, int] | None = None,
    chats: Sequence[JID] = (),
) -> list[wa_history_pb2.Conversation]:
    """Conversations, newest chat first, each with its messages oldest first.

    ``chats`` lists conversations to include even when they hold no message (seeded chats).
    """
    by_chat: dict[JID, list[ChatMessage]] = {jid: [] for jid in chats}
    for message in messages:
        by_chat.setdefault(message.chat, []).append(message)
    names = names or {}
    unread = unread or {}
    built: list[tuple[int, wa_history_pb2.Conversation]] = []
    for chat, chat_messages in by_chat.items():
        chat_messages.sort(key=lambda m: (m.timestamp, m.message_id))
        conversation = wa_history_pb2.Conversation(ID=str(chat))
        for order, message in enumerate(chat_messages, start=1):
            conversation.messages.add(message=message.to_web_message_info(), msgOrderID=order)
        last = chat_messages[-1].timestamp if chat_messages else 0
        if last:
            conversation.lastMsgTimestamp = last
            conversation.conversationTimestamp = last
        if names.get(chat):
            conversation.name = names[chat]
        if unread.get(chat):
            conversation.unreadCount = unread[chat]
        built.append((last, conversation))
    built.sort(key=lambda item: -item[0])
    return [conversation for _, conversation in built]


def history_sync_plan(
    messages: Sequence[ChatMessage],
    *,
    seeded_chats: Sequence[SeededChat] = (),
    push_names: Mapping[JID, str] | None = None,
    lid_mappings: Mapping[JID, JID] | None = None,
    bootstrap_messages_per_chat: int = DEFAULT_BOOTSTRAP_MESSAGES_PER_CHAT,
) -> list[HistoryChunk]:
    """INITIAL_BOOTSTRAP, PUSH_NAME, RECENT(progress=100), in the order a phone sends them.

    ``messages`` is what the phone exchanged since it started; seeded chats' messages are added.
    ``lid_mappings`` maps PN account JIDs to LID account JIDs (HistorySync field 15).
    """
    if bootstrap_messages_per_chat < 0:
        raise ValueError("bootstrap_messages_per_chat cannot be negative")
    everything: list[ChatMessage] = [m for chat in seeded_chats for m in chat.messages]
    seen = {(m.chat, m.message_id) for m in everything}
    everything.extend(m for m in messages if (m.chat, m.message_id) not in seen)
    names = {chat.jid: chat.name for chat in seeded_chats if chat.name}
    unread = {chat.jid: chat.unread_count for chat in seeded_chats if chat.unread_count}
    chat_order = [chat.jid for chat in seeded_chats]

    bootstrap: list[ChatMessage] = []
    recent: list[ChatMessage] = []
    by_chat: dict[JID, list[ChatMessage]] = {}
    for message in everything:
        by_chat.setdefault(message.chat, []).append(message)
    for chat_messages in by_chat.values():
        chat_messages.sort(key=lambda m: (m.timestamp, m.message_id))
        split = max(len(chat_messages) - bootstrap_messages_per_chat, 0)
        recent.extend(chat_messages[:split])
        bootstrap.extend(chat_messages[split:])

    initial = wa_history_pb2.HistorySync(syncType=HistoryType.INITIAL_BOOTSTRAP, chunkOrder=0)
    initial.conversations.extend(
        build_conversations(bootstrap, names=names, unread=unread, chats=chat_order)
    )
    for pn, lid in sorted((lid_mappings or {}).items(), key=lambda item: str(item[0])):
        initial.phoneNumberToLidMappings.add(pnJID=str(pn), lidJID=str(lid))

    names_sync = wa_history_pb2.HistorySync(syncType=HistoryType.PUSH_NAME, chunkOrder=0)
    for jid, name in sorted((push_names or {}).items(), key=lambda item: str(item[0])):
        if name:
            names_sync.pushnames.add(ID=str(jid), pushname=name)

    recent_sync = wa_history_pb2.HistorySync(
        syncType=HistoryType.RECENT, chunkOrder=0, progress=RECENT_DONE_PROGRESS
    )
    recent_sync.conversations.extend(build_conversations(recent, names=names))

    return [
        HistoryChunk(wa_e2e_pb2.INITIAL_BOOTSTRAP, initial, 0),
        HistoryChunk(wa_e2e_pb2.PUSH_NAME, names_sync, 0),
        HistoryChunk(wa_e2e_pb2.RECENT, recent_sync, 0, progress=RECENT_DONE_PROGRESS),
    ]


def _oldest_timestamp(history: wa_history_pb2.HistorySync) -> int | None:
    stamps = [
        item.message.messageTimestamp
        for conversation in history.conversations
        for item in conversation.messages
        if item.message.messageTimestamp
    ]
    return min(stamps) if stamps else None
