"""App-state sync for one session: keys, fetching and verifying patches, applying them, and
sending our own changes.

Theory of operation
-------------------
The phone shares the sync keys in a peer ``APP_STATE_SYNC_KEY_SHARE`` message; they are stored
and every collection is fetched. Later, ``notification type=server_sync`` names collections
that changed, and every login catches up on all of them.

Fetching one collection (protocol-inventory §10.3) is a loop of ``iq xmlns=w:sync:app:state >
sync > collection(name, version[, return_snapshot])`` until the answer no longer says
``has_more_patches``. A collection we never synced asks for a snapshot (an
``ExternalBlobReference`` to a ``SyncdSnapshot`` on the media host); patches may keep their
mutations in an external blob too. Everything is verified by ``daemon.crypto.appstate``: every
value and index MAC, the snapshot MAC of the state after each patch (LTHash, version, name) and
the patch MAC. A verified patch is applied to our tables and remembered (version, LTHash, MAC
table) in one transaction.

A patch or snapshot that does not verify is **never applied**: the collection is marked
``failed`` with the reason, an :class:`AppStateRefused` event says so, and a full resync
follows at once: the collection is fetched again from version 0 (snapshot, or every patch) into
memory, and only if all of it verifies does it replace what we had. If the resync fails too the
collection stays ``failed`` and our phone is asked for its own copy (app-state recovery,
``daemon.client.app_state_recovery``); until it answers, the next server_sync notification or
login tries again.

A key we lack (the phone rotated keys) is asked for with a peer ``APP_STATE_SYNC_KEY_REQUEST``
(at most once per key per day, like whatsmeow); the collection is ``missing_key`` until the
share arrives, which triggers a fetch.

Sending (archive, mark read, pin, mute): catch up, encode the mutation as the next patch with
our newest key, upload it with the version it follows; a 409 means another device got there
first: fetch its patches and encode again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, JIDError, Node
from daemon.client.acks import build_ack
from daemon.client.app_state_actions import (
    AppStateAction,
    ChatArchived,
    ChatDeleted,
    ChatLabeled,
    ChatMuted,
    ChatPinned,
    ChatRead,
    ContactName,
    LabelEdited,
    LastMessage,
    MessageDeletedForMe,
    MessageStarred,
    NctSaltChanged,
    PushNameChanged,
    archive_mutation,
    interpret,
    mark_read_mutation,
    mute_mutation,
    pin_mutation,
    star_mutation,
)
from daemon.client.connection import Connection
from daemon.client.errors import ClientError
from daemon.client.iq import build_iq
from daemon.client.media_download import MediaDownloader, MediaRef
from daemon.client.message_context import MessagingContext
from daemon.client.messaging_errors import TargetNotFound
from daemon.client.peer_messages import PeerMessages
from daemon.client.sync_errors import (
    AppStateRejected,
    AppStateSyncFailed,
    MediaError,
    PeerRequestFailed,
)
from daemon.client.sync_events import (
    AppStateRefused,
    AppStateSynced,
    ChatSettingsChanged,
    SyncEvent,
)
from daemon.crypto.appstate import (
    ALL_COLLECTIONS,
    AppStateError,
    AppStateKeyMissing,
    Collection,
    CollectionState,
    Mutation,
    PendingMutation,
    SyncResult,
    decode_patch,
    decode_snapshot,
    encode_patch,
    with_external_mutations,
)
from daemon.crypto.media import MediaType
from daemon.log import mask_phone
from storage.message_values import MessageRecord
from storage.sync_interfaces import SyncStore
from storage.sync_values import CollectionStatus, LabelRecord
from storage.values import AppStateSyncKey
from waproto import wa_appstate_pb2, wa_e2e_pb2

XMLNS = "w:sync:app:state"
KEY_REQUEST_INTERVAL_S = 24 * 3600.0
MAX_UPLOAD_ATTEMPTS = 3
MAX_PAGES = 1000
"""A server that keeps saying has_more_patches this often is broken; stop."""
CONFLICT = 409


# ------------------------------------------------------------------------------------- stanzas


def build_fetch_iq(name: str, version: int, *, snapshot: bool) -> Node:
    attrs: dict[str, str | JID] = {"name": name, "return_snapshot": "true" if snapshot else "false"}
    if not snapshot:
        attrs["version"] = str(version)
    return build_iq(XMLNS, "set", [Node("sync", {}, [Node("collection", attrs)])])


def build_upload_iq(name: str, version: int, patch: bytes) -> Node:
    attrs: dict[str, str | JID] = {
        "name": name,
        "version": str(version),
        "return_snapshot": "false",
    }
    collection = Node("collection", attrs, [Node("patch", {}, patch)])
    return build_iq(XMLNS, "set", [Node("sync", {}, [collection])])


@dataclass(frozen=True, slots=True)
class CollectionAnswer:
    name: str
    version: int
    has_more: bool
    patches: tuple[wa_appstate_pb2.SyncdPatch, ...] = ()
    snapshot: wa_appstate_pb2.ExternalBlobReference | None = None
    error_code: int | None = None


def parse_sync_answer(answer: Node, name: str) -> CollectionAnswer:
    """The answer's collection ``name``. Raises AppStateSyncFailed when it is unreadable."""
    sync = answer.child("sync")
    collection = None
    if sync is not None:
        collection = next(
            (c for c in sync.children_by_tag("collection") if c.attr_str("name") == name), None
        )
    if collection is None:
        raise AppStateSyncFailed(f"the sync answer has no collection {name}")
    try:
        version = collection.attr_int("version") or 0
        error = collection.child("error")
        code = error.attr_int("code") if error is not None else None
    except ValueError as exc:
        raise AppStateSyncFailed(f"{name}: {exc}") from None
    if error is not None or collection.attr_str("type") == "error":
        code = code if code is not None else 500
    patch_nodes = collection.children_by_tag("patch")  # Baileys accepts them here too
    holder = collection.child("patches")
    if holder is not None:
        patch_nodes = patch_nodes + holder.children_by_tag("patch")
    try:
        patches = tuple(
            wa_appstate_pb2.SyncdPatch.FromString(p.content_bytes() or b"") for p in patch_nodes
        )
        snapshot_node = collection.child("snapshot")
        snapshot = None
        if snapshot_node is not None:
            snapshot = wa_appstate_pb2.ExternalBlobReference.FromString(
                snapshot_node.content_bytes() or b""
            )
    except ProtoDecodeError as exc:
        raise AppStateSyncFailed(f"{name}: a patch or snapshot is not a protobuf: {exc}") from None
    return CollectionAnswer(
        name=name,
        version=version,
        has_more=collection.attr_str("has_more_patches") == "true",
        patches=patches,
        snapshot=snapshot,
        error_code=code,
    )


def key_request_message(key_ids: Iterable[bytes]) -> wa_e2e_pb2.Message:
    request = wa_e2e_pb2.AppStateSyncKeyRequest(
        keyIDs=[wa_e2e_pb2.AppStateSyncKeyId(keyID=k) for k in key_ids]
    )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_REQUEST,
            appStateSyncKeyRequest=request,
        )
    )


def shared_keys(message: wa_e2e_pb2.Message) -> list[AppStateSyncKey]:
    """The keys of an APP_STATE_SYNC_KEY_SHARE message (malformed entries left out)."""
    if not message.HasField("protocolMessage"):
        return []
    protocol = message.protocolMessage
    if protocol.type != wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE:
        return []
    keys = []
    for key in protocol.appStateSyncKeyShare.keys:
        key_id = key.keyID.keyID
        data = key.keyData.keyData
        if not key_id or len(data) != 32:
            continue
        fingerprint = (
            key.keyData.fingerprint.SerializeToString()
            if key.keyData.HasField("fingerprint")
            else b""
        )
        keys.append(AppStateSyncKey(key_id, data, fingerprint, key.keyData.timestamp))
    return keys


# ------------------------------------------------------------------------------------- sync


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    collection: str
    status: CollectionStatus
    version: int
    applied: int = 0
    error: str | None = None
    full: bool = False


@dataclass(slots=True)
class _Fetched:
    """What one fetch produced (a full resync keeps it all in memory until it verified)."""

    state: CollectionState
    mutations: list[Mutation] = field(default_factory=list)
    applied: int = 0


class AppStateSync:
    def __init__(
        self,
        m: MessagingContext,
        store: SyncStore,
        downloader: MediaDownloader,
        peers: PeerMessages,
        publish: Callable[[SyncEvent], None],
    ) -> None:
        self._m = m
        self._store = store
        self._downloader = downloader
        self._peers = peers
        self._publish = publish
        self._locks = {str(c): asyncio.Lock() for c in ALL_COLLECTIONS}
        self._asked: dict[bytes, float] = {}
        self.on_unrecoverable: Callable[[str], Awaitable[None]] | None = None
        """Called when even a full resync fails: asks our phone for its copy
        (``daemon.client.app_state_recovery``)."""
        self.refused = 0
        """Patches or snapshots refused (MAC mismatch, bad records) since start."""

    # ------------------------------------------------------------------------- entry points

    async def on_protocol(self, record: MessageRecord, message: wa_e2e_pb2.Message) -> None:
        """The receive path's hook: a key share from our phone is stored, then we fetch."""
        keys = shared_keys(message)
        if not keys:
            return
        stored = 0
        for key in keys:
            if await self._m.session.store.app_state_keys.store(self._m.session_id, key):
                stored += 1
            self._asked.pop(key.key_id, None)
        self._m.log.info("client.app_state_keys", shared=len(keys), new=stored)
        if self._m.ready:
            await self._background_sync([str(c) for c in ALL_COLLECTIONS])
        # Otherwise the login is still settling: on_connected (after it) finds the keys and
        # fetches then.

    async def on_server_sync(self, connection: Connection, node: Node) -> None:
        """``notification type=server_sync > collection(name, version)*``."""
        await connection.send(build_ack(node))
        names = [
            name
            for c in node.children_by_tag("collection")
            if (name := c.attr_str("name") or "") in self._locks
        ]
        if names and not connection.ended:
            connection.spawn(self._background_sync(names))

    async def on_connected(self, connection: Connection) -> None:
        """After login: catch up on every collection (when we have keys at all)."""
        if await self._m.session.store.app_state_keys.latest(self._m.session_id) is None:
            return
        if not connection.ended:  # a task spawned on an ended connection would never run
            connection.spawn(self._background_sync([str(c) for c in ALL_COLLECTIONS]))

    async def _background_sync(self, names: Sequence[str]) -> None:
        """A sync nobody waits for: a lost connection or a refused iq is logged, and the next
        login (or server_sync notification) tries again."""
        try:
            await self.sync(names)
        except ClientError as exc:
            self._m.log.warning("client.app_state_sync_interrupted", error=str(exc))

    # ------------------------------------------------------------------------- fetching

    async def sync(self, names: Iterable[str], *, full: bool = False) -> list[SyncOutcome]:
        """Brings each named collection up to date (``full``: from scratch). A refused patch
        does not raise: its outcome (and the stored status) says what happened."""
        connection = self._m.require_connection()
        outcomes = []
        for name in names:
            async with self._locks[str(name)]:
                outcomes.append(await self._sync_locked(connection, str(name), full))
        return outcomes

    async def _sync_locked(self, connection: Connection, name: str, full: bool) -> SyncOutcome:
        m, sid = self._m, self._m.session_id
        try:
            fetched = await self._fetch(connection, name, full=full)
        except AppStateKeyMissing as exc:
            return await self._missing_key(name, exc.key_id)
        except AppStateRejected as exc:
            await self._refused(exc, resyncing=not full)
            if full:
                await self._unrecoverable(name)
                return SyncOutcome(name, CollectionStatus.FAILED, exc.version, error=exc.reason)
            try:
                fetched = await self._fetch(connection, name, full=True)
            except AppStateKeyMissing as missing:
                return await self._missing_key(name, missing.key_id)
            except AppStateRejected as again:
                await self._refused(again, resyncing=False)
                await self._unrecoverable(name)
                return SyncOutcome(name, CollectionStatus.FAILED, again.version, error=again.reason)
            full = True
        except AppStateSyncFailed as exc:
            m.log.warning("client.app_state_fetch_failed", collection=name, error=str(exc))
            return SyncOutcome(name, CollectionStatus.FAILED, 0, error=str(exc))
        version = fetched.state.version
        m.log.info(
            "client.app_state_synced",
            collection=name,
            version=version,
            applied=fetched.applied,
            full=full,
        )
        self._publish(AppStateSynced(sid, name, version, fetched.applied, full))
        return SyncOutcome(name, CollectionStatus.OK, version, fetched.applied, full=full)

    async def _refused(self, exc: AppStateRejected, *, resyncing: bool) -> None:
        m = self._m
        self.refused += 1
        m.log.error(
            "client.app_state_refused",
            collection=exc.collection,
            version=exc.version,
            reason=exc.reason,
            resyncing=resyncing,
        )
        await self._store.app_state.mark_collection(
            m.session_id, exc.collection, CollectionStatus.FAILED, str(exc)
        )
        self._publish(
            AppStateRefused(m.session_id, exc.collection, exc.version, exc.reason, resyncing)
        )

    async def _unrecoverable(self, name: str) -> None:
        if self.on_unrecoverable is not None:
            await self.on_unrecoverable(name)

    async def recover(self, result: SyncResult) -> int | None:
        """Replaces a collection with our phone's copy (app-state recovery), applying every
        record; returns how many changed our tables, None when ours is as new already."""
        m, name = self._m, result.state.name
        if name not in self._locks:
            return None
        async with self._locks[name]:
            current = await self._load_state(name)
            if current.version >= result.state.version:
                return None  # whatsmeow's rule: never step back, nothing to gain at equal
            fetched = _Fetched(result.state, list(result.mutations))
            await self._commit_full(fetched)
        m.log.info(
            "client.app_state_recovered",
            collection=name,
            version=result.state.version,
            applied=fetched.applied,
        )
        self._publish(
            AppStateSynced(m.session_id, name, result.state.version, fetched.applied, True)
        )
        return fetched.applied

    async def _missing_key(self, name: str, key_id: bytes) -> SyncOutcome:
        m = self._m
        reason = f"sync key {key_id.hex()} not shared yet"
        m.log.warning("client.app_state_key_missing", collection=name, key=key_id.hex())
        await self._store.app_state.mark_collection(
            m.session_id, name, CollectionStatus.MISSING_KEY, reason
        )
        asked = self._asked.get(key_id)
        if asked is None or m.now() - asked >= KEY_REQUEST_INTERVAL_S:
            self._asked[key_id] = m.now()
            try:
                await self._peers.send(key_request_message([key_id]), push_priority="high")
            except PeerRequestFailed as exc:
                m.log.warning("client.app_state_key_request_failed", error=str(exc))
        return SyncOutcome(name, CollectionStatus.MISSING_KEY, 0, error=reason)

    async def _load_state(self, name: str) -> CollectionState:
        row = await self._store.app_state.load_collection(self._m.session_id, name)
        if row is None:
            return CollectionState(name)
        return CollectionState(name, row.version, row.hash, row.index_value_macs)

    async def _fetch(self, connection: Connection, name: str, *, full: bool) -> _Fetched:
        """Fetches until the server has nothing more. Incremental: every verified patch is
        applied and stored as it comes. Full: nothing is stored unless all of it verifies."""
        fetched = _Fetched(CollectionState(name) if full else await self._load_state(name))
        for _ in range(MAX_PAGES):
            state = fetched.state
            request = build_fetch_iq(name, state.version, snapshot=state.version == 0)
            answer = parse_sync_answer(await connection.query(request), name)
            if answer.error_code is not None:
                raise AppStateSyncFailed(f"{name}: the server answered error {answer.error_code}")
            if answer.snapshot is not None:
                result = await self._open_snapshot(connection, name, answer.snapshot)
                await self._take(fetched, result, full)
            for patch in answer.patches:
                result = await self._open_patch(connection, fetched.state, patch)
                await self._take(fetched, result, full)
            if not answer.has_more:
                break
        else:
            raise AppStateSyncFailed(f"{name}: more than {MAX_PAGES} pages of patches")
        if full:
            await self._commit_full(fetched)
        return fetched

    async def _take(self, fetched: _Fetched, result: SyncResult, full: bool) -> None:
        if full:
            fetched.mutations.extend(result.mutations)
        else:
            fetched.applied += await self._commit(result)
        fetched.state = result.state

    async def keys(self, key_ids: Iterable[bytes]) -> dict[bytes, bytes]:
        """The stored sync keys among ``key_ids`` (id -> key data)."""
        return await self._keys(key_ids)

    async def _keys(self, key_ids: Iterable[bytes]) -> dict[bytes, bytes]:
        repo, sid = self._m.session.store.app_state_keys, self._m.session_id
        found: dict[bytes, bytes] = {}
        for key_id in set(key_ids):
            key = await repo.load(sid, key_id)
            if key is not None:
                found[key_id] = key.key_data
        return found

    async def _open_patch(
        self, connection: Connection, state: CollectionState, patch: wa_appstate_pb2.SyncdPatch
    ) -> SyncResult:
        name = state.name
        version = patch.version.version if patch.HasField("version") else state.version + 1
        if not patch.mutations and patch.HasField("externalMutations"):
            blob = await self._external(connection, patch.externalMutations, name, version)
            try:
                patch = with_external_mutations(patch, blob)
            except AppStateError as exc:
                raise AppStateRejected(name, version, str(exc)) from None
        keys = await self._keys([patch.keyID.ID, *(m.record.keyID.ID for m in patch.mutations)])
        try:
            return decode_patch(patch, state, keys.get)
        except AppStateKeyMissing:
            raise
        except AppStateError as exc:
            raise AppStateRejected(name, version, str(exc)) from None

    async def _open_snapshot(
        self, connection: Connection, name: str, reference: wa_appstate_pb2.ExternalBlobReference
    ) -> SyncResult:
        blob = await self._external(connection, reference, name, 0)
        try:
            snapshot = wa_appstate_pb2.SyncdSnapshot.FromString(blob)
        except ProtoDecodeError as exc:
            raise AppStateRejected(name, 0, f"the snapshot is not a SyncdSnapshot: {exc}") from None
        keys = await self._keys([snapshot.keyID.ID, *(r.keyID.ID for r in snapshot.records)])
        try:
            return decode_snapshot(snapshot, name, keys.get)
        except AppStateKeyMissing:
            raise
        except AppStateError as exc:
            raise AppStateRejected(name, snapshot.version.version, str(exc)) from None

    async def _external(
        self,
        connection: Connection,
        reference: wa_appstate_pb2.ExternalBlobReference,
        name: str,
        version: int,
    ) -> bytes:
        if len(reference.mediaKey) != 32 or not reference.directPath:
            raise AppStateRejected(name, version, "an external blob reference is incomplete")
        ref = MediaRef(
            media_type=MediaType.APP_STATE,
            mms_type=MediaType.APP_STATE.mms_type or "md-app-state",
            media_key=reference.mediaKey,
            direct_path=reference.directPath,
            file_sha256=reference.fileSHA256 or None,
            file_enc_sha256=reference.fileEncSHA256 or None,
        )
        try:
            return await self._downloader.to_bytes(connection.query, ref)
        except MediaError as exc:
            raise AppStateSyncFailed(f"{name}: external blob: {exc}") from None

    # ------------------------------------------------------------------------- applying

    async def _commit(self, result: SyncResult) -> int:
        """Stores the state after a verified patch and applies its mutations, together."""
        state = result.state
        changed: list[str] = []
        async with self._store.transaction():
            await self._store.app_state.save_collection(
                self._m.session_id,
                state.name,
                state.version,
                state.hash,
                written=result.written,
                deleted=result.deleted,
                replace=result.replaced,
                at=self._m.now_dt(),
            )
            applied = await self._apply(result.mutations, changed)
        await self._announce(changed)
        return applied

    async def _commit_full(self, fetched: _Fetched) -> None:
        state = fetched.state
        changed: list[str] = []
        async with self._store.transaction():
            await self._store.app_state.save_collection(
                self._m.session_id,
                state.name,
                state.version,
                state.hash,
                written=tuple(state.index_value_macs.items()),
                replace=True,
                at=self._m.now_dt(),
            )
            fetched.applied = await self._apply(fetched.mutations, changed)
        await self._announce(changed)

    async def _announce(self, chats: list[str]) -> None:
        sid = self._m.session_id
        for jid in dict.fromkeys(chats):
            settings = await self._store.app_state.chat_settings(sid, jid)
            self._publish(ChatSettingsChanged(sid, settings, jid, deleted=settings is None))

    def _canonical(self, jid: str) -> str | None:
        try:
            return str(self._m.addressing.account(JID.parse(jid)))
        except (JIDError, ValueError):
            return None

    async def _apply(self, mutations: Sequence[Mutation], changed: list[str]) -> int:
        applied = 0
        for mutation in mutations:
            action = interpret(mutation)
            if action is None:
                continue
            at_ms = mutation.value.timestamp or int(self._m.now() * 1000)
            if await self._apply_one(action, at_ms, changed):
                applied += 1
        return applied

    async def _apply_one(self, action: AppStateAction, at_ms: int, changed: list[str]) -> bool:
        repo, sid = self._store.app_state, self._m.session_id
        if isinstance(action, NctSaltChanged):
            await self._m.privacy.put_salt(sid, action.salt)
            return True
        if isinstance(action, PushNameChanged):
            own = str(self._m.addressing.own_pn)
            await self._m.messages.contacts.learn(sid, pn=own, push_name=action.name)
            return True
        if isinstance(action, LabelEdited):
            await repo.put_label(
                sid, LabelRecord(action.label_id, action.name, action.color, action.deleted)
            )
            return True
        target = action.jid if isinstance(action, ContactName) else action.chat
        chat = self._canonical(target)
        if chat is None:
            self._m.log.warning("client.app_state_bad_jid", jid=mask_phone(str(target)))
            return False
        if isinstance(action, ContactName):
            pn = self._canonical(action.pn) if action.pn else None
            lid = action.lid if action.lid and action.lid.endswith("@lid") else None
            if not chat.endswith(("@s.whatsapp.net", "@lid")):
                return False
            await repo.set_contact_names(
                sid, chat, action.full_name, action.first_name, pn=pn, lid=lid
            )
            return True
        if isinstance(action, ChatLabeled):
            await repo.label_chat(sid, action.label_id, chat, action.labeled)
            return True
        if isinstance(action, MessageStarred):
            return await repo.set_starred(
                sid, chat, action.message_id, action.from_me, action.starred
            )
        if isinstance(action, MessageDeletedForMe):
            return await repo.delete_message(sid, chat, action.message_id, action.from_me)
        changed.append(chat)
        if isinstance(action, ChatArchived):
            await repo.set_archived(sid, chat, action.archived, at_ms)
        elif isinstance(action, ChatPinned):
            await repo.set_pinned(sid, chat, at_ms if action.pinned else None, at_ms)
        elif isinstance(action, ChatMuted):
            await repo.set_muted(sid, chat, action.muted_until, at_ms)
        elif isinstance(action, ChatRead):
            await repo.set_read(sid, chat, action.read, at_ms, action.up_to_ms)
        elif isinstance(action, ChatDeleted):
            await repo.delete_chat(sid, chat, action.up_to_ms, keep_chat=action.keep_chat)
        return True

    # ------------------------------------------------------------------------- sending

    async def archive_chat(self, chat: JID, archived: bool = True) -> int:
        last = await self._last_message(chat)
        return await self.push(*archive_mutation(str(chat), archived, last))

    async def mark_chat_read(self, chat: JID, read: bool = True) -> int:
        last = await self._last_message(chat)
        return await self.push(*mark_read_mutation(str(chat), read, last))

    async def pin_chat(self, chat: JID, pinned: bool = True) -> int:
        return await self.push(*pin_mutation(str(chat), pinned))

    async def mute_chat(self, chat: JID, muted_until: int | None) -> int:
        return await self.push(*mute_mutation(str(chat), muted_until))

    async def star_message(self, chat: JID, message_id: str, starred: bool = True) -> int:
        """Stars (or unstars) a stored message of ``chat`` on every device."""
        m = self._m
        record = await m.messages.messages.find_in_chat(m.session_id, str(chat), message_id)
        if record is None:
            raise TargetNotFound(f"no message {message_id} in {chat}")
        sender = None if record.from_me or not chat.is_group else record.sender
        return await self.push(
            *star_mutation(str(chat), message_id, record.from_me, sender, starred)
        )

    async def _last_message(self, chat: JID) -> LastMessage | None:
        row = await self._m.messages.chats.get(self._m.session_id, str(chat))
        if row is None or row.last_message_id is None or row.last_message_at is None:
            return None
        participant = row.last_sender if chat.is_group and not row.last_from_me else None
        return LastMessage(
            row.last_message_id,
            bool(row.last_from_me),
            int(row.last_message_at.timestamp()),
            participant,
        )

    async def push(self, collection: Collection, mutation: PendingMutation) -> int:
        """Uploads ``mutation`` as the next patch of ``collection`` and applies it here;
        returns the version the server gave it. Raises NotConnected, AppStateSyncFailed
        (no key, refused, still conflicting after retries) or AppStateRejected."""
        m = self._m
        connection = m.require_connection()
        name = str(collection)
        async with self._locks[name]:
            for _ in range(MAX_UPLOAD_ATTEMPTS):
                fetched = await self._fetch(connection, name, full=False)
                key = await m.session.store.app_state_keys.latest(m.session_id)
                if key is None:
                    raise AppStateSyncFailed("no app-state key: the phone has not shared one")
                now_ms = int(m.now() * 1000)
                try:
                    encoded = encode_patch(
                        fetched.state, [mutation], key.key_id, key.key_data, timestamp_ms=now_ms
                    )
                except AppStateError as exc:
                    raise AppStateSyncFailed(f"{name}: cannot encode the patch: {exc}") from None
                request = build_upload_iq(
                    name, fetched.state.version, encoded.patch.SerializeToString()
                )
                answer = parse_sync_answer(await connection.query(request), name)
                if answer.error_code == CONFLICT:
                    m.log.info("client.app_state_conflict", collection=name)
                    continue
                if answer.error_code is not None:
                    raise AppStateSyncFailed(f"{name}: upload refused ({answer.error_code})")
                expected = encoded.sync.state.version
                if answer.version and answer.version != expected:
                    raise AppStateSyncFailed(
                        f"{name}: the server stored v{answer.version}, v{expected} was expected"
                    )
                await self._commit(encoded.sync)
                m.log.info("client.app_state_pushed", collection=name, version=expected)
                return expected
        raise AppStateSyncFailed(f"{name}: still conflicting after {MAX_UPLOAD_ATTEMPTS} tries")
