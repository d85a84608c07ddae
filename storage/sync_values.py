"""Values of the sync tables: app-state collections, chat settings, history chunks, media files.

Frozen and slotted, like :mod:`storage.values`. Times are unix milliseconds (``int``) where the
protocol gives milliseconds and rows are written in bulk (history ingest), timezone-aware
datetimes elsewhere.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

LTHASH_SIZE = 128
MUTED_FOREVER = -1
"""``muted_until`` of a chat muted with no end."""


class CollectionStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    """The last patch or snapshot did not verify (or decode); nothing of it was applied."""
    MISSING_KEY = "missing_key"
    """A patch names a sync key this device has not been given yet."""


@dataclass(frozen=True, slots=True)
class AppStateCollectionRow:
    """What is stored of one app-state collection: version, LTHash and the MAC table."""

    name: str
    version: int
    hash: bytes
    index_value_macs: Mapping[bytes, bytes] = field(default_factory=dict)
    status: CollectionStatus = CollectionStatus.OK
    last_error: str | None = None
    synced_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.version < 0:
            raise ValueError("a collection version is not negative")
        if len(self.hash) != LTHASH_SIZE:
            raise ValueError(f"an LTHash is {LTHASH_SIZE} bytes")
        object.__setattr__(self, "index_value_macs", MappingProxyType(dict(self.index_value_macs)))


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """A chat's archive / pin / mute / unread flags (app state and history)."""

    jid: str
    archived: bool = False
    pinned_at: int | None = None
    """Unix milliseconds the chat was pinned; None when it is not."""
    muted_until: int | None = None
    """Unix milliseconds the mute ends, ``MUTED_FOREVER``, or None when not muted."""
    marked_unread: bool = False
    unread_count: int = 0
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ContactNames:
    """A contact's names: from the address book (app state) and announced (push name)."""

    pn: str | None
    lid: str | None
    full_name: str | None
    first_name: str | None
    push_name: str | None


@dataclass(frozen=True, slots=True)
class LabelRecord:
    label_id: str
    name: str
    color: int
    deleted: bool


class ChunkStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HistoryChunkRecord:
    """One history sync notification and what became of it."""

    message_id: str
    sync_type: str
    chunk_order: int
    progress: int | None
    status: ChunkStatus
    messages: int = 0
    stored: int = 0
    error: str | None = None


@dataclass(slots=True)
class HistoryMessageRow:
    """One message of a history chunk, ready for the messages table.

    Not frozen on purpose: history arrives by the hundred thousand, and a frozen dataclass's
    ``__init__`` costs about six times a plain slotted one. Treat it as immutable.
    """

    chat: str
    message_id: str
    sender: str
    from_me: bool
    sent_at_ms: int
    content_type: str
    status: str
    text: str | None
    quoted_id: str | None
    target_id: str | None
    payload: bytes | None
    push_name: str | None


@dataclass(slots=True)
class HistoryChatRow:
    """A chat as a history chunk describes it: its last message (the preview) and settings.

    ``archived`` (and with it pin and mute) is None when the chunk says nothing about them (a
    chunk that lists only messages); ``unread_count`` None likewise. Not frozen, like
    :class:`HistoryMessageRow`; treat it as immutable.
    """

    jid: str
    kind: str
    name: str | None = None
    last_message_id: str | None = None
    last_sender: str | None = None
    last_from_me: bool | None = None
    last_preview: str | None = None
    last_message_at_ms: int | None = None
    unread_count: int | None = None
    archived: bool | None = None
    pinned_at: int | None = None
    muted_until: int | None = None


@dataclass(frozen=True, slots=True)
class OldestMessage:
    """The oldest message we hold of a chat (where an on-demand backfill continues from)."""

    message_id: str
    from_me: bool
    sent_at_ms: int


class MediaStatus(enum.StrEnum):
    DOWNLOADED = "downloaded"
    EXPIRED = "expired"
    RETRY_REQUESTED = "retry_requested"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class MediaFileRecord:
    """A file in the content-addressed media store."""

    sha256: bytes
    path: str
    """Relative to the media directory."""
    size: int
    mimetype: str | None

    def __post_init__(self) -> None:
        if len(self.sha256) != 32:
            raise ValueError("a media file is named by its 32-byte SHA-256")
        if not self.path or self.path.startswith("/") or ".." in self.path.split("/"):
            raise ValueError(f"a media path is relative and stays inside the store: {self.path!r}")


@dataclass(frozen=True, slots=True)
class MessageMediaRecord:
    """Where getting the file of one media message stands."""

    chat: str
    sender: str
    message_id: str
    kind: str
    status: MediaStatus
    sha256: bytes | None = None
    direct_path: str | None = None
    error: str | None = None
    attempts: int = 0
    file: MediaFileRecord | None = None
    """The stored file when ``status`` is downloaded (filled by reads)."""


@dataclass(frozen=True, slots=True)
class MessageSecret:
    """The ``messageSecret`` of one message, under the message's canonical key."""

    chat: str
    sender: str
    message_id: str
    secret: bytes
