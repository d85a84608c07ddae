"""What the sync side of the client (history, app state, media) sees of storage: one Protocol
per table family and the shared transaction boundary. Same rules as :mod:`storage.interfaces`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from storage.interfaces import Transactional
from storage.sync_values import (
    AppStateCollectionRow,
    ChatSettings,
    ChunkStatus,
    CollectionStatus,
    ContactNames,
    HistoryChatRow,
    HistoryChunkRecord,
    HistoryMessageRow,
    LabelRecord,
    MediaFileRecord,
    MessageMediaRecord,
    MessageSecret,
    OldestMessage,
)


class AppStateRepo(Protocol):
    async def load_collection(self, session_id: str, name: str) -> AppStateCollectionRow | None: ...

    async def collections(self, session_id: str) -> list[AppStateCollectionRow]: ...

    async def save_collection(
        self,
        session_id: str,
        name: str,
        version: int,
        lthash: bytes,
        *,
        written: Iterable[tuple[bytes, bytes]] = (),
        deleted: Iterable[bytes] = (),
        replace: bool = False,
        at: datetime | None = None,
    ) -> None: ...

    async def mark_collection(
        self, session_id: str, name: str, status: CollectionStatus, error: str | None
    ) -> None: ...

    async def set_archived(self, session_id: str, jid: str, archived: bool, at_ms: int) -> None: ...

    async def set_pinned(
        self, session_id: str, jid: str, pinned_at: int | None, at_ms: int
    ) -> None: ...

    async def set_muted(
        self, session_id: str, jid: str, muted_until: int | None, at_ms: int
    ) -> None: ...

    async def set_read(
        self, session_id: str, jid: str, read: bool, at_ms: int, up_to_ms: int | None
    ) -> int: ...

    async def delete_chat(
        self, session_id: str, jid: str, up_to_ms: int | None, *, keep_chat: bool = False
    ) -> int: ...

    async def chat_settings(self, session_id: str, jid: str) -> ChatSettings | None: ...

    async def set_starred(
        self, session_id: str, chat: str, message_id: str, from_me: bool, starred: bool
    ) -> bool: ...

    async def delete_message(
        self, session_id: str, chat: str, message_id: str, from_me: bool
    ) -> bool: ...

    async def set_contact_names(
        self,
        session_id: str,
        jid: str,
        full_name: str | None,
        first_name: str | None,
        *,
        pn: str | None = None,
        lid: str | None = None,
    ) -> None: ...

    async def contact_names(self, session_id: str, jid: str) -> ContactNames | None: ...

    async def put_label(self, session_id: str, label: LabelRecord) -> None: ...

    async def labels(self, session_id: str) -> list[LabelRecord]: ...

    async def label_chat(
        self, session_id: str, label_id: str, chat: str, labeled: bool
    ) -> None: ...

    async def chat_labels(self, session_id: str, chat: str) -> list[str]: ...


class HistoryRepo(Protocol):
    async def insert_messages(self, session_id: str, rows: Sequence[HistoryMessageRow]) -> int: ...

    async def upsert_chats(self, session_id: str, chats: Sequence[HistoryChatRow]) -> int: ...

    async def put_push_names(self, session_id: str, names: Sequence[tuple[str, str]]) -> int: ...

    async def get_chunk(self, session_id: str, message_id: str) -> HistoryChunkRecord | None: ...

    async def pending_chunks(self, session_id: str) -> list[HistoryChunkRecord]: ...

    async def put_chunk(self, session_id: str, chunk: HistoryChunkRecord) -> None: ...

    async def chunk_counts(self, session_id: str) -> dict[ChunkStatus, int]: ...

    async def oldest_message(self, session_id: str, chat: str) -> OldestMessage | None: ...

    async def unseen_protocol_messages(
        self, session_id: str, own_chat: str, since_ms: int
    ) -> list[tuple[str, bytes]]: ...

    async def protocol_payload(
        self, session_id: str, own_chat: str, message_id: str
    ) -> bytes | None: ...


class MediaFileRepo(Protocol):
    async def get_file(self, session_id: str, sha256: bytes) -> MediaFileRecord | None: ...

    async def add_file(self, session_id: str, record: MediaFileRecord) -> None: ...

    async def get_message_media(
        self, session_id: str, chat: str, sender: str, message_id: str
    ) -> MessageMediaRecord | None: ...

    async def put_message_media(self, session_id: str, record: MessageMediaRecord) -> None: ...

    async def users_of(self, session_id: str, sha256: bytes) -> int: ...


class MessageSecretRepo(Protocol):
    async def put_many(self, session_id: str, secrets: Sequence[MessageSecret]) -> int: ...

    async def get(
        self, session_id: str, chat: str, sender: str, message_id: str
    ) -> bytes | None: ...


class SyncStore(Transactional, Protocol):
    """Every sync repository over one database, with its transaction boundary."""

    @property
    def app_state(self) -> AppStateRepo: ...
    @property
    def history(self) -> HistoryRepo: ...
    @property
    def media(self) -> MediaFileRepo: ...
    @property
    def secrets(self) -> MessageSecretRepo: ...
