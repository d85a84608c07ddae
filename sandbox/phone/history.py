"""What the phone remembers of its chats, and the history sync it builds from that for a companion.

A freshly linked companion gets, as peer protocol messages from device 0 (protocol-inventory §9,
§13.5), in the order seen on a real link:

1. INITIAL_BOOTSTRAP, inline (``initialHistBootstrapInlinePayload``): every conversation with
   its newest ``bootstrap_messages_per_chat`` messages, and the phone-number -> LID mappings;
2. PUSH_NAME: the contacts' push names;
3. RECENT chunks: the next older ``recent_messages_per_chat`` messages of each chat, at most
   ``chunk_messages`` per chunk, ``progress`` rising to 100 on the last one (which tells the
   companion the recent sync is complete; an empty RECENT chunk is still sent for that);
4. FULL chunks: everything older, when ``send_full_history``.

Every chunk but the bootstrap is a blob the phone uploads to the media host, encrypted with the
"WhatsApp History Keys" expansion of a fresh media key, unless ``inline_everything`` (Baileys
only downloads from WhatsApp's fixed media host, so it needs that). A blob is a zlib-compressed
``HistorySync`` built by ``daemon.crypto.history``: conversations list their messages newest
first, as phones do, with ``msgOrderID`` counting from the chat's oldest message.

The history is the union of the configured seeded chats, the history seeded through the admin
API (``sandbox.phone.history_seed``) and what the phone exchanged since it started.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from daemon.binary import JID
from daemon.crypto.history import (
    HistoryConversation,
    HistoryMessage,
    HistorySyncKind,
    MessageStatus,
    PhoneNumberLidMapping,
    PushName,
    build_history_sync,
)
from waproto import wa_e2e_pb2, wa_history_pb2, wa_web_pb2

__all__ = [
    "DEFAULT_BOOTSTRAP_MESSAGES_PER_CHAT",
    "RECENT_DONE_PROGRESS",
    "BlobLocation",
    "ChatHistory",
    "ChatMessage",
    "HistoryBook",
    "HistoryChunk",
    "HistoryConfig",
    "SeededChat",
    "decompress",
    "history_sync_plan",
    "notification_message",
    "on_demand_chunk",
]

RECENT_DONE_PROGRESS = 100
DEFAULT_BOOTSTRAP_MESSAGES_PER_CHAT = 20
DEFAULT_RECENT_MESSAGES_PER_CHAT = 200
DEFAULT_CHUNK_MESSAGES = 2500
MAX_ON_DEMAND_MESSAGES = 500


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

    @property
    def status(self) -> MessageStatus:
        # What the phone's own copy shows: ours were delivered, theirs were read.
        return MessageStatus.DELIVERY_ACK if self.from_me else MessageStatus.READ

    def to_web_message_info(self) -> wa_web_pb2.WebMessageInfo:
        """The message as a companion gets it in a placeholder resend."""
        key = wa_e2e_pb2.MessageKey(
            remoteJID=str(self.chat), fromMe=self.from_me, ID=self.message_id
        )
        info = wa_web_pb2.WebMessageInfo(
            key=key,
            message=wa_e2e_pb2.Message.FromString(self.message),
            messageTimestamp=self.timestamp,
            status=cast(wa_web_pb2.WebMessageInfo.Status, int(self.status)),
        )
        if self.chat.is_group and not self.from_me and self.sender is not None:
            info.key.participant = str(self.sender)
            info.participant = str(self.sender)
        if self.push_name and not self.from_me:
            info.pushName = self.push_name
        return info

    def to_history_message(self, order_id: int) -> HistoryMessage:
        sender = (
            str(self.sender) if self.chat.is_group and self.sender and not self.from_me else None
        )
        return HistoryMessage(
            chat_jid=str(self.chat),
            message_id=self.message_id,
            from_me=self.from_me,
            sender=sender,
            timestamp=self.timestamp,
            message=self.message,
            status=self.status,
            push_name=self.push_name if self.push_name and not self.from_me else None,
            order_id=order_id,
            message_secret=self.secret,
        )

    @property
    def secret(self) -> bytes | None:
        """The message's ``messageSecret`` (polls, events): phones hand it over beside the
        message in a history sync (WebMessageInfo.messageSecret)."""
        content = wa_e2e_pb2.Message.FromString(self.message)
        secret = content.messageContextInfo.messageSecret
        return secret or None


@dataclass(frozen=True, slots=True)
class SeededChat:
    """A chat the phone already has (configured, or seeded through the admin API)."""

    jid: JID
    name: str = ""
    messages: tuple[ChatMessage, ...] = ()
    unread_count: int = 0
    archived: bool = False
    pinned: int = 0
    """When the chat was pinned (unix seconds); 0 when it is not."""
    mute_end: int = 0


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """How the phone answers a new companion's first login."""

    seeded_chats: tuple[SeededChat, ...] = ()
    bootstrap_messages_per_chat: int = DEFAULT_BOOTSTRAP_MESSAGES_PER_CHAT
    """The newest N messages of each chat go inline in INITIAL_BOOTSTRAP."""
    recent_messages_per_chat: int = DEFAULT_RECENT_MESSAGES_PER_CHAT
    """The next older N messages of each chat go in RECENT chunks; older ones in FULL."""
    chunk_messages: int = DEFAULT_CHUNK_MESSAGES
    """At most this many messages per RECENT or FULL chunk."""
    send_full_history: bool = True
    inline_everything: bool = False
    """Every chunk inline instead of a media-host blob (for clients that download only from
    WhatsApp's own media host)."""
    send_history: bool = True
    send_app_state_keys: bool = True

    def __post_init__(self) -> None:
        if self.bootstrap_messages_per_chat < 0 or self.recent_messages_per_chat < 0:
            raise ValueError("messages per chat cannot be negative")
        if self.chunk_messages < 1:
            raise ValueError("a chunk holds at least one message")


@dataclass(slots=True)
class ChatHistory:
    """One chat of the phone: its settings and its messages, oldest first."""

    jid: JID
    name: str = ""
    unread_count: int = 0
    archived: bool = False
    pinned: int = 0
    mute_end: int = 0
    messages: list[ChatMessage] = field(default_factory=list)

    @property
    def last_activity(self) -> int:
        return self.messages[-1].timestamp if self.messages else 0

    def conversation(self) -> HistoryConversation:
        return HistoryConversation(
            chat_jid=str(self.jid),
            name=self.name or None,
            unread_count=self.unread_count,
            archived=self.archived,
            pinned=self.pinned,
            mute_end=self.mute_end,
            last_activity=self.last_activity,
        )


class HistoryBook:
    """Every chat the phone knows, merged from its sources (a message id counts once per chat)."""

    def __init__(
        self, seeded_chats: Iterable[SeededChat] = (), exchanged: Iterable[ChatMessage] = ()
    ) -> None:
        self._chats: dict[JID, ChatHistory] = {}
        self._by_id: dict[str, ChatMessage] = {}
        seen: set[tuple[JID, str]] = set()
        for seeded in seeded_chats:
            chat = self._chat(seeded.jid)
            chat.name = seeded.name or chat.name
            chat.unread_count = seeded.unread_count or chat.unread_count
            chat.archived = seeded.archived or chat.archived
            chat.pinned = seeded.pinned or chat.pinned
            chat.mute_end = seeded.mute_end or chat.mute_end
            self._add(seeded.messages, seen)
        self._add(exchanged, seen)
        for chat in self._chats.values():
            chat.messages.sort(key=lambda m: (m.timestamp, m.message_id))

    def _chat(self, jid: JID) -> ChatHistory:
        chat = self._chats.get(jid)
        if chat is None:
            chat = self._chats[jid] = ChatHistory(jid)
        return chat

    def _add(self, messages: Iterable[ChatMessage], seen: set[tuple[JID, str]]) -> None:
        for message in messages:
            key = (message.chat, message.message_id)
            if key in seen:
                continue
            seen.add(key)
            self._chat(message.chat).messages.append(message)
            self._by_id.setdefault(message.message_id, message)

    def chats(self) -> list[ChatHistory]:
        """Newest chat first; chats without messages last, in the order they were given."""
        return sorted(self._chats.values(), key=lambda c: -c.last_activity)

    def chat(self, jid: JID) -> ChatHistory | None:
        return self._chats.get(jid)

    def find(self, message_id: str) -> ChatMessage | None:
        return self._by_id.get(message_id)

    @property
    def message_count(self) -> int:
        return sum(len(chat.messages) for chat in self._chats.values())


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """Where an uploaded history blob is and how to open it."""

    direct_path: str
    media_key: bytes
    file_enc_sha256: bytes


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """One history sync notification to send: its zlib blob and what the notification says."""

    sync_type: HistorySyncKind
    blob: bytes
    chunk_order: int
    progress: int | None = None
    message_count: int = 0
    oldest_timestamp: int | None = None
    inline: bool = False

    def notification(
        self, location: BlobLocation | None = None, *, session_id: str = ""
    ) -> wa_e2e_pb2.HistorySyncNotification:
        """Inline when ``location`` is None, else pointing at the uploaded blob."""
        notification = wa_e2e_pb2.HistorySyncNotification(
            fileSHA256=hashlib.sha256(self.blob).digest(),
            fileLength=len(self.blob),
            syncType=cast(wa_e2e_pb2.HistorySyncType, int(self.sync_type)),
            chunkOrder=self.chunk_order,
        )
        if location is None:
            notification.initialHistBootstrapInlinePayload = self.blob
        else:
            notification.directPath = location.direct_path
            notification.mediaKey = location.media_key
            notification.fileEncSHA256 = location.file_enc_sha256
        if self.progress is not None:
            notification.progress = self.progress
        if self.oldest_timestamp is not None:
            notification.oldestMsgInChunkTimestampSec = self.oldest_timestamp
        if session_id:
            notification.peerDataRequestSessionID = session_id
        return notification


def decompress(data: bytes) -> wa_history_pb2.HistorySync:
    """A blob back into its ``HistorySync`` (what a companion does after downloading)."""
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


@dataclass(slots=True)
class _Slice:
    """Some messages of one chat, with the chat's order ids for them."""

    chat: ChatHistory
    start: int  # index of the first message in chat.messages
    messages: list[ChatMessage]

    def history_messages(self) -> list[HistoryMessage]:
        return [m.to_history_message(self.start + i + 1) for i, m in enumerate(self.messages)]


def _chunk(
    kind: HistorySyncKind,
    slices: Sequence[_Slice],
    *,
    chunk_order: int,
    progress: int | None = None,
    conversations: Sequence[HistoryConversation] | None = None,
    push_names: Sequence[PushName] = (),
    mappings: Sequence[PhoneNumberLidMapping] = (),
    inline: bool = False,
    nct_salt: bytes | None = None,
) -> HistoryChunk:
    messages = [m for s in slices for m in s.history_messages()]
    if conversations is None:
        conversations = [
            HistoryConversation(str(s.chat.jid), name=s.chat.name or None) for s in slices
        ]
    blob = build_history_sync(
        kind,
        conversations=_unique(conversations),
        messages=messages,
        push_names=push_names,
        pn_lid_mappings=mappings,
        chunk_order=chunk_order,
        nct_salt=nct_salt,
        progress=progress,
    )
    oldest = min((m.timestamp for m in messages), default=None)
    return HistoryChunk(kind, blob, chunk_order, progress, len(messages), oldest, inline)


def _unique(conversations: Sequence[HistoryConversation]) -> list[HistoryConversation]:
    seen: dict[str, HistoryConversation] = {}
    for conversation in conversations:
        seen.setdefault(conversation.chat_jid, conversation)
    return list(seen.values())


def _split(slices: Sequence[_Slice], limit: int) -> list[list[_Slice]]:
    """Slices regrouped into chunks of at most ``limit`` messages (a chat may straddle two)."""
    chunks: list[list[_Slice]] = []
    current: list[_Slice] = []
    room = limit
    for piece in slices:
        start, messages = piece.start, piece.messages
        while messages:
            taken = messages[:room]
            current.append(_Slice(piece.chat, start, taken))
            start += len(taken)
            messages = messages[len(taken) :]
            room -= len(taken)
            if room == 0:
                chunks.append(current)
                current, room = [], limit
    if current:
        chunks.append(current)
    return chunks


def _progressive(
    kind: HistorySyncKind, slices: Sequence[_Slice], limit: int, inline: bool, *, always: bool
) -> list[HistoryChunk]:
    groups = _split(slices, limit)
    if not groups and always:
        groups = [[]]
    total = len(groups)
    return [
        _chunk(
            kind, group, chunk_order=i, progress=RECENT_DONE_PROGRESS * i // total, inline=inline
        )
        for i, group in enumerate(groups, start=1)
    ]


def history_sync_plan(
    book: HistoryBook,
    config: HistoryConfig,
    *,
    push_names: Mapping[JID, str] | None = None,
    lid_mappings: Mapping[JID, JID] | None = None,
    nct_salt: bytes | None = None,
    tc_tokens: Mapping[JID, tuple[bytes, int]] | None = None,
) -> list[HistoryChunk]:
    """INITIAL_BOOTSTRAP, PUSH_NAME, RECENT chunks, FULL chunks: what a new companion gets.

    ``lid_mappings`` maps PN account JIDs to LID account JIDs (HistorySync field 15);
    ``nct_salt`` (field 19) and ``tc_tokens`` (per chat: the token its peer issued to us and
    when, Conversation fields 21/22) go in the bootstrap chunk, as the service's do.
    """
    chats = book.chats()
    bootstrap: list[_Slice] = []
    recent: list[_Slice] = []
    full: list[_Slice] = []
    for chat in chats:
        total = len(chat.messages)
        newest = max(total - config.bootstrap_messages_per_chat, 0)
        older = max(newest - config.recent_messages_per_chat, 0)
        bootstrap.append(_Slice(chat, newest, chat.messages[newest:]))
        if newest > older:
            recent.append(_Slice(chat, older, chat.messages[older:newest]))
        if older > 0:
            full.append(_Slice(chat, 0, chat.messages[:older]))

    mappings = [
        PhoneNumberLidMapping(str(pn), str(lid))
        for pn, lid in sorted((lid_mappings or {}).items(), key=lambda item: str(item[0]))
    ]
    names = [
        PushName(str(jid), name)
        for jid, name in sorted((push_names or {}).items(), key=lambda item: str(item[0]))
        if name
    ]
    inline = config.inline_everything
    plan = [
        _chunk(
            HistorySyncKind.INITIAL_BOOTSTRAP,
            bootstrap,
            chunk_order=0,
            conversations=[_with_token(chat.conversation(), tc_tokens) for chat in chats],
            mappings=mappings,
            inline=True,
            nct_salt=nct_salt,
        ),
        _chunk(HistorySyncKind.PUSH_NAME, [], chunk_order=0, push_names=names, inline=inline),
    ]
    plan += _progressive(HistorySyncKind.RECENT, recent, config.chunk_messages, inline, always=True)
    if config.send_full_history:
        plan += _progressive(
            HistorySyncKind.FULL, full, config.chunk_messages, inline, always=False
        )
    return plan


def _with_token(
    conversation: HistoryConversation, tc_tokens: Mapping[JID, tuple[bytes, int]] | None
) -> HistoryConversation:
    found = (tc_tokens or {}).get(JID.parse(conversation.chat_jid))
    if found is None:
        return conversation
    return dataclasses.replace(conversation, tc_token=found[0], tc_token_timestamp=found[1])


def on_demand_chunk(
    book: HistoryBook,
    chat: JID,
    *,
    oldest_id: str,
    oldest_timestamp: int | None,
    count: int,
    inline: bool,
) -> HistoryChunk:
    """ON_DEMAND: up to ``count`` messages of ``chat`` right before the companion's oldest one
    (found by id, else by timestamp; the newest ones when neither is known)."""
    found = book.chat(chat)
    messages = found.messages if found is not None else []
    end = len(messages)
    positions = [i for i, m in enumerate(messages) if m.message_id == oldest_id]
    if positions:
        end = positions[0]
    elif oldest_timestamp is not None:
        end = sum(1 for m in messages if m.timestamp < oldest_timestamp)
    wanted = max(0, min(count, MAX_ON_DEMAND_MESSAGES))
    start = max(end - wanted, 0)
    slices = (
        [_Slice(found, start, messages[start:end])] if found is not None and end > start else []
    )
    return _chunk(HistorySyncKind.ON_DEMAND, slices, chunk_order=0, inline=inline)
