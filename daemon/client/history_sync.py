"""History sync: the phone's chunks of old chats, fetched, opened and ingested in order.

The primary phone sends each chunk as a peer protocol message, ``HISTORY_SYNC_NOTIFICATION``
(protocol-inventory §9). The receive path stores that message (persist before ack) and hands it
here; chunks are then processed one at a time, in the order they arrived:

1. a ``history_chunks`` row marks the chunk ``pending`` (a restart resumes pending chunks from
   the stored notification, and replays notifications that were stored but never started);
2. the blob is the inline ``initialHistBootstrapInlinePayload`` or a download from the media
   host (media type "WhatsApp History Keys", every hash and the MAC verified);
3. it is inflated (bounded) and parsed on a worker thread (``daemon.crypto.history``);
4. its conversations, messages (oldest first per chat), chat previews and push names go into
   the same tables live messages use, a batch per transaction: the database lock is released
   between batches so live traffic interleaves, and a message already there (delivered live,
   or from a chunk pushed twice) is left alone;
5. the chunk becomes ``done``, a :class:`HistorySyncProgress` event reports it, and the phone
   gets ``receipt type=hist_sync``. A chunk whose blob cannot be fetched or opened (expired,
   damaged) becomes ``failed`` and the phone gets a ``server-error`` receipt instead, which
   makes it upload the chunk again and announce it in a new notification.

Options (:class:`HistorySyncOptions`): FULL chunks only when ``full_history`` (on by default);
``since_days`` keeps only that much of the past; ``dry_run`` parses and counts, and writes
nothing. Archive / pin / mute / unread are taken from the bootstrap chunk only: later chunks
list their conversations without them, and an absent flag must not read as "not archived".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, JIDError, Node
from daemon.client.awaited_answers import AwaitedAnswers
from daemon.client.connection import Connection
from daemon.client.history_rows import RowBuilder
from daemon.client.media_download import MAX_BLOB_BYTES, MediaDownloader, MediaRef
from daemon.client.message_context import MessagingContext
from daemon.client.privacy import PrivacyTokens
from daemon.client.receipts import ReceiptType, build_receipt
from daemon.client.sync_errors import HistorySyncFailed, MediaConnError, MediaError
from daemon.client.sync_events import HistorySyncFailed as HistorySyncFailedEvent
from daemon.client.sync_events import HistorySyncProgress, SyncEvent
from daemon.crypto.history import (
    MAX_INFLATED_BYTES,
    HistoryError,
    HistorySyncPayload,
    PhoneNumberLidMapping,
    parse_history_sync,
)
from daemon.crypto.media import MediaType
from daemon.crypto.media_retry import seal_retry_request
from daemon.wire.errors import WireError
from storage.message_values import MessageRecord
from storage.sync_interfaces import SyncStore
from storage.sync_values import (
    ChunkStatus,
    HistoryChatRow,
    HistoryChunkRecord,
    HistoryMessageRow,
    MessageSecret,
)
from waproto import wa_e2e_pb2

DEFAULT_BATCH = 2000
RESUME_WINDOW_S = 3 * 86400
"""How far back a restart looks for notifications that were stored but never started."""

SyncType = wa_e2e_pb2.HistorySyncType
_NOTHING_TO_INGEST = frozenset(
    {SyncType.INITIAL_STATUS_V3, SyncType.NO_HISTORY, SyncType.MESSAGE_ACCESS_STATUS}
)


@dataclass(frozen=True, slots=True)
class HistorySyncOptions:
    full_history: bool = True
    """``sync_full_history``: ingest FULL chunks (everything older than the recent past)."""
    since_days: float | None = None
    """Keep only messages newer than this many days; None keeps everything."""
    dry_run: bool = False
    """Parse and count, write nothing."""
    batch_messages: int = DEFAULT_BATCH
    """Messages per transaction."""
    max_blob_bytes: int = MAX_BLOB_BYTES
    max_inflated_bytes: int = MAX_INFLATED_BYTES

    def __post_init__(self) -> None:
        if self.batch_messages < 1:
            raise ValueError("a batch holds at least one message")
        if self.since_days is not None and self.since_days <= 0:
            raise ValueError("since_days must be positive (or None for everything)")


@dataclass(frozen=True, slots=True)
class ChunkResult:
    message_id: str
    sync_type: str
    status: ChunkStatus
    messages: int
    stored: int
    request_id: str | None = None
    """``peerDataRequestSessionID``: the on-demand request this chunk answers."""
    reupload: bool = False
    """Its blob could not be fetched or opened: the phone is asked to upload it again."""


def sync_type_name(value: int) -> str:
    try:
        return SyncType.Name(value)
    except ValueError:
        return f"TYPE_{value}"


def history_notification(message: wa_e2e_pb2.Message) -> wa_e2e_pb2.HistorySyncNotification | None:
    if not message.HasField("protocolMessage"):
        return None
    protocol = message.protocolMessage
    if protocol.type != wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION:
        return None
    if not protocol.HasField("historySyncNotification"):
        return None
    return protocol.historySyncNotification


def history_receipt(message_id: str, own_pn: JID) -> Node:
    return build_receipt([message_id], own_pn.to_non_ad(), kind=ReceiptType.HISTORY_SYNC)


def reupload_receipt(message_id: str, media_key: bytes, own_pn: JID) -> Node:
    """Asks our phone to upload a history chunk again (whatsmeow's history-sync server-error
    receipt: the chunk's message id sealed with its media key, like a media retry, but
    ``category=peer`` and no ``rmr``)."""
    sealed = seal_retry_request(message_id, media_key)
    return Node(
        "receipt",
        {
            "id": message_id,
            "type": ReceiptType.SERVER_ERROR.value,
            "to": own_pn.to_non_ad(),
            "category": "peer",
        },
        [
            Node(
                "encrypt", {}, [Node("enc_p", {}, sealed.ciphertext), Node("enc_iv", {}, sealed.iv)]
            )
        ],
    )


class HistorySync:
    def __init__(
        self,
        m: MessagingContext,
        store: SyncStore,
        downloader: MediaDownloader,
        publish: Callable[[SyncEvent], None],
        options: HistorySyncOptions | None = None,
    ) -> None:
        self._m = m
        self._store = store
        self._downloader = downloader
        self._publish = publish
        self.options = options or HistorySyncOptions()
        self._lock = asyncio.Lock()
        self.requests = AwaitedAnswers[ChunkResult]()
        """On-demand history requests waiting for the chunk that answers them."""
        self.chunks_done = 0
        self.messages_total = 0

    # ------------------------------------------------------------------------- entry points

    async def on_protocol(self, record: MessageRecord, message: wa_e2e_pb2.Message) -> None:
        """The receive path's hook: a protocol message from one of our devices was stored."""
        notification = history_notification(message)
        if notification is None:
            return
        connection = self._m.connection
        await self.process(record.message_id, notification, connection)

    async def resume(self, connection: Connection) -> int:
        """After login: chunks left pending, and notifications stored but never started.
        Returns how many were processed."""
        m, sid = self._m, self._m.session_id
        own = str((await m.prepare()).own_pn)
        repo = self._store.history
        todo: list[tuple[str, wa_e2e_pb2.HistorySyncNotification]] = []
        for chunk in await repo.pending_chunks(sid):
            payload = await repo.protocol_payload(sid, own, chunk.message_id)
            notification = _notification_of(payload)
            if notification is not None:
                todo.append((chunk.message_id, notification))
        since = int((m.now() - RESUME_WINDOW_S) * 1000)
        for message_id, payload in await repo.unseen_protocol_messages(sid, own, since):
            notification = _notification_of(payload)
            if notification is not None:
                todo.append((message_id, notification))
        for message_id, notification in todo:
            m.log.info("client.history_resumed", id=message_id)
            await self.process(message_id, notification, connection)
        return len(todo)

    # ------------------------------------------------------------------------- processing

    async def process(
        self,
        message_id: str,
        notification: wa_e2e_pb2.HistorySyncNotification,
        connection: Connection | None,
    ) -> ChunkResult:
        """Processes one chunk (in arrival order: one at a time) and acknowledges it."""
        async with self._lock:
            result = await self._process(message_id, notification, connection)
        if result.status is ChunkStatus.PENDING:
            return result  # not acknowledged: resumed after the next login
        if connection is not None and not connection.ended:
            own = self._m.addressing.own_pn
            receipt = (
                reupload_receipt(message_id, notification.mediaKey, own)
                if result.reupload
                else history_receipt(message_id, own)
            )
            with contextlib.suppress(WireError, OSError):
                await connection.send(receipt)
            if result.reupload:
                self._m.log.info("client.history_reupload_requested", id=message_id)
        if result.request_id is not None:
            self.requests.resolve(result.request_id, result)
        return result

    async def _process(
        self,
        message_id: str,
        notification: wa_e2e_pb2.HistorySyncNotification,
        connection: Connection | None,
    ) -> ChunkResult:
        m, sid, options = self._m, self._m.session_id, self.options
        repo = self._store.history
        kind = notification.syncType
        name = sync_type_name(kind)
        request_id = notification.peerDataRequestSessionID or None
        done = await repo.get_chunk(sid, message_id) if not options.dry_run else None
        if done is not None and done.status is not ChunkStatus.PENDING:
            m.log.debug("client.history_chunk_seen", id=message_id, status=done.status.value)
            return ChunkResult(
                message_id, name, done.status, done.messages, done.stored, request_id
            )
        chunk = HistoryChunkRecord(
            message_id=message_id,
            sync_type=name,
            chunk_order=notification.chunkOrder,
            progress=notification.progress if notification.HasField("progress") else None,
            status=ChunkStatus.PENDING,
        )
        skip = (kind == SyncType.FULL and not options.full_history) or kind in _NOTHING_TO_INGEST
        if skip:
            return await self._finish(chunk, ChunkStatus.SKIPPED, 0, 0, request_id, None)
        if not options.dry_run:
            await repo.put_chunk(sid, chunk)
        started = time.perf_counter()
        try:
            blob = await self._blob(notification, connection)
            payload = await asyncio.to_thread(parse_history_sync, blob, options.max_inflated_bytes)
        except (MediaError, HistoryError, HistorySyncFailed) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if connection is None or connection.ended or isinstance(exc, MediaConnError):
                # Lost with the connection, not a bad chunk: it stays pending for next time.
                m.log.warning("client.history_chunk_deferred", id=message_id, error=reason)
                return ChunkResult(message_id, name, ChunkStatus.PENDING, 0, 0, request_id)
            m.log.error("client.history_chunk_failed", id=message_id, type=name, error=reason)
            # A blob that expired or came damaged: the phone can upload it again.
            reupload = (
                not notification.HasField("initialHistBootstrapInlinePayload")
                and len(notification.mediaKey) == 32
                and bool(notification.directPath)
            )
            if reupload:
                reason += "; asked the phone to upload it again"
            self._publish(HistorySyncFailedEvent(sid, message_id, name, reason))
            failed = await self._finish(chunk, ChunkStatus.FAILED, 0, 0, request_id, reason)
            return dataclasses.replace(failed, reupload=reupload)
        total, stored = await self._ingest(payload, kind)
        m.log.info(
            "client.history_chunk",
            id=message_id,
            type=name,
            order=chunk.chunk_order,
            progress=chunk.progress,
            messages=total,
            stored=stored,
            seconds=round(time.perf_counter() - started, 3),
            dry_run=options.dry_run,
        )
        return await self._finish(chunk, ChunkStatus.DONE, total, stored, request_id, None)

    async def _finish(
        self,
        chunk: HistoryChunkRecord,
        status: ChunkStatus,
        total: int,
        stored: int,
        request_id: str | None,
        error: str | None,
    ) -> ChunkResult:
        m = self._m
        final = HistoryChunkRecord(
            message_id=chunk.message_id,
            sync_type=chunk.sync_type,
            chunk_order=chunk.chunk_order,
            progress=chunk.progress,
            status=status,
            messages=total,
            stored=stored,
            error=error,
        )
        if not self.options.dry_run:
            await self._store.history.put_chunk(m.session_id, final)
        if status is not ChunkStatus.FAILED:
            self.chunks_done += 1
            self.messages_total += stored
            self._publish(
                HistorySyncProgress(
                    session_id=m.session_id,
                    message_id=chunk.message_id,
                    sync_type=chunk.sync_type,
                    chunk_order=chunk.chunk_order,
                    progress=chunk.progress,
                    chunk_messages=total,
                    stored=stored,
                    chunks_done=self.chunks_done,
                    messages_total=self.messages_total,
                    dry_run=self.options.dry_run,
                    skipped=status is ChunkStatus.SKIPPED,
                )
            )
        return ChunkResult(chunk.message_id, chunk.sync_type, status, total, stored, request_id)

    async def _blob(
        self,
        notification: wa_e2e_pb2.HistorySyncNotification,
        connection: Connection | None,
    ) -> bytes:
        if notification.HasField("initialHistBootstrapInlinePayload"):
            return notification.initialHistBootstrapInlinePayload
        if not notification.directPath or len(notification.mediaKey) != 32:
            raise HistorySyncFailed("the notification has neither an inline payload nor a blob")
        if connection is None or connection.ended:
            raise MediaConnError("not connected: the blob cannot be downloaded now")
        ref = MediaRef(
            media_type=MediaType.HISTORY,
            mms_type=MediaType.HISTORY.mms_type or "md-msg-hist",
            media_key=notification.mediaKey,
            direct_path=notification.directPath,
            file_sha256=notification.fileSHA256 or None,
            file_enc_sha256=notification.fileEncSHA256 or None,
        )
        return await self._downloader.to_bytes(
            connection.query, ref, limit=self.options.max_blob_bytes
        )

    async def _ingest(self, payload: HistorySyncPayload, kind: int) -> tuple[int, int]:
        """Writes the chunk in batches; returns (messages in it, new rows)."""
        m, options = self._m, self.options
        addressing = await m.prepare()
        mappings = list(payload.pn_lid_mappings())
        if mappings and not options.dry_run:
            await self._learn(mappings)
        if not options.dry_run:
            await self._store_privacy(payload)
        cutoff = None
        if options.since_days is not None:
            cutoff = int(m.now() - options.since_days * 86400)
        builder = RowBuilder(addressing, cutoff=cutoff)
        conversations = builder.conversations(
            payload, with_settings=kind == SyncType.INITIAL_BOOTSTRAP
        )
        push_names = [(n.jid, n.name) for n in payload.push_names()]
        sid, repo = m.session_id, self._store.history
        total = payload.message_count
        stored = 0
        if options.dry_run:
            for _ in builder.message_rows(payload):
                pass
            return total, 0
        async with self._store.transaction():
            await repo.upsert_chats(sid, conversations)
            if push_names:
                canonical = [
                    (jid, name) for raw, name in push_names if (jid := builder.canonical(raw))
                ]
                await repo.put_push_names(sid, canonical)
        # Rows of the next batch are built while the previous one is written: SQLite runs on
        # its worker thread (outside the GIL for the most part), so the two overlap.
        writing: asyncio.Task[int] | None = None
        batch: list[HistoryMessageRow] = []
        try:
            for row in builder.message_rows(payload):
                batch.append(row)
                if len(batch) >= options.batch_messages:
                    if writing is not None:
                        stored += await writing
                    writing = asyncio.create_task(
                        self._write_batch(batch, builder.previews(), builder.take_secrets())
                    )
                    batch = []
            if writing is not None:
                stored += await writing
                writing = None
            stored += await self._write_batch(batch, builder.previews(), builder.take_secrets())
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
        skipped = builder.skipped
        if skipped.total:
            m.log.info(
                "client.history_skipped",
                unreadable=skipped.unreadable,
                status_updates=skipped.status_updates,
                stubs=skipped.stubs,
                too_old=skipped.too_old,
            )
        return total, stored

    async def _write_batch(
        self,
        batch: list[HistoryMessageRow],
        previews: list[HistoryChatRow],
        secrets: list[MessageSecret],
    ) -> int:
        if not batch and not previews and not secrets:
            return 0
        sid, repo = self._m.session_id, self._store.history
        async with self._store.transaction():
            stored = await repo.insert_messages(sid, batch)
            await repo.upsert_chats(sid, previews)
            # Polls and events of old chats need their secrets to read votes and answers.
            await self._store.secrets.put_many(sid, secrets)
        # Let live traffic (which waits on the same database lock) in between batches.
        await asyncio.sleep(0)
        return stored

    async def _store_privacy(self, payload: HistorySyncPayload) -> None:
        """The NCT salt and the contacts' privacy tokens the chunk carries."""
        tokens: list[tuple[JID, bytes, int, int]] = []
        for conversation in payload.conversations():
            if conversation.tc_token is None and not conversation.tc_token_sender_timestamp:
                continue
            try:
                contact = JID.parse(conversation.chat_jid).to_non_ad()
            except JIDError:
                continue
            tokens.append(
                (
                    contact,
                    conversation.tc_token or b"",
                    conversation.tc_token_timestamp,
                    conversation.tc_token_sender_timestamp,
                )
            )
        salt = payload.nct_salt
        if salt or tokens:
            await PrivacyTokens(self._m).store_history(salt, tokens)

    async def _learn(self, mappings: list[PhoneNumberLidMapping]) -> None:
        m = self._m
        addressing = await m.prepare()
        learnt = []
        for mapping in mappings:
            try:
                pn = JID.parse(mapping.pn_jid).to_non_ad()
                lid = JID.parse(mapping.lid_jid).to_non_ad()
            except JIDError:
                continue
            if pn.is_pn and lid.is_lid and addressing.learn(pn, lid):
                learnt.append((pn, lid))
        if not learnt:
            return
        async with m.crypto_lock:
            await m.store_mappings(learnt)


def _notification_of(payload: bytes | None) -> wa_e2e_pb2.HistorySyncNotification | None:
    if payload is None:
        return None
    try:
        message = wa_e2e_pb2.Message.FromString(payload)
    except ProtoDecodeError:
        return None
    return history_notification(message)
