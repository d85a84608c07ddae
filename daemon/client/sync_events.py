"""What history sync, app-state sync and media tell the world: typed, frozen events.

Like the messaging events, each describes rows already committed (or, for failures, a state
already recorded): history chunks ingested, app-state patches applied or refused, media files
stored or not obtainable.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.sync_values import ChatSettings, MediaStatus


@dataclass(frozen=True, slots=True)
class HistorySyncProgress:
    """One history chunk was ingested (or, in dry-run mode, only counted)."""

    session_id: str
    message_id: str
    """The peer message that carried the chunk's notification."""
    sync_type: str
    """INITIAL_BOOTSTRAP, RECENT, FULL, PUSH_NAME, ON_DEMAND, ..."""
    chunk_order: int
    progress: int | None
    """0..100 over the RECENT chunks, as the phone reports it; None when it does not."""
    chunk_messages: int
    """Messages the chunk held."""
    stored: int
    """New message rows it gave (0 for a chunk pushed again)."""
    chunks_done: int
    """Chunks processed by this session so far."""
    messages_total: int
    """Message rows history sync has added so far."""
    dry_run: bool = False
    skipped: bool = False
    """Not ingested on purpose (full history off, a type without messages)."""


@dataclass(frozen=True, slots=True)
class HistorySyncFailed:
    session_id: str
    message_id: str
    sync_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class AppStateSynced:
    """A collection was brought up to ``version``; ``applied`` mutations changed our tables."""

    session_id: str
    collection: str
    version: int
    applied: int
    full: bool = False
    """A full resync (snapshot, or every patch from version 0)."""


@dataclass(frozen=True, slots=True)
class AppStateRefused:
    """A patch or snapshot did not verify and was not applied."""

    session_id: str
    collection: str
    version: int
    reason: str
    resyncing: bool
    """True when a full resync of the collection follows."""


@dataclass(frozen=True, slots=True)
class ChatSettingsChanged:
    """App state changed a chat's archive / pin / mute / read flags (or deleted it)."""

    session_id: str
    settings: ChatSettings | None
    jid: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class MediaDownloaded:
    session_id: str
    chat: str
    message_id: str
    path: str
    """Absolute path of the stored file."""
    sha256: str
    size: int
    deduplicated: bool
    """The file was already stored (another message carried it): nothing was downloaded."""


@dataclass(frozen=True, slots=True)
class MediaFailed:
    session_id: str
    chat: str
    message_id: str
    status: MediaStatus
    reason: str


SyncEvent = (
    HistorySyncProgress
    | HistorySyncFailed
    | AppStateSynced
    | AppStateRefused
    | ChatSettingsChanged
    | MediaDownloaded
    | MediaFailed
)
