"""What the messaging side of the client sees of storage: one Protocol per table family, plus
the transaction boundary (shared with :class:`~storage.interfaces.AuthStore`: both are views of
one database, so a decrypted message, the advanced Signal state and the event row commit in
one transaction). Same rules as :mod:`storage.interfaces`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from storage.directory_interfaces import ContactDirectory
from storage.interfaces import Pipelined, Transactional
from storage.message_values import (
    ChatKind,
    ChatRecord,
    ContactRecord,
    GroupParticipant,
    GroupRecord,
    MessageRecord,
    MessageStatus,
    OutgoingPlaintext,
    ReceiptRecord,
    ReceiptStatus,
)
from storage.privacy_interfaces import PrivacyTokenRepo
from storage.sync_interfaces import MessageSecretRepo


class MessageRepo(Protocol):
    async def get(
        self, session_id: str, chat: str, sender: str, message_id: str
    ) -> MessageRecord | None: ...

    async def find_own(self, session_id: str, message_id: str) -> MessageRecord | None: ...

    async def find_in_chat(
        self, session_id: str, chat: str, message_id: str
    ) -> MessageRecord | None: ...

    async def insert(self, session_id: str, message: MessageRecord) -> MessageRecord | None:
        """None when a message with the same (chat, sender, id) exists (nothing written)."""
        ...

    async def insert_own(self, session_id: str, message: MessageRecord) -> MessageRecord | None: ...

    async def fill_queued_own(
        self, session_id: str, message: MessageRecord
    ) -> MessageRecord | None:
        """Completes the outbox's accept-time row of ``message`` in place when it shows the
        same content; None when there is no such row (then ``insert_own``)."""
        ...

    async def fill_placeholder(
        self, session_id: str, message: MessageRecord
    ) -> MessageRecord | None: ...

    async def set_retry(
        self,
        session_id: str,
        chat: str,
        sender: str,
        message_id: str,
        count: int,
        status: MessageStatus,
    ) -> None: ...

    async def advance_own(
        self, session_id: str, message_id: str, status: MessageStatus
    ) -> list[str]: ...

    async def mark_own_sent(self, session_id: str, message_id: str, at: datetime) -> list[str]:
        """``set_own_sent_at`` and ``advance_own(SENT)`` together; returns the chats whose
        status changed."""
        ...

    async def fail_own(self, session_id: str, message_id: str) -> list[str]: ...

    async def set_own_sent_at(self, session_id: str, message_id: str, at: datetime) -> None: ...

    async def mark_read(self, session_id: str, chat: str, message_ids: Sequence[str]) -> int: ...

    async def apply_edit(
        self,
        session_id: str,
        chat: str,
        sender: str,
        target_id: str,
        text: str | None,
        at: datetime,
    ) -> bool: ...

    async def apply_revoke(
        self, session_id: str, chat: str, sender: str, target_id: str, at: datetime
    ) -> bool: ...

    async def targeting(
        self, session_id: str, chat: str, target_id: str
    ) -> list[MessageRecord]: ...

    async def page(
        self,
        session_id: str,
        chat: str,
        *,
        limit: int,
        before: tuple[datetime, int] | None = None,
        after: tuple[datetime, int] | None = None,
    ) -> list[MessageRecord]: ...

    async def count(self, session_id: str, chat: str | None = None) -> int: ...


class ReceiptRepo(Protocol):
    async def record(
        self,
        session_id: str,
        message_id: str,
        recipient: str,
        status: ReceiptStatus,
        at: datetime,
    ) -> str | None:
        """The chat of our message ``message_id`` when this receipt was news, else None."""
        ...

    async def for_message(
        self, session_id: str, chat: str, message_id: str
    ) -> list[ReceiptRecord]: ...


class ChatRepo(Protocol):
    async def get(self, session_id: str, jid: str) -> ChatRecord | None: ...

    async def ensure(
        self, session_id: str, jid: str, kind: ChatKind, name: str | None = None
    ) -> None: ...

    async def record_message(
        self,
        session_id: str,
        jid: str,
        kind: ChatKind,
        *,
        message_id: str,
        sender: str,
        from_me: bool,
        preview: str | None,
        at: datetime,
        unread: int = 0,
    ) -> ChatRecord: ...

    async def update_preview(
        self, session_id: str, jid: str, message_id: str, preview: str | None
    ) -> ChatRecord | None: ...

    async def refresh_last(
        self, session_id: str, jid: str, preview_of: Callable[[MessageRecord], str | None]
    ) -> ChatRecord | None: ...

    async def refresh_own_last(
        self,
        session_id: str,
        jid: str,
        message_id: str,
        at: datetime,
        preview_of: Callable[[MessageRecord], str | None],
    ) -> ChatRecord | None:
        """``refresh_last`` after our message ``message_id`` got the server's time ``at`` (in
        one statement when it stays the chat's last message)."""
        ...

    async def mark_read(self, session_id: str, jid: str, count: int) -> ChatRecord | None: ...

    async def page(
        self, session_id: str, *, limit: int, before: tuple[datetime | None, str] | None = None
    ) -> list[ChatRecord]: ...


class ContactRepo(Protocol):
    async def all(self, session_id: str) -> list[ContactRecord]: ...

    async def find(self, session_id: str, jid: str) -> ContactRecord | None: ...

    async def learn(
        self,
        session_id: str,
        *,
        pn: str | None = None,
        lid: str | None = None,
        push_name: str | None = None,
    ) -> ContactRecord: ...

    async def move_sessions_to_lid(self, session_id: str, pn_user: str, lid_user: str) -> int: ...

    async def merge_chats(self, session_id: str, pn: str, lid: str) -> None:
        """One conversation per person: what is stored under ``lid`` moves to ``pn``."""
        ...


class GroupRepo(Protocol):
    async def get(self, session_id: str, jid: str) -> GroupRecord | None: ...

    async def save(self, session_id: str, group: GroupRecord) -> None: ...

    async def put_participants(
        self, session_id: str, jid: str, participants: Iterable[GroupParticipant]
    ) -> None: ...

    async def remove_participants(
        self, session_id: str, jid: str, members: Iterable[str]
    ) -> int: ...

    async def set_subject(self, session_id: str, jid: str, subject: str) -> None: ...

    async def set_member(self, session_id: str, jid: str, is_member: bool) -> None: ...

    async def page(
        self, session_id: str, *, after: str = "", limit: int = 100, member: bool | None = None
    ) -> list[GroupRecord]: ...

    async def set_self(
        self, session_id: str, jid: str, *, is_member: bool, admin: bool
    ) -> None: ...

    async def set_description(self, session_id: str, jid: str, description: str) -> None: ...

    async def set_setting(
        self, session_id: str, jid: str, *, announce: bool | None = None, locked: bool | None = None
    ) -> None: ...


class OutgoingRepo(Protocol):
    async def keep(self, session_id: str, plaintext: OutgoingPlaintext) -> None: ...

    async def get(self, session_id: str, message_id: str) -> OutgoingPlaintext | None: ...

    async def prune(self, session_id: str, older_than: datetime) -> int: ...

    async def count_retry(self, session_id: str, message_id: str, device: str) -> int: ...


class SenderKeyMemoryRepo(Protocol):
    async def devices(self, session_id: str, group: str) -> set[str]: ...

    async def add(self, session_id: str, group: str, devices: Iterable[str]) -> None: ...

    async def clear(self, session_id: str, group: str) -> int: ...


class MessageStore(Transactional, Pipelined, Protocol):
    """Every messaging repository over one database, with its transaction boundary."""

    @property
    def messages(self) -> MessageRepo: ...
    @property
    def receipts(self) -> ReceiptRepo: ...
    @property
    def chats(self) -> ChatRepo: ...
    @property
    def contacts(self) -> ContactRepo: ...
    @property
    def groups(self) -> GroupRepo: ...
    @property
    def directory(self) -> ContactDirectory: ...
    @property
    def outgoing(self) -> OutgoingRepo: ...
    @property
    def sender_key_memory(self) -> SenderKeyMemoryRepo: ...
    @property
    def secrets(self) -> MessageSecretRepo: ...
    @property
    def privacy(self) -> PrivacyTokenRepo: ...
