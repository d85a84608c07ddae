"""A parsed history chunk turned into rows of our tables (pure).

Rows must land under the same keys as live messages, or a message seen both live and in a
history push would be stored twice: chats and senders are canonical account JIDs (the phone
number when the LID is known, see ``daemon.client.addressing``), our own messages are sent by
our own phone-number JID, a 1:1 message from the peer by the chat itself, a group message by its
participant. Content is summarized exactly as the receive path does (``message_content``).

Status: our messages keep how far they got on the phone (delivered, read...); theirs are
``read`` when the phone had read them, else ``received``.

Filters: a chat or sender that is not a JID, status updates (``status@broadcast``; live status
is not stored either), system stubs without content, and messages older than the cutoff ("how
far back") are left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, JIDError
from daemon.client.addressing import Addressing
from daemon.client.message_content import Summary, preview, shows_in_chat_list, summarize
from daemon.crypto.history import (
    HistoryConversation,
    HistoryMessage,
    HistorySyncPayload,
    MessageStatus,
)
from storage.message_values import ChatKind, ContentType
from storage.message_values import MessageStatus as StoredStatus
from storage.sync_values import MUTED_FOREVER, HistoryChatRow, HistoryMessageRow, MessageSecret
from waproto import wa_e2e_pb2

_OWN_STATUS: dict[MessageStatus | None, str] = {
    MessageStatus.PENDING: StoredStatus.PENDING.value,
    MessageStatus.SERVER_ACK: StoredStatus.SENT.value,
    MessageStatus.DELIVERY_ACK: StoredStatus.DELIVERED.value,
    MessageStatus.READ: StoredStatus.READ.value,
    MessageStatus.PLAYED: StoredStatus.PLAYED.value,
}
_THEIR_STATUS: dict[MessageStatus | None, str] = {
    MessageStatus.READ: StoredStatus.READ.value,
    MessageStatus.PLAYED: StoredStatus.READ.value,
}
_TEXT = ContentType.TEXT.value
_SENT = StoredStatus.SENT.value
_RECEIVED = StoredStatus.RECEIVED.value
_MUTE_FOREVER_SECONDS = 2**62
"""Phones mark "muted forever" with a mute end far in the future (or -1)."""


def chat_kind(jid: JID) -> ChatKind:
    if jid.is_group:
        return ChatKind.GROUP
    if jid.is_broadcast:
        return ChatKind.BROADCAST
    if jid.is_pn or jid.is_lid:
        return ChatKind.USER
    return ChatKind.OTHER


@dataclass(slots=True)
class _Latest:
    """The newest chat-list message of one chat seen so far (the preview is made once, at the
    end of the batch: most messages are overtaken by a newer one)."""

    timestamp: int
    order: int
    row: HistoryMessageRow
    summary: Summary | None
    """None for plain text (the row's text is the preview's source)."""


@dataclass(frozen=True, slots=True)
class Skipped:
    unreadable: int = 0
    status_updates: int = 0
    stubs: int = 0
    too_old: int = 0

    @property
    def total(self) -> int:
        return self.unreadable + self.status_updates + self.stubs + self.too_old


class RowBuilder:
    """Converts one chunk; keeps the newest message per chat for the chat previews."""

    def __init__(self, addressing: Addressing, *, cutoff: int | None = None) -> None:
        self._addressing = addressing
        self._own = str(addressing.own_pn)
        self._cutoff = cutoff
        self._names: dict[str, str | None] = {}
        self._latest: dict[str, _Latest] = {}
        self._unreadable = 0
        self._status = 0
        self._stubs = 0
        self._old = 0
        self._secrets: list[MessageSecret] = []

    def canonical(self, text: str) -> str | None:
        """The canonical account (or group) JID string of ``text``; None if unreadable."""
        cached = self._names.get(text, "")
        if cached != "":
            return cached
        try:
            canonical: str | None = str(self._addressing.account(JID.parse(text)))
        except JIDError:
            canonical = None
        self._names[text] = canonical
        return canonical

    def take_secrets(self) -> list[MessageSecret]:
        """The message secrets seen since the last call (polls, events...)."""
        taken, self._secrets = self._secrets, []
        return taken

    @property
    def skipped(self) -> Skipped:
        return Skipped(self._unreadable, self._status, self._stubs, self._old)

    def conversations(
        self, payload: HistorySyncPayload, *, with_settings: bool
    ) -> list[HistoryChatRow]:
        """The chunk's conversation list: names always, archive / pin / mute / unread only
        ``with_settings`` (the bootstrap chunk, where the phone states them for every chat)."""
        rows: list[HistoryChatRow] = []
        for conversation in payload.conversations():
            jid = self._chat_jid(conversation.chat_jid)
            if jid is None:
                continue
            rows.append(self._conversation_row(jid, conversation, with_settings))
        return rows

    def _chat_jid(self, text: str) -> JID | None:
        canonical = self.canonical(text)
        if canonical is None:
            return None
        jid = JID.parse(canonical)
        if jid.is_status_broadcast:
            return None
        return jid

    def _conversation_row(
        self, jid: JID, conversation: HistoryConversation, with_settings: bool
    ) -> HistoryChatRow:
        name = conversation.name
        if not with_settings:
            return HistoryChatRow(str(jid), str(chat_kind(jid)), name=name)
        mute = conversation.mute_end
        muted_until = None
        if mute:
            muted_until = MUTED_FOREVER if mute >= _MUTE_FOREVER_SECONDS else mute * 1000
        return HistoryChatRow(
            str(jid),
            str(chat_kind(jid)),
            name=name,
            unread_count=conversation.unread_count,
            archived=conversation.archived,
            pinned_at=conversation.pinned * 1000 if conversation.pinned else None,
            muted_until=muted_until,
        )

    def message_rows(self, payload: HistorySyncPayload) -> Iterator[HistoryMessageRow]:
        for message in payload.messages():
            row = self.message_row(message)
            if row is not None:
                yield row

    def message_row(self, message: HistoryMessage) -> HistoryMessageRow | None:
        if self._cutoff is not None and message.timestamp < self._cutoff:
            self._old += 1
            return None
        if message.message is None:
            self._stubs += 1
            return None
        chat = self.canonical(message.chat_jid)
        if chat is None:
            self._unreadable += 1
            return None
        if chat == "status@broadcast":
            self._status += 1
            return None
        if message.from_me:
            sender: str | None = self._own
        elif chat.endswith("@g.us") or chat.endswith("@broadcast"):
            sender = self.canonical(message.sender) if message.sender else None
        else:
            sender = chat
        if sender is None or not message.message_id:
            self._unreadable += 1
            return None
        if message.message_secret:
            self._secrets.append(
                MessageSecret(chat, sender, message.message_id, message.message_secret)
            )
        try:
            content = wa_e2e_pb2.Message.FromString(message.message)
        except ProtoDecodeError:
            self._unreadable += 1
            return None
        if message.from_me:
            status = _OWN_STATUS.get(message.status, _SENT)
        else:
            status = _THEIR_STATUS.get(message.status, _RECEIVED)
        fields = content.ListFields()
        summary: Summary | None
        if len(fields) == 1 and fields[0][0].name == "conversation":
            # The common case, stored exactly as summarize() would have it, without its walk
            # over every wrapper and content field (history arrives by the hundred thousand).
            summary = None
            row = HistoryMessageRow(
                chat,
                message.message_id,
                sender,
                message.from_me,
                message.timestamp * 1000,
                _TEXT,
                status,
                fields[0][1],
                None,
                None,
                message.message,
                None if message.from_me else message.push_name,
            )
        else:
            summary = summarize(content)
            row = HistoryMessageRow(
                chat,
                message.message_id,
                sender,
                message.from_me,
                message.timestamp * 1000,
                summary.content_type.value,
                status,
                summary.text,
                summary.quoted_id,
                summary.target_id,
                message.message,
                None if message.from_me else message.push_name,
            )
            if not shows_in_chat_list(summary):
                return row
        order = message.order_id or 0
        latest = self._latest.get(chat)
        if latest is None:
            self._latest[chat] = _Latest(message.timestamp, order, row, summary)
        elif message.timestamp > latest.timestamp or (
            message.timestamp == latest.timestamp and order >= latest.order
        ):
            latest.timestamp, latest.order, latest.row = message.timestamp, order, row
            latest.summary = summary
        return row

    def previews(self) -> list[HistoryChatRow]:
        """Chat rows carrying the newest message seen per chat (then forgotten)."""
        rows = [
            HistoryChatRow(
                jid=chat,
                kind=str(chat_kind(JID.parse(chat))),
                last_message_id=latest.row.message_id,
                last_sender=latest.row.sender,
                last_from_me=latest.row.from_me,
                last_preview=preview(
                    latest.summary or Summary(ContentType.TEXT, text=latest.row.text)
                ),
                last_message_at_ms=latest.row.sent_at_ms,
            )
            for chat, latest in self._latest.items()
        ]
        self._latest.clear()
        return rows
