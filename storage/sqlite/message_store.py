"""Every messaging repository over one SQLite database (the same one as the auth store)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from storage.directory_interfaces import ContactDirectory
from storage.engine import SqlEngine
from storage.interfaces import PendingCommit
from storage.message_interfaces import (
    ChatRepo,
    ContactRepo,
    GroupRepo,
    MessageRepo,
    MessageStore,
    OutgoingRepo,
    ReceiptRepo,
    SenderKeyMemoryRepo,
)
from storage.privacy_interfaces import PrivacyTokenRepo
from storage.sqlite.chats import SqliteChatRepo
from storage.sqlite.contact_directory import SqliteContactDirectory
from storage.sqlite.contacts import SqliteContactRepo
from storage.sqlite.groups import SqliteGroupRepo
from storage.sqlite.message_secrets import SqliteMessageSecretRepo
from storage.sqlite.messages import SqliteMessageRepo
from storage.sqlite.outgoing import SqliteOutgoingRepo
from storage.sqlite.privacy_tokens import SqlitePrivacyTokenRepo
from storage.sqlite.receipts import SqliteReceiptRepo
from storage.sqlite.sender_key_memory import SqliteSenderKeyMemoryRepo
from storage.sync_interfaces import MessageSecretRepo


class SqliteMessageStore:
    """The SQLite implementation of :class:`~storage.message_interfaces.MessageStore`."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db
        self._messages = SqliteMessageRepo(db)
        self._receipts = SqliteReceiptRepo(db)
        self._chats = SqliteChatRepo(db)
        self._contacts = SqliteContactRepo(db)
        self._groups = SqliteGroupRepo(db)
        self._directory = SqliteContactDirectory(db)
        self._outgoing = SqliteOutgoingRepo(db)
        self._sender_key_memory = SqliteSenderKeyMemoryRepo(db)
        self._secrets = SqliteMessageSecretRepo(db)
        self._privacy = SqlitePrivacyTokenRepo(db)

    @property
    def messages(self) -> MessageRepo:
        return self._messages

    @property
    def receipts(self) -> ReceiptRepo:
        return self._receipts

    @property
    def chats(self) -> ChatRepo:
        return self._chats

    @property
    def contacts(self) -> ContactRepo:
        return self._contacts

    @property
    def groups(self) -> GroupRepo:
        return self._groups

    @property
    def directory(self) -> ContactDirectory:
        return self._directory

    @property
    def outgoing(self) -> OutgoingRepo:
        return self._outgoing

    @property
    def sender_key_memory(self) -> SenderKeyMemoryRepo:
        return self._sender_key_memory

    @property
    def secrets(self) -> MessageSecretRepo:
        return self._secrets

    @property
    def privacy(self) -> PrivacyTokenRepo:
        return self._privacy

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.db.transaction()

    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        return self.db.pipelined_transaction(linger)


if TYPE_CHECKING:

    def _satisfies_message_store(store: SqliteMessageStore) -> MessageStore:
        return store
