"""History sync blobs: inflate, parse and walk a ``HistorySync``, and build one (the phone's side).

The primary phone sends a ``HistorySyncNotification``; its blob (inline in
``initialHistBootstrapInlinePayload``, or downloaded and decrypted with media type HISTORY) is a
zlib stream of a ``HistorySync`` protobuf. This module takes that blob and yields our own frozen
records: :class:`HistoryConversation`, :class:`HistoryMessage`, :class:`PushName` and
:class:`PhoneNumberLidMapping`. Inflation is bounded (``max_inflated``), so a small blob cannot
expand into gigabytes.

Message order. The phone lists a conversation's messages newest first: Baileys keeps the first
one as the chat's latest message and takes the first one not from us as the last received
timestamp; whatsmeow passes them on as listed. Each ``HistorySyncMsg`` may carry a
``msgOrderID``, whose meaning neither client documents. :meth:`HistorySyncPayload.messages`
therefore yields, conversation by conversation, each conversation's messages oldest first, ordered
by (timestamp, msgOrderID, reversed position in the blob): the timestamp decides, msgOrderID breaks
ties between messages of the same second, and the blob's own (newest-first) order breaks the rest.
:func:`build_history_sync` writes messages back newest first, as the phone does.

Senders follow whatsmeow's ``ParseWebMessage``: in a 1:1 chat (phone number, LID, hosted or
newsletter JID) the chat itself; in a group the message's ``participant`` or its key's; our own
messages have ``sender`` None unless ``originalSelfAuthorUserJIDString`` names the author (the
client knows its own JID).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import cast

from google.protobuf.message import DecodeError as ProtoDecodeError

from waproto import wa_e2e_pb2, wa_history_pb2, wa_web_pb2

MAX_INFLATED_BYTES = 256 * 1024 * 1024
"""The default bound on an inflated blob. Real chunks are a few MiB; FULL syncs split into many."""

_ONE_TO_ONE_SERVERS = frozenset({"s.whatsapp.net", "lid", "hosted", "hosted.lid", "newsletter"})


class HistoryError(ValueError):
    """Base of the errors of this module."""


class HistoryDecodeError(HistoryError):
    """A blob that is not a zlib stream of a HistorySync."""


class HistoryTooLarge(HistoryError):
    """A blob that inflates past the bound: refused before it is held in memory."""


class HistorySyncKind(IntEnum):
    """``HistorySync.HistorySyncType``."""

    INITIAL_BOOTSTRAP = 0
    INITIAL_STATUS_V3 = 1
    FULL = 2
    RECENT = 3
    PUSH_NAME = 4
    NON_BLOCKING_DATA = 5
    ON_DEMAND = 6


class MessageStatus(IntEnum):
    """``WebMessageInfo.Status``."""

    ERROR = 0
    PENDING = 1
    SERVER_ACK = 2
    DELIVERY_ACK = 3
    READ = 4
    PLAYED = 5


@dataclass(frozen=True, slots=True)
class HistoryConversation:
    chat_jid: str
    name: str | None = None  # displayName, else name
    unread_count: int = 0
    archived: bool = False
    read_only: bool = False
    pinned: int = 0  # when it was pinned (unix seconds), 0 if not
    mute_end: int = 0  # unix seconds
    ephemeral_expiration: int = 0  # disappearing-messages timer, seconds
    last_activity: int = 0  # conversationTimestamp, unix seconds
    pn_jid: str | None = None
    lid_jid: str | None = None
    tc_token: bytes | None = None  # the peer's trusted-contact token for us
    tc_token_timestamp: int = 0  # when the peer issued it, unix seconds
    tc_token_sender_timestamp: int = 0  # when we last issued ours to the peer


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    chat_jid: str
    message_id: str
    from_me: bool
    sender: str | None
    timestamp: int  # unix seconds
    message: bytes | None  # a serialized wamd.e2e.Message; None for bare system stubs
    status: MessageStatus | None = None
    push_name: str | None = None
    order_id: int | None = None  # HistorySyncMsg.msgOrderID
    stub_type: int = 0  # WebMessageInfo.messageStubType, 0 for ordinary messages
    message_secret: bytes | None = None


@dataclass(frozen=True, slots=True)
class PushName:
    jid: str
    name: str


@dataclass(frozen=True, slots=True)
class PhoneNumberLidMapping:
    pn_jid: str
    lid_jid: str


def inflate(blob: bytes, max_inflated: int = MAX_INFLATED_BYTES) -> bytes:
    """The zlib-inflated blob, refusing output past ``max_inflated`` bytes."""
    decompressor = zlib.decompressobj()
    try:
        # Asking for one byte more than allowed tells "exactly at the bound" from "over it"
        # without ever holding more than that.
        data = decompressor.decompress(blob, max_inflated + 1)
    except zlib.error as exc:
        raise HistoryDecodeError(f"the history blob is not a zlib stream: {exc}") from exc
    if len(data) > max_inflated:
        raise HistoryTooLarge(f"the history blob inflates past {max_inflated} bytes")
    if not decompressor.eof:
        raise HistoryDecodeError("the history blob's zlib stream is truncated")
    return data


def parse_history_sync(blob: bytes, max_inflated: int = MAX_INFLATED_BYTES) -> HistorySyncPayload:
    """Inflate and parse a history blob (inline payload or downloaded file)."""
    raw = inflate(blob, max_inflated)
    try:
        proto = wa_history_pb2.HistorySync.FromString(raw)
    except ProtoDecodeError as exc:
        raise HistoryDecodeError(f"the history blob is not a HistorySync: {exc}") from exc
    # Python's parser does not enforce proto2 `required` (Go's, in whatsmeow, does): a blob
    # without syncType, a conversation without ID or a message without key is refused whole.
    if not proto.IsInitialized():
        # FindInitializationErrors is runtime protobuf API that types-protobuf leaves out.
        missing: list[str] = proto.FindInitializationErrors()  # type: ignore[attr-defined]
        shown = ", ".join(missing[:3])
        raise HistoryDecodeError(f"the HistorySync lacks required fields: {shown}")
    return HistorySyncPayload(proto)


def _optional(value: str) -> str | None:
    return value or None


def _sender(chat_jid: str, info: wa_web_pb2.WebMessageInfo) -> str | None:
    if info.key.fromMe:
        return _optional(info.originalSelfAuthorUserJIDString)
    if chat_jid.rpartition("@")[2] in _ONE_TO_ONE_SERVERS:
        return chat_jid
    return _optional(info.participant) or _optional(info.key.participant)


def _message(
    chat_jid: str, info: wa_web_pb2.WebMessageInfo, order_id: int | None
) -> HistoryMessage:
    return HistoryMessage(
        chat_jid=chat_jid,
        message_id=info.key.ID,
        from_me=info.key.fromMe,
        sender=_sender(chat_jid, info),
        timestamp=info.messageTimestamp,
        message=info.message.SerializeToString() if info.HasField("message") else None,
        status=MessageStatus(info.status) if info.HasField("status") else None,
        push_name=_optional(info.pushName),
        order_id=order_id,
        stub_type=info.messageStubType,
        message_secret=info.messageSecret if info.HasField("messageSecret") else None,
    )


def _ingest_key(message: HistoryMessage, position: int) -> tuple[int, int, int]:
    return (message.timestamp, message.order_id or 0, -position)


class HistorySyncPayload:
    """A parsed history blob, walked as our own records."""

    __slots__ = ("_proto",)

    def __init__(self, proto: wa_history_pb2.HistorySync) -> None:
        self._proto = proto

    @property
    def kind(self) -> HistorySyncKind:
        return HistorySyncKind(self._proto.syncType)

    @property
    def chunk_order(self) -> int:
        return self._proto.chunkOrder

    @property
    def progress(self) -> int | None:
        return self._proto.progress if self._proto.HasField("progress") else None

    @property
    def nct_salt(self) -> bytes | None:
        return self._proto.nctSalt if self._proto.HasField("nctSalt") else None

    @property
    def message_count(self) -> int:
        return sum(len(conversation.messages) for conversation in self._proto.conversations)

    def conversations(self) -> Iterator[HistoryConversation]:
        for conversation in self._proto.conversations:
            yield HistoryConversation(
                chat_jid=conversation.ID,
                name=_optional(conversation.displayName) or _optional(conversation.name),
                unread_count=conversation.unreadCount,
                archived=conversation.archived,
                read_only=conversation.readOnly,
                pinned=conversation.pinned,
                mute_end=conversation.muteEndTime,
                ephemeral_expiration=conversation.ephemeralExpiration,
                last_activity=conversation.conversationTimestamp,
                pn_jid=_optional(conversation.pnJID),
                lid_jid=_optional(conversation.lidJID),
                tc_token=conversation.tcToken if conversation.HasField("tcToken") else None,
                tc_token_timestamp=conversation.tcTokenTimestamp,
                tc_token_sender_timestamp=conversation.tcTokenSenderTimestamp,
            )

    def messages(self) -> Iterator[HistoryMessage]:
        """Every conversation's messages, conversation by conversation, each oldest first."""
        for conversation in self._proto.conversations:
            parsed = [
                _message(
                    conversation.ID,
                    item.message,
                    item.msgOrderID if item.HasField("msgOrderID") else None,
                )
                for item in conversation.messages
                if item.HasField("message")
            ]
            order = sorted(range(len(parsed)), key=lambda i: _ingest_key(parsed[i], i))
            for i in order:
                yield parsed[i]

    def status_messages(self) -> Iterator[HistoryMessage]:
        """Status (stories) updates of INITIAL_STATUS_V3, as listed."""
        for info in self._proto.statusV3Messages:
            yield _message(info.key.remoteJID, info, None)

    def push_names(self) -> Iterator[PushName]:
        for entry in self._proto.pushnames:
            if entry.ID and entry.pushname:
                yield PushName(jid=entry.ID, name=entry.pushname)

    def pn_lid_mappings(self) -> Iterator[PhoneNumberLidMapping]:
        for entry in self._proto.phoneNumberToLidMappings:
            if entry.pnJID and entry.lidJID:
                yield PhoneNumberLidMapping(pn_jid=entry.pnJID, lid_jid=entry.lidJID)


def _web_message_info(message: HistoryMessage) -> wa_web_pb2.WebMessageInfo:
    group_like = message.chat_jid.rpartition("@")[2] not in _ONE_TO_ONE_SERVERS
    key = wa_e2e_pb2.MessageKey(
        remoteJID=message.chat_jid, fromMe=message.from_me, ID=message.message_id
    )
    info = wa_web_pb2.WebMessageInfo(key=key, messageTimestamp=message.timestamp)
    if message.from_me:
        if message.sender is not None:
            info.originalSelfAuthorUserJIDString = message.sender
    elif group_like and message.sender is not None:
        info.key.participant = message.sender
        info.participant = message.sender
    if message.message is not None:
        try:
            info.message.ParseFromString(message.message)
        except ProtoDecodeError as exc:
            raise HistoryError(f"message {message.message_id} is not a Message: {exc}") from exc
    if message.status is not None:
        info.status = cast(wa_web_pb2.WebMessageInfo.Status, int(message.status))
    if message.push_name is not None:
        info.pushName = message.push_name
    if message.stub_type:
        info.messageStubType = cast(wa_web_pb2.WebMessageInfo.StubType, message.stub_type)
    if message.message_secret is not None:
        info.messageSecret = message.message_secret
    return info


def _conversation(record: HistoryConversation) -> wa_history_pb2.Conversation:
    proto = wa_history_pb2.Conversation(ID=record.chat_jid)
    if record.name is not None:
        proto.name = record.name
    for attribute, value in (
        ("unreadCount", record.unread_count),
        ("archived", record.archived),
        ("readOnly", record.read_only),
        ("pinned", record.pinned),
        ("muteEndTime", record.mute_end),
        ("ephemeralExpiration", record.ephemeral_expiration),
        ("conversationTimestamp", record.last_activity),
    ):
        if value:
            setattr(proto, attribute, value)
    if record.pn_jid is not None:
        proto.pnJID = record.pn_jid
    if record.lid_jid is not None:
        proto.lidJID = record.lid_jid
    if record.tc_token is not None:
        proto.tcToken = record.tc_token
        proto.tcTokenTimestamp = record.tc_token_timestamp
    if record.tc_token_sender_timestamp:
        proto.tcTokenSenderTimestamp = record.tc_token_sender_timestamp
    return proto


def build_history_sync(
    kind: HistorySyncKind,
    *,
    conversations: Sequence[HistoryConversation] = (),
    messages: Iterable[HistoryMessage] = (),
    push_names: Iterable[PushName] = (),
    pn_lid_mappings: Iterable[PhoneNumberLidMapping] = (),
    chunk_order: int | None = None,
    progress: int | None = None,
    nct_salt: bytes | None = None,
) -> bytes:
    """A zlib-compressed HistorySync blob, as a phone sends it.

    Messages go into the conversation of their ``chat_jid`` (one is added, after the given ones,
    for a chat that has none), each conversation's newest first.
    """
    by_chat: dict[str, list[HistoryMessage]] = {c.chat_jid: [] for c in conversations}
    for message in messages:
        by_chat.setdefault(message.chat_jid, []).append(message)
    records = {c.chat_jid: c for c in conversations}
    proto = wa_history_pb2.HistorySync(
        syncType=cast(wa_history_pb2.HistorySync.HistorySyncType, int(kind))
    )
    for chat_jid, chat_messages in by_chat.items():
        conversation = _conversation(records.get(chat_jid, HistoryConversation(chat_jid)))
        ordered = sorted(
            range(len(chat_messages)),
            key=lambda i: _ingest_key(chat_messages[i], -i),
            reverse=True,
        )
        for i in ordered:
            message = chat_messages[i]
            item = conversation.messages.add(message=_web_message_info(message))
            if message.order_id is not None:
                item.msgOrderID = message.order_id
        proto.conversations.append(conversation)
    for push_name in push_names:
        proto.pushnames.add(ID=push_name.jid, pushname=push_name.name)
    for mapping in pn_lid_mappings:
        proto.phoneNumberToLidMappings.add(pnJID=mapping.pn_jid, lidJID=mapping.lid_jid)
    if chunk_order is not None:
        proto.chunkOrder = chunk_order
    if progress is not None:
        proto.progress = progress
    if nct_salt is not None:
        proto.nctSalt = nct_salt
    return zlib.compress(proto.SerializeToString())
