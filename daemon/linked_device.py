"""What the daemon asks of one session's client (``daemon.client.session.Session`` is one).

:class:`LinkedDevice` is what the manager needs of every client. Anything more (sending,
read receipts, media, history, archiving) is a small capability Protocol below: the outbox's
sender and the HTTP routes check for it, so a client without it gets a clear answer instead
of failing on a missing method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from daemon.binary import JID
from daemon.client.context import ClientCounters
from daemon.client.events import Subscription
from daemon.client.keepalive import Liveness
from daemon.client.restrictions import Restriction
from daemon.client.state import SessionState
from storage.values import DeviceCredentials

if TYPE_CHECKING:
    from daemon.client.media_message import OutgoingMedia
    from daemon.client.media_service import ReusableUpload, SentMedia, StoredMedia
    from daemon.client.peer_data import BackfillResult
    from daemon.client.send import OutgoingMessage, SendResult


class LinkedDevice(Protocol):
    """What the manager needs of one client (``daemon.client.session.Session`` is one)."""

    @property
    def session_id(self) -> str: ...
    @property
    def state(self) -> SessionState: ...
    @property
    def credentials(self) -> DeviceCredentials | None: ...
    @property
    def running(self) -> bool: ...
    @property
    def liveness(self) -> Liveness: ...
    @property
    def counters(self) -> ClientCounters: ...
    def events(self) -> Subscription: ...
    async def connect(self) -> None: ...
    async def pair(self) -> None: ...
    async def pair_with_code(self, phone: str, timeout: float | None = None) -> str: ...
    async def disconnect(self, reason: str = ...) -> None: ...
    async def logout(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self, timeout: float) -> float: ...


SessionOpener = Callable[[str, str], Awaitable[LinkedDevice]]
"""Opens (creating when needed) the client of a session id, with a display name."""
Prober = Callable[[LinkedDevice, float], Awaitable[float]]
"""Sends a ping over the session's socket; returns the round trip in seconds or raises."""
BackOnline = Callable[[str, LinkedDevice, float], None]
"""Told when a session logs in again: its id, its client, and how long it was offline (s)."""


@runtime_checkable
class RestrictionSource(Protocol):
    """A client that knows the restrictions the service announced for its account."""

    @property
    def restrictions(self) -> list[Restriction]: ...


@runtime_checkable
class MessageSending(Protocol):
    """A client that sends messages (returns after the server's ack)."""

    async def send(self, message: OutgoingMessage) -> SendResult: ...


@runtime_checkable
class MediaSending(Protocol):
    """A client that uploads a file (or reuses an earlier upload of it) and sends the message
    announcing it."""

    async def send_media(
        self,
        to: JID,
        media: OutgoingMedia,
        *,
        message_id: str | None = ...,
        reuse: ReusableUpload | None = ...,
    ) -> SentMedia: ...


@runtime_checkable
class ReadReceipts(Protocol):
    """A client that sends read receipts; returns how many messages it marked read."""

    async def mark_read(self, chat: JID, message_ids: Sequence[str]) -> int: ...


@runtime_checkable
class MediaDownloads(Protocol):
    """A client that gives the file of a stored media message (downloading it if needed)."""

    async def download_media(self, chat: JID, message_id: str) -> StoredMedia: ...


@runtime_checkable
class HistoryRequester(Protocol):
    """A client that can ask its phone for a chat's history."""

    async def request_history(
        self,
        chat: JID,
        *,
        count: int = ...,
        wait: bool = ...,
        timeout: float = ...,
        newest: bool = ...,
    ) -> BackfillResult: ...


@runtime_checkable
class ChatArchiving(Protocol):
    """A client that archives (or unarchives) a chat on every device, through app state."""

    async def archive_chat(self, chat: JID, archived: bool = ...) -> int: ...


async def ping_probe(client: LinkedDevice, timeout: float) -> float:
    """The default prober: the client's own ``ping`` (a ``w:p`` iq over the live socket),
    which records the answer in the client's liveness."""
    return await client.ping(timeout)


__all__ = [
    "BackOnline",
    "ChatArchiving",
    "HistoryRequester",
    "LinkedDevice",
    "MediaDownloads",
    "MediaSending",
    "MessageSending",
    "Prober",
    "ReadReceipts",
    "RestrictionSource",
    "SessionOpener",
    "ping_probe",
]
