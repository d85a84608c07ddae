"""The server's side of app-state sync: ``iq xmlns=w:sync:app:state`` (protocol-inventory §10).

As on WhatsApp, the account's devices own the data and the server only stores it: per account
and collection, the encrypted patches in version order and the live records they leave behind
(keyed by index MAC, which the server can see). It cannot read or MAC anything; it orders.

Fetch: ``sync > collection(name, version, return_snapshot)`` is answered with
``collection(name, version[, has_more_patches=true]) > patches > patch*`` holding the patches
after ``version`` (each ``SyncdPatch`` with its version stamped, at most a page of them), or,
when a snapshot was asked for and snapshots are on, ``collection > snapshot`` holding an
``ExternalBlobReference`` to a ``SyncdSnapshot`` on the media host (encrypted with the "App State"
media keys). A snapshot needs no sync key: its records are the stored ones and its MAC is the
snapshot MAC of the newest patch, which is by definition the MAC of exactly that record set.
Snapshots are off by default: Baileys downloads external blobs only from WhatsApp's fixed media
host, so a snapshot would break it, and every client copes with patches from version 0.

Upload: ``sync > collection(name, version) > patch`` is accepted when ``version`` is the
collection's current one; the patch becomes version + 1 and every other device of the account
gets ``notification type=server_sync > collection(name, version)``. A stale version is refused
with ``collection(type=error) > error(code=409)`` carrying the patches the device is missing.

Fault injection: a patch may be stored with a tamper mark (``value``, ``index``, ``patch``,
``snapshot``): it is then served with that MAC corrupted (a snapshot whose newest patch carries
``snapshot`` gets a corrupted MAC too). The stored bytes stay genuine, so clearing the marks
serves the real patches again.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, SERVER_JID, Node
from daemon.crypto.appstate import ALL_COLLECTIONS
from daemon.crypto.media import MediaError, MediaType, decrypt_media, encrypt_media
from sandbox.iq import IqContext, bad_request
from sandbox.media import blob_id_from_path
from sandbox.stanzas import iq_result, new_server_id
from storage.sandbox_state import AppStatePatchRow
from waproto import wa_appstate_pb2

if TYPE_CHECKING:
    from sandbox.directory import Account
    from sandbox.network import Network

__all__ = [
    "PATCH_PAGE_SIZE",
    "AppStateServer",
    "CollectionRequest",
    "CollectionSummary",
    "Tamper",
    "handle_iq",
    "parse_sync",
    "tampered",
]

log = structlog.get_logger("sandbox.app_state")

PATCH_PAGE_SIZE = 50
"""Patches per answer; more are announced with ``has_more_patches``."""
SNAPSHOTS_SETTING = "app_state_snapshots"
COLLECTION_NAMES = frozenset(str(c) for c in ALL_COLLECTIONS)
_MAC_LENGTH = 32


class Tamper(enum.StrEnum):
    """Which MAC of a stored patch is served corrupted."""

    VALUE = "value"  # the first mutation's value MAC (the tail of its value blob)
    INDEX = "index"  # the first mutation's index MAC
    PATCH = "patch"  # the patch MAC
    SNAPSHOT = "snapshot"  # the patch's snapshot MAC (and the MAC of a snapshot ending there)


class CollectionError(Exception):
    """A collection the server answers with ``type=error > error(code)``."""

    def __init__(
        self, code: int, text: str, patches: Sequence[bytes] = (), *, name: str = ""
    ) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text
        self.patches = tuple(patches)
        self.name = name
        """The collection as the request named it (parse errors only)."""


@dataclass(frozen=True, slots=True)
class CollectionRequest:
    """One ``collection`` of a sync iq."""

    name: str
    version: int | None
    return_snapshot: bool
    patches: tuple[bytes, ...] = ()

    @property
    def is_upload(self) -> bool:
        return bool(self.patches)


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """What the server holds of one collection (the admin API shows it)."""

    name: str
    version: int
    patches: int
    records: int
    tampered: tuple[tuple[int, str], ...] = ()


@dataclass(slots=True)
class _Page:
    patches: list[bytes] = field(default_factory=list)
    last_version: int = 0
    has_more: bool = False


# --- pure parts --------------------------------------------------------------------------------


def parse_sync(iq: Node) -> list[CollectionRequest | CollectionError]:
    """The collections of a sync iq; a malformed one becomes the error it is answered with."""
    sync = iq.child("sync")
    if sync is None:
        raise bad_request("sync missing")
    collections = sync.children_by_tag("collection")
    if not collections:
        raise bad_request("sync holds no collection")
    return [_parse_collection(c) for c in collections]


def _parse_collection(node: Node) -> CollectionRequest | CollectionError:
    name = node.attr_str("name") or ""
    if name not in COLLECTION_NAMES:
        return CollectionError(400, "bad-request", name=name)
    raw_version = node.attr_str("version")
    version: int | None = None
    if raw_version is not None:
        if not raw_version.isdigit():
            return CollectionError(400, "bad-request", name=name)
        version = int(raw_version)
    patches = []
    for child in node.children_by_tag("patch"):
        body = child.content_bytes()
        if not body:
            return CollectionError(400, "bad-request", name=name)
        patches.append(body)
    return CollectionRequest(
        name=name,
        version=version,
        return_snapshot=node.attr_str("return_snapshot") == "true",
        patches=tuple(patches),
    )


def _flip_last(data: bytes) -> bytes:
    if not data:
        return b"\x01"
    return data[:-1] + bytes((data[-1] ^ 0x01,))


def tampered(patch_bytes: bytes, kind: Tamper) -> bytes:
    """``patch_bytes`` with the MAC ``kind`` names corrupted (one bit flipped)."""
    patch = wa_appstate_pb2.SyncdPatch.FromString(patch_bytes)
    if kind is Tamper.PATCH:
        patch.patchMAC = _flip_last(patch.patchMAC)
    elif kind is Tamper.SNAPSHOT:
        patch.snapshotMAC = _flip_last(patch.snapshotMAC)
    elif patch.mutations:
        record = patch.mutations[0].record
        if kind is Tamper.VALUE:
            record.value.blob = _flip_last(record.value.blob)
        else:
            record.index.blob = _flip_last(record.index.blob)
    return patch.SerializeToString()


def _checked_patch(body: bytes) -> wa_appstate_pb2.SyncdPatch:
    try:
        patch = wa_appstate_pb2.SyncdPatch.FromString(body)
    except ProtoDecodeError:
        raise CollectionError(400, "bad-request") from None
    if not patch.mutations and not patch.HasField("externalMutations"):
        raise CollectionError(400, "bad-request")
    if not patch.keyID.ID:
        raise CollectionError(400, "bad-request")
    if len(patch.snapshotMAC) != _MAC_LENGTH or len(patch.patchMAC) != _MAC_LENGTH:
        raise CollectionError(400, "bad-request")
    return patch


def record_changes(
    mutations: Sequence[wa_appstate_pb2.SyncdMutation],
) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    """The records a patch leaves (index MAC, SyncdRecord bytes) and the index MACs it removes;
    a later mutation of the same index wins, as in the LTHash."""
    final: dict[bytes, bytes | None] = {}
    for mutation in mutations:
        index_mac = mutation.record.index.blob
        if not index_mac:
            raise CollectionError(400, "bad-request")
        if mutation.operation == wa_appstate_pb2.SyncdMutation.REMOVE:
            final[index_mac] = None
        else:
            final[index_mac] = mutation.record.SerializeToString()
    records = [(mac, record) for mac, record in final.items() if record is not None]
    removed = [mac for mac, record in final.items() if record is None]
    return records, removed


def collection_node(
    name: str,
    version: int,
    *,
    patches: Sequence[bytes] = (),
    snapshot: bytes | None = None,
    has_more: bool = False,
) -> Node:
    attrs: dict[str, str | JID] = {"name": name, "version": str(version)}
    if has_more:
        attrs["has_more_patches"] = "true"
    children: list[Node] = []
    if snapshot is not None:
        children.append(Node("snapshot", {}, snapshot))
    if patches:
        children.append(Node("patches", {}, [Node("patch", {}, p) for p in patches]))
    return Node("collection", attrs, children or None)


def error_collection(name: str, version: int, error: CollectionError) -> Node:
    children = [Node("error", {"code": str(error.code), "text": error.text})]
    if error.patches:
        children.append(Node("patches", {}, [Node("patch", {}, p) for p in error.patches]))
    attrs: dict[str, str | JID] = {"name": name, "type": "error", "version": str(version)}
    return Node("collection", attrs, children)


def server_sync_notification(collections: Sequence[tuple[str, int]], now: int) -> Node:
    return Node(
        "notification",
        {"from": SERVER_JID, "type": "server_sync", "id": new_server_id(), "t": str(now)},
        [Node("collection", {"name": n, "version": str(v)}) for n, v in collections],
    )


# --- the store ---------------------------------------------------------------------------------


class AppStateServer:
    """One per running sandbox (``network.app_state``); its state is in the sandbox database."""

    def __init__(self, network: Network, *, page_size: int = PATCH_PAGE_SIZE) -> None:
        if page_size < 1:
            raise ValueError("a page holds at least one patch")
        self._network = network
        self.page_size = page_size
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._armed: dict[tuple[str, str], Tamper] = {}
        self._snapshots: dict[tuple[str, str, int, bool], bytes] = {}

    # Settings and fault knobs

    async def snapshots_enabled(self) -> bool:
        return await self._network.state.store.setting(SNAPSHOTS_SETTING) == "on"

    async def set_snapshots(self, enabled: bool) -> None:
        await self._network.state.store.set_setting(SNAPSHOTS_SETTING, "on" if enabled else "off")

    def arm_tamper(self, account_user: str, collection: str, kind: Tamper) -> None:
        """The next patch stored in that collection of that account is served tampered."""
        if collection not in COLLECTION_NAMES:
            raise ValueError(f"no app-state collection {collection!r}")
        self._armed[(account_user, collection)] = kind

    def disarm_tamper(self, account_user: str, collection: str) -> None:
        self._armed.pop((account_user, collection), None)

    async def clear_tamper(self, account_user: str) -> int:
        """Serves every stored patch of the account genuine again; returns how many changed."""
        self._snapshots = {k: v for k, v in self._snapshots.items() if k[0] != account_user}
        return await self._network.state.store.clear_app_state_tamper(account_user)

    async def summary(self, account_user: str) -> list[CollectionSummary]:
        store = self._network.state.store
        versions = await store.app_state_versions(account_user)
        summaries = []
        for name in ALL_COLLECTIONS:
            version = versions.get(str(name), 0)
            patches = await store.app_state_patches(account_user, str(name), 0, max(version, 1))
            records = await store.app_state_records(account_user, str(name))
            summaries.append(
                CollectionSummary(
                    name=str(name),
                    version=version,
                    patches=len(patches),
                    records=len(records),
                    tampered=tuple((p.version, p.tamper) for p in patches if p.tamper),
                )
            )
        return summaries

    # The iq

    async def handle(self, ctx: IqContext, iq: Node) -> Node:
        answers = []
        for request in parse_sync(iq):
            if isinstance(request, CollectionError):
                answers.append(error_collection(request.name, 0, request))
                continue
            try:
                if request.is_upload:
                    answers.append(await self._upload(ctx, request))
                else:
                    answers.append(await self._fetch(ctx.account, request))
            except CollectionError as exc:
                current = await self._network.state.store.app_state_version(
                    ctx.account.phone_user, request.name
                )
                answers.append(error_collection(request.name, current, exc))
        return iq_result(iq, [Node("sync", {}, answers)])

    async def _fetch(self, account: Account, request: CollectionRequest) -> Node:
        store = self._network.state.store
        user, name = account.phone_user, request.name
        current = await store.app_state_version(user, name)
        since = request.version or 0
        if since > current:
            raise CollectionError(400, "bad-request")
        if request.return_snapshot and current > 0 and await self.snapshots_enabled():
            return collection_node(name, current, snapshot=await self._snapshot(account, name))
        page = await self._page(user, name, since)
        return collection_node(
            name, page.last_version or since, patches=page.patches, has_more=page.has_more
        )

    async def _page(self, user: str, name: str, since: int) -> _Page:
        rows = await self._network.state.store.app_state_patches(
            user, name, since, self.page_size + 1
        )
        page = _Page(has_more=len(rows) > self.page_size)
        for row in rows[: self.page_size]:
            page.patches.append(_served(row))
            page.last_version = row.version
        return page

    async def _upload(self, ctx: IqContext, request: CollectionRequest) -> Node:
        user, name = ctx.account.phone_user, request.name
        if len(request.patches) != 1 or request.version is None:
            raise CollectionError(400, "bad-request")
        lock = self._locks.setdefault((user, name), asyncio.Lock())
        async with lock:
            store = self._network.state.store
            current = await store.app_state_version(user, name)
            if request.version < current:
                page = await self._page(user, name, request.version)
                raise CollectionError(409, "conflict", page.patches)
            if request.version > current:
                raise CollectionError(400, "bad-request")
            patch = _checked_patch(request.patches[0])
            mutations = await self._mutations_of(patch)
            records, removed = record_changes(mutations)
            version = current + 1
            patch.version.version = version
            tamper = self._armed.pop((user, name), None)
            await store.add_app_state_patch(
                user,
                name,
                AppStatePatchRow(
                    version=version,
                    patch=patch.SerializeToString(),
                    device_id=ctx.device.device_id,
                    tamper=str(tamper) if tamper is not None else None,
                    created_at=self._network.now(),
                ),
                records=records,
                removed=removed,
            )
        log.info("sandbox.app_state_patch", account=user, collection=name, version=version)
        await self._notify(ctx.account, ctx.sender, name, version)
        return collection_node(name, version)

    async def _mutations_of(
        self, patch: wa_appstate_pb2.SyncdPatch
    ) -> Sequence[wa_appstate_pb2.SyncdMutation]:
        """The patch's mutations, read from its external blob when they are not inline (the
        reference carries the media key; the blob is on our own media host)."""
        if patch.mutations:
            return patch.mutations
        reference = patch.externalMutations
        blob_id = blob_id_from_path(reference.directPath)
        body = await self._network.media.get(blob_id) if blob_id else None
        if body is None:
            raise CollectionError(400, "bad-request")
        try:
            plain = decrypt_media(
                body,
                reference.mediaKey,
                MediaType.APP_STATE,
                file_enc_sha256=reference.fileEncSHA256 or None,
                file_sha256=reference.fileSHA256 or None,
            )
            external = wa_appstate_pb2.SyncdMutations.FromString(plain)
        except (MediaError, ProtoDecodeError):
            raise CollectionError(400, "bad-request") from None
        if not external.mutations:
            raise CollectionError(400, "bad-request")
        return external.mutations

    async def _notify(self, account: Account, uploader: JID, name: str, version: int) -> None:
        network = self._network
        notification = server_sync_notification([(name, version)], network.now())
        for device in network.directory.devices(account.phone_user):
            if device.logged_out or device.jid() == uploader:
                continue
            await network.deliver(device.jid(), notification)

    async def _snapshot(self, account: Account, name: str) -> bytes:
        """An ``ExternalBlobReference`` to the collection's current snapshot."""
        store = self._network.state.store
        user = account.phone_user
        version = await store.app_state_version(user, name)
        newest = await store.app_state_patch(user, name, version)
        if newest is None:
            raise CollectionError(500, "internal-server-error")
        corrupt = newest.tamper == Tamper.SNAPSHOT
        key = (user, name, version, corrupt)
        cached = self._snapshots.get(key)
        if cached is not None:
            return cached
        last = wa_appstate_pb2.SyncdPatch.FromString(newest.patch)
        records = [
            wa_appstate_pb2.SyncdRecord.FromString(row.record)
            for row in await store.app_state_records(user, name)
        ]
        snapshot = wa_appstate_pb2.SyncdSnapshot(
            version=wa_appstate_pb2.SyncdVersion(version=version),
            records=records,
            mac=_flip_last(last.snapshotMAC) if corrupt else last.snapshotMAC,
            keyID=last.keyID,
        )
        plain = snapshot.SerializeToString()
        encrypted = encrypt_media(plain, MediaType.APP_STATE)
        stored = await self._network.media.put(
            MediaType.APP_STATE.mms_type or "md-app-state", encrypted.body, self._network.now()
        )
        reference = wa_appstate_pb2.ExternalBlobReference(
            mediaKey=encrypted.media_key,
            directPath=stored.direct_path,
            handle=stored.blob_id,
            fileSizeBytes=len(plain),
            fileSHA256=encrypted.info.file_sha256,
            fileEncSHA256=encrypted.info.file_enc_sha256,
        ).SerializeToString()
        self._snapshots[key] = reference
        return reference


def _served(row: AppStatePatchRow) -> bytes:
    if row.tamper is None:
        return row.patch
    return tampered(row.patch, Tamper(row.tamper))


async def handle_iq(ctx: IqContext, iq: Node) -> Node | None:
    """The ``w:sync:app:state`` iq handler (``sandbox.iq_misc``)."""
    return await ctx.network.app_state.handle(ctx, iq)
