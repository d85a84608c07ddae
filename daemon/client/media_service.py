"""Media of one session: downloading the file of a stored message (on request, or eagerly as
messages arrive), asking the phone again when the media host forgot it, and sending files.

Downloading a message's file:

1. the file is already stored (this message, or another one carrying the same plaintext
   SHA-256): it is linked, nothing is downloaded (deduplication);
2. otherwise it is downloaded from the newest direct path we know, verified, stored and
   recorded (``media_files``, ``message_media``) in one transaction;
3. a 404/410 is recorded as ``expired`` and, unless disabled, a media retry asks our phone to
   upload it again: its answer gives a new direct path (recorded, then downloaded), or says the
   phone does not have it (``unavailable``). No answer in time leaves ``retry_requested``.

Every outcome is a status on the message's ``message_media`` row and an event
(:class:`MediaDownloaded` / :class:`MediaFailed`); failures also raise, so an API caller gets a
clear error rather than nothing.

Sending: the file is uploaded first (``daemon.client.media_upload``), then the media message
goes through the messaging send path like any other content; the plaintext we sent is kept in
the store and linked to our message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, JIDError, Node
from daemon.client.acks import build_ack
from daemon.client.awaited_answers import AwaitedAnswers
from daemon.client.connection import Connection
from daemon.client.events import Subscription
from daemon.client.media_download import DownloadedFile, MediaDownloader, MediaRef
from daemon.client.media_message import (
    Attachment,
    OutgoingMedia,
    attachment_of,
    build_media_message,
)
from daemon.client.media_rerequest import (
    RetryAnswer,
    RetryTarget,
    build_retry_receipt,
    open_answer,
    parse_retry_notification,
)
from daemon.client.media_store import MediaStore, MediaStoreError
from daemon.client.media_upload import MediaUploader, UploadResult
from daemon.client.message_context import MessagingContext
from daemon.client.message_events import MessageReceived
from daemon.client.send import SendResult
from daemon.client.sync_errors import (
    MediaError,
    MediaExpired,
    MediaUnavailable,
    NotMediaMessage,
)
from daemon.client.sync_events import MediaDownloaded, MediaFailed, SyncEvent
from daemon.crypto.media_retry import MediaRetryError, MediaRetryResult
from storage.message_values import MessageRecord
from storage.sync_interfaces import SyncStore
from storage.sync_values import MediaFileRecord, MediaStatus, MessageMediaRecord
from waproto import wa_e2e_pb2

SendMessage = Callable[[JID, wa_e2e_pb2.Message], Awaitable[SendResult]]


@dataclass(frozen=True, slots=True)
class MediaOptions:
    eager_download: bool = False
    """Download every incoming file as its message arrives (up to ``eager_max_bytes``)."""
    eager_max_bytes: int = 16 * 1024 * 1024
    max_download_bytes: int = 2 * 1024 * 1024 * 1024
    retry_on_expiry: bool = True
    """Ask the phone to upload an expired file again (media retry)."""
    retry_timeout_s: float = 30.0
    eager_concurrency: int = 2


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A message's file on disk."""

    record: MessageMediaRecord
    path: Path
    deduplicated: bool = False


@dataclass(frozen=True, slots=True)
class ReusableUpload:
    """A file already on the media host, announced again to another chat: the same
    encrypted blob, media key and ``mediaKeyTimestamp``, as a forward does (Baileys'
    ``mediaCache`` keeps the whole media message of an upload for the same reuse)."""

    upload: UploadResult
    key_timestamp: int
    """When the media key was made (the first send's ``mediaKeyTimestamp``)."""


@dataclass(frozen=True, slots=True)
class SentMedia:
    result: SendResult
    path: Path
    upload: ReusableUpload
    """What another send of the same file may reuse."""


class MediaService:
    def __init__(
        self,
        m: MessagingContext,
        store: SyncStore,
        files: MediaStore,
        uploader: MediaUploader,
        downloader: MediaDownloader,
        publish: Callable[[SyncEvent], None],
        options: MediaOptions | None = None,
    ) -> None:
        self._m = m
        self._store = store
        self._files = files
        self._uploader = uploader
        self._downloader = downloader
        self._publish = publish
        self.options = options or MediaOptions()
        self.retries = AwaitedAnswers[RetryAnswer]()
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._eager = asyncio.Semaphore(self.options.eager_concurrency)
        self.retry_requests = 0

    # ------------------------------------------------------------------------- downloading

    async def download(self, chat: str, message_id: str) -> StoredMedia:
        """The file of message ``message_id`` of ``chat``. Raises NotMediaMessage,
        MediaDownloadFailed, MediaUnavailable, MediaExpired (no retry possible) or
        MediaConnError; the message's media status is recorded either way."""
        m = self._m
        record = await m.messages.messages.find_in_chat(m.session_id, chat, message_id)
        if record is None:
            raise NotMediaMessage(f"no message {message_id} in {chat}")
        return await self.download_record(record)

    async def download_record(self, record: MessageRecord) -> StoredMedia:
        attachment = _attachment(record)
        key = (record.chat, record.sender, record.message_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._download(record, attachment)
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    async def _download(self, record: MessageRecord, attachment: Attachment) -> StoredMedia:
        m, repo = self._m, self._store.media
        sid = m.session_id
        existing = await repo.get_message_media(sid, record.chat, record.sender, record.message_id)
        if existing is not None and existing.file is not None:
            path = self._files.path_of(existing.file.path)
            if path.is_file():
                return StoredMedia(existing, path)
        known = await repo.get_file(sid, attachment.file_sha256) if attachment.file_sha256 else None
        if known is not None and self._files.path_of(known.path).is_file():
            stored = await self._record(record, attachment, known, existing, None)
            return self._downloaded(record, stored, known, deduplicated=True)
        direct_path = (existing.direct_path if existing else None) or attachment.direct_path
        attempts = (existing.attempts if existing else 0) + 1
        try:
            downloaded = await self._fetch(attachment, direct_path)
        except MediaExpired as exc:
            await self._set_status(record, attachment, MediaStatus.EXPIRED, str(exc), attempts)
            if not self.options.retry_on_expiry:
                self._failed(record, MediaStatus.EXPIRED, str(exc))
                raise
            return await self._retry(record, attachment, attempts)
        except MediaError as exc:
            await self._set_status(record, attachment, MediaStatus.FAILED, str(exc), attempts)
            self._failed(record, MediaStatus.FAILED, str(exc))
            raise
        file = MediaFileRecord(
            downloaded.info.file_sha256,
            downloaded.stored_path,
            downloaded.info.file_length,
            attachment.mimetype or None,
        )
        stored = await self._record(record, attachment, file, existing, direct_path, attempts)
        return self._downloaded(record, stored, file, deduplicated=False)

    async def _fetch(self, attachment: Attachment, direct_path: str) -> DownloadedFile:
        connection = self._m.require_connection()
        ref = MediaRef(
            media_type=attachment.kind.media_type,
            mms_type=attachment.kind.mms_type,
            media_key=attachment.media_key,
            direct_path=direct_path,
            file_sha256=attachment.file_sha256 or None,
            file_enc_sha256=attachment.file_enc_sha256 or None,
            url=attachment.url if direct_path == attachment.direct_path else "",
        )
        return await self._downloader.to_store(
            connection.query, ref, limit=self.options.max_download_bytes
        )

    async def _retry(
        self, record: MessageRecord, attachment: Attachment, attempts: int
    ) -> StoredMedia:
        """Asks the phone to upload the file again, waits for its answer, downloads again."""
        m = self._m
        connection = m.require_connection()
        addressing = await m.prepare()
        try:
            chat, sender = JID.parse(record.chat), JID.parse(record.sender)
        except JIDError as exc:
            raise MediaUnavailable(f"message {record.message_id}: {exc}") from None
        target = RetryTarget(record.message_id, chat, record.from_me, sender, attachment.media_key)
        waiter = self.retries.expect(record.message_id)
        try:
            await self._set_status(
                record, attachment, MediaStatus.RETRY_REQUESTED, "asked the phone", attempts
            )
            await connection.send(build_retry_receipt(target, addressing.own_pn))
            self.retry_requests += 1
            m.log.info("client.media_retry_requested", id=record.message_id)
            try:
                async with asyncio.timeout(self.options.retry_timeout_s):
                    answer = await waiter
            except TimeoutError:
                reason = f"the phone did not answer within {self.options.retry_timeout_s:g} s"
                await self._set_status(
                    record, attachment, MediaStatus.RETRY_REQUESTED, reason, attempts
                )
                self._failed(record, MediaStatus.RETRY_REQUESTED, reason)
                raise MediaUnavailable(f"message {record.message_id}: {reason}") from None
        finally:
            self.retries.forget(record.message_id)
        reason = ""
        try:
            notice = open_answer(answer, attachment.media_key)
        except MediaRetryError as exc:
            notice = None
            reason = f"the phone's answer does not open: {exc}"
        if (
            notice is None
            or notice.result is not MediaRetryResult.SUCCESS
            or not notice.direct_path
        ):
            if notice is not None:
                reason = f"the phone cannot upload it again ({notice.result.name.lower()})"
            await self._set_status(record, attachment, MediaStatus.UNAVAILABLE, reason, attempts)
            self._failed(record, MediaStatus.UNAVAILABLE, reason)
            raise MediaUnavailable(f"message {record.message_id}: {reason}")
        new_path = notice.direct_path
        try:
            downloaded = await self._fetch(attachment, new_path)
        except MediaError as exc:
            status = MediaStatus.EXPIRED if isinstance(exc, MediaExpired) else MediaStatus.FAILED
            await self._set_status(record, attachment, status, str(exc), attempts, new_path)
            self._failed(record, status, str(exc))
            raise
        file = MediaFileRecord(
            downloaded.info.file_sha256,
            downloaded.stored_path,
            downloaded.info.file_length,
            attachment.mimetype or None,
        )
        stored = await self._record(record, attachment, file, None, new_path, attempts)
        return self._downloaded(record, stored, file, deduplicated=False)

    async def on_retry_notification(self, connection: Connection, node: Node) -> None:
        """``notification type=mediaretry``: the phone's answer to a media retry."""
        await connection.send(build_ack(node))
        answer = parse_retry_notification(node)
        if answer is None:
            self._m.log.warning("client.media_retry_unreadable", id=node.attr_str("id"))
            return
        if not self.retries.resolve(answer.message_id, answer):
            self._m.log.info("client.media_retry_unexpected", id=answer.message_id)

    # ------------------------------------------------------------------------- rows

    async def _record(
        self,
        record: MessageRecord,
        attachment: Attachment,
        file: MediaFileRecord,
        existing: MessageMediaRecord | None,
        direct_path: str | None,
        attempts: int = 0,
    ) -> MessageMediaRecord:
        sid = self._m.session_id
        row = MessageMediaRecord(
            chat=record.chat,
            sender=record.sender,
            message_id=record.message_id,
            kind=attachment.kind.value,
            status=MediaStatus.DOWNLOADED,
            sha256=file.sha256,
            direct_path=direct_path or (existing.direct_path if existing else None),
            attempts=attempts or (existing.attempts if existing else 0),
            file=file,
        )
        async with self._store.transaction():
            await self._store.media.add_file(sid, file)
            await self._store.media.put_message_media(sid, row)
        return row

    async def _set_status(
        self,
        record: MessageRecord,
        attachment: Attachment,
        status: MediaStatus,
        error: str,
        attempts: int,
        direct_path: str | None = None,
    ) -> None:
        sid = self._m.session_id
        existing = await self._store.media.get_message_media(
            sid, record.chat, record.sender, record.message_id
        )
        await self._store.media.put_message_media(
            sid,
            MessageMediaRecord(
                chat=record.chat,
                sender=record.sender,
                message_id=record.message_id,
                kind=attachment.kind.value,
                status=status,
                direct_path=direct_path or (existing.direct_path if existing else None),
                error=error,
                attempts=attempts,
            ),
        )

    def _downloaded(
        self,
        record: MessageRecord,
        stored: MessageMediaRecord,
        file: MediaFileRecord,
        *,
        deduplicated: bool,
    ) -> StoredMedia:
        path = self._files.path_of(file.path)
        self._m.log.info(
            "client.media_stored",
            id=record.message_id,
            size=file.size,
            deduplicated=deduplicated,
        )
        self._publish(
            MediaDownloaded(
                self._m.session_id,
                record.chat,
                record.message_id,
                str(path),
                file.sha256.hex(),
                file.size,
                deduplicated,
            )
        )
        return StoredMedia(stored, path, deduplicated)

    def _failed(self, record: MessageRecord, status: MediaStatus, reason: str) -> None:
        self._m.log.warning(
            "client.media_unavailable", id=record.message_id, status=status.value, reason=reason
        )
        self._publish(
            MediaFailed(self._m.session_id, record.chat, record.message_id, status, reason)
        )

    # ------------------------------------------------------------------------- eager

    async def eager(self, events: Subscription) -> None:
        """Downloads the files of incoming messages as they are stored (a connection task)."""
        try:
            async for event in events:
                if not isinstance(event, MessageReceived):
                    continue
                record = event.message
                if record.payload is None:
                    continue
                try:
                    attachment = _attachment(record)
                except NotMediaMessage:
                    continue
                if attachment.file_length > self.options.eager_max_bytes:
                    continue
                asyncio.get_running_loop().create_task(self._eager_one(record))
        finally:
            events.close()

    async def _eager_one(self, record: MessageRecord) -> None:
        async with self._eager:
            with contextlib.suppress(MediaError, MediaStoreError):
                await self.download_record(record)

    # ------------------------------------------------------------------------- sending

    async def send(
        self,
        to: JID,
        media: OutgoingMedia,
        send: SendMessage,
        reuse: ReusableUpload | None = None,
    ) -> SentMedia:
        """Uploads ``media`` (unless ``reuse`` names its earlier upload) and sends the message
        announcing it through ``send`` (the messaging send path). Raises MediaUploadFailed,
        MediaConnError or what ``send`` raises; nothing is sent when the upload fails."""
        m = self._m
        connection = m.require_connection()
        if reuse is None:
            upload = await self._uploader.upload(connection.query, media)
            reuse = ReusableUpload(upload, int(m.now()))
        upload = reuse.upload
        message = build_media_message(media, upload.uploaded, timestamp=reuse.key_timestamp)
        result = await send(to, message)
        uploaded = upload.uploaded
        file = MediaFileRecord(
            uploaded.file_sha256, upload.stored_path, uploaded.file_length, media.mimetype
        )
        own = str(m.addressing.own_pn)
        row = MessageMediaRecord(
            chat=result.chat,
            sender=own,
            message_id=result.message_id,
            kind=media.kind.value,
            status=MediaStatus.DOWNLOADED,
            sha256=file.sha256,
            direct_path=uploaded.direct_path,
            file=file,
        )
        async with self._store.transaction():
            await self._store.media.add_file(m.session_id, file)
            await self._store.media.put_message_media(m.session_id, row)
        return SentMedia(result, self._files.path_of(file.path), reuse)


def _attachment(record: MessageRecord) -> Attachment:
    if record.payload is None:
        raise NotMediaMessage(f"message {record.message_id} has no content")
    try:
        message = wa_e2e_pb2.Message.FromString(record.payload)
    except ProtoDecodeError:
        raise NotMediaMessage(f"message {record.message_id} is unreadable") from None
    attachment = attachment_of(message)
    if attachment is None:
        raise NotMediaMessage(f"message {record.message_id} carries no downloadable file")
    return attachment


__all__ = [
    "MediaOptions",
    "MediaService",
    "ReusableUpload",
    "SendMessage",
    "SentMedia",
    "StoredMedia",
]
