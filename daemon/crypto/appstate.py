"""App-state sync ("syncd"): decode and encode the MAC-chained patches of one collection.

Account state that all devices share (mutes, pins, archive, stars, contacts, push name, labels,
...) lives in five collections on the server. Each holds encrypted records keyed by an index MAC;
a patch is a list of SET/REMOVE mutations of records, and the server hands out patches in version
order (or a snapshot of all records, then the patches after it). Every device keeps, per
collection, a :class:`CollectionState`: the version, the LTHash of the value MACs of all live
records, and the table index MAC -> value MAC (needed to subtract a record's old value MAC when
it is overwritten or removed). A patch is accepted only if

- every record's value MAC and index MAC verify under the sync key named by its key id,
- the snapshot MAC of the state *after* the patch (LTHash, version, name) equals the patch's, and
- the patch MAC over that snapshot MAC and all the value MACs equals the patch's.

This module is a pure core: state and protobufs in, new state and decoded mutations out; keys come
through a lookup callable. Nothing changes on failure: every error is raised before a new state
exists. Key and MAC constructions are in ``appstate_keys``, the hash in ``lthash``.

Facts from whatsmeow (``appstate/*.go``) and Baileys (``chat-utils.ts``):

- A REMOVE whose index is unknown is tolerated (both log it); the LTHash then simply does not
  change for it. Such index MACs come back in :attr:`SyncResult.missing_removals`.
- Neither client puts a version into the patches it sends; the server assigns it. A fetched patch
  without one is taken as ``state.version + 1`` (Baileys falls back to the collection's version
  attribute + 1).
- A snapshot's hash starts from zero and adds every record's value MAC.
- Index JSON is written the way WhatsApp Web's ``JSON.stringify`` writes an array of strings
  (no spaces, non-ASCII kept): the same index must give the same bytes on every device, or an
  overwrite would not find the record it replaces.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum
from types import MappingProxyType
from typing import cast

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.crypto import lthash
from daemon.crypto.appstate_keys import (
    IV_LENGTH,
    MAC_LENGTH,
    AppStateCryptoError,
    AppStateKeys,
    decrypt_value,
    encrypt_value,
    expand_sync_key,
    index_mac,
    patch_mac,
    snapshot_mac,
    value_mac,
)
from daemon.crypto.media import RandomBytes
from waproto import wa_appstate_pb2

SyncActionValue = wa_appstate_pb2.SyncActionValue
KeyLookup = Callable[[bytes], bytes | None]
"""Key id -> the 32-byte sync key data, or None when this device does not have that key."""

_MIN_VALUE_BLOB = IV_LENGTH + 16 + MAC_LENGTH


class Collection(StrEnum):
    """The collections, in whatsmeow's fetch order (``ALL_COLLECTIONS``)."""

    CRITICAL_BLOCK = "critical_block"  # push name, locale, security notifications
    CRITICAL_UNBLOCK_LOW = "critical_unblock_low"  # contacts (written by the server)
    REGULAR_HIGH = "regular_high"  # mute, star, delete/clear chat, delete-for-me
    REGULAR = "regular"  # labels, quick replies, key expiration
    REGULAR_LOW = "regular_low"  # pin, archive, mark read, unarchive setting


ALL_COLLECTIONS: tuple[Collection, ...] = tuple(Collection)


class Operation(IntEnum):
    """``SyncdMutation.SyncdOperation``."""

    SET = 0
    REMOVE = 1

    @property
    def mac_byte(self) -> int:
        return self.value + 1


class MacKind(Enum):
    VALUE = "value"
    INDEX = "index"
    SNAPSHOT = "snapshot"
    PATCH = "patch"


class AppStateError(ValueError):
    """Base of the errors of app-state decoding and encoding."""


class AppStateKeyMissing(AppStateError):
    """A record or patch names a sync key this device lacks: ask the phone for ``key_id``."""

    def __init__(self, key_id: bytes) -> None:
        super().__init__(f"app-state sync key {key_id.hex()} is not available")
        self.key_id = key_id


class AppStateDecodeError(AppStateError):
    """A patch, snapshot or record that is malformed (not a MAC mismatch)."""


class AppStateMacMismatch(AppStateError):
    """A MAC did not verify. ``kind`` says which; ``position`` is the mutation/record number."""

    def __init__(
        self, kind: MacKind, collection: str, version: int, position: int | None = None
    ) -> None:
        where = f" (mutation #{position})" if position is not None else ""
        super().__init__(f"{collection} v{version}: mismatching {kind.value} MAC{where}")
        self.kind = kind
        self.collection = collection
        self.version = version
        self.position = position


def _frozen_table(table: Mapping[bytes, bytes]) -> Mapping[bytes, bytes]:
    return MappingProxyType(dict(table))


@dataclass(frozen=True, slots=True)
class CollectionState:
    """What a device keeps per collection between syncs."""

    name: str
    version: int = 0
    hash: bytes = lthash.EMPTY
    index_value_macs: Mapping[bytes, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.hash) != lthash.LTHASH_SIZE:
            raise AppStateError(f"an LTHash is {lthash.LTHASH_SIZE} bytes, got {len(self.hash)}")
        if self.version < 0:
            raise AppStateError(f"a collection version is not negative, got {self.version}")
        object.__setattr__(self, "index_value_macs", _frozen_table(self.index_value_macs))


@dataclass(frozen=True, slots=True)
class Mutation:
    """One decoded and verified mutation."""

    operation: Operation
    index: tuple[str, ...]
    value: SyncActionValue
    action_version: int
    index_mac: bytes
    value_mac: bytes
    key_id: bytes
    patch_version: int


@dataclass(frozen=True, slots=True)
class SyncResult:
    """The state after a patch or snapshot, what it did, and the MAC-table changes to persist.

    When ``replaced`` (a snapshot) the whole table is ``state.index_value_macs``; otherwise
    ``written`` rows were added or changed and ``deleted`` rows went away.
    """

    state: CollectionState
    mutations: tuple[Mutation, ...]
    written: tuple[tuple[bytes, bytes], ...]
    deleted: tuple[bytes, ...]
    missing_removals: tuple[bytes, ...] = ()
    replaced: bool = False


@dataclass(frozen=True, slots=True)
class PendingMutation:
    """A mutation to encode: the index (e.g. ``("mute", chat_jid)``), its action value and the
    action's version (mute 2, pin 5, archive 3, ... see ``wa_appstate.proto``)."""

    index: tuple[str, ...]
    value: SyncActionValue
    action_version: int
    operation: Operation = Operation.SET


@dataclass(frozen=True, slots=True)
class EncodedPatch:
    patch: wa_appstate_pb2.SyncdPatch
    sync: SyncResult


@dataclass(frozen=True, slots=True)
class EncodedSnapshot:
    snapshot: wa_appstate_pb2.SyncdSnapshot
    sync: SyncResult


class _KeyRing:
    """Expands each sync key once per decode."""

    def __init__(self, lookup: KeyLookup) -> None:
        self._lookup = lookup
        self._expanded: dict[bytes, AppStateKeys] = {}

    def get(self, key_id: bytes) -> AppStateKeys:
        keys = self._expanded.get(key_id)
        if keys is None:
            key_data = self._lookup(key_id)
            if key_data is None:
                raise AppStateKeyMissing(key_id)
            try:
                keys = expand_sync_key(key_data)
            except AppStateCryptoError as exc:
                raise AppStateDecodeError(f"sync key {key_id.hex()}: {exc}") from exc
            self._expanded[key_id] = keys
        return keys


def encode_index(index: Sequence[str]) -> bytes:
    """The index JSON bytes, as WhatsApp Web writes them."""
    return json.dumps(list(index), separators=(",", ":"), ensure_ascii=False).encode()


def _parse_index(raw: bytes) -> tuple[str, ...]:
    try:
        parsed = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AppStateDecodeError(f"a record index is not JSON: {exc}") from exc
    if not isinstance(parsed, list) or not all(isinstance(part, str) for part in parsed):
        raise AppStateDecodeError("a record index is not a JSON array of strings")
    return tuple(parsed)


def _open_record(
    record: wa_appstate_pb2.SyncdRecord,
    operation: Operation,
    position: int,
    ring: _KeyRing,
    collection: str,
    version: int,
) -> Mutation:
    if not record.keyID.ID:
        raise AppStateDecodeError(f"{collection} v{version}: mutation #{position} has no key id")
    key_id = record.keyID.ID
    keys = ring.get(key_id)
    blob = record.value.blob
    if len(blob) < _MIN_VALUE_BLOB:
        raise AppStateDecodeError(
            f"{collection} v{version}: mutation #{position} value is {len(blob)} bytes, "
            f"at least {_MIN_VALUE_BLOB} expected"
        )
    encrypted, received_value_mac = blob[:-MAC_LENGTH], blob[-MAC_LENGTH:]
    expected_value_mac = value_mac(keys, operation.mac_byte, key_id, encrypted)
    if not hmac.compare_digest(expected_value_mac, received_value_mac):
        raise AppStateMacMismatch(MacKind.VALUE, collection, version, position)
    try:
        data = wa_appstate_pb2.SyncActionData.FromString(decrypt_value(keys, encrypted))
    except (AppStateCryptoError, ProtoDecodeError) as exc:
        raise AppStateDecodeError(
            f"{collection} v{version}: mutation #{position} does not decrypt: {exc}"
        ) from exc
    received_index_mac = record.index.blob
    if not hmac.compare_digest(index_mac(keys, data.index), received_index_mac):
        raise AppStateMacMismatch(MacKind.INDEX, collection, version, position)
    return Mutation(
        operation=operation,
        index=_parse_index(data.index),
        value=data.value,
        action_version=data.version,
        index_mac=received_index_mac,
        value_mac=received_value_mac,
        key_id=key_id,
        patch_version=version,
    )


def _apply_to_table(
    table: dict[bytes, bytes], base_hash: bytes, mutations: Iterable[Mutation]
) -> tuple[bytes, tuple[bytes, ...]]:
    """Apply mutations to ``table`` in place; return the new LTHash and the unknown removals.

    A SET adds its value MAC; a SET or REMOVE of an index already in the table (from the stored
    state or an earlier mutation of the same patch) subtracts the value MAC it had.
    """
    subtract: list[bytes] = []
    add: list[bytes] = []
    missing: list[bytes] = []
    for mutation in mutations:
        previous = table.get(mutation.index_mac)
        if mutation.operation is Operation.SET:
            add.append(mutation.value_mac)
            table[mutation.index_mac] = mutation.value_mac
        else:
            table.pop(mutation.index_mac, None)
            if previous is None:
                missing.append(mutation.index_mac)
        if previous is not None:
            subtract.append(previous)
    return lthash.subtract_then_add(base_hash, subtract, add), tuple(missing)


def _table_changes(
    before: Mapping[bytes, bytes], after: Mapping[bytes, bytes]
) -> tuple[tuple[tuple[bytes, bytes], ...], tuple[bytes, ...]]:
    written = tuple((k, v) for k, v in after.items() if before.get(k) != v)
    deleted = tuple(k for k in before if k not in after)
    return written, deleted


def _patch_version(patch: wa_appstate_pb2.SyncdPatch, state: CollectionState) -> int:
    if patch.HasField("version") and patch.version.HasField("version"):
        version = patch.version.version
    else:
        version = state.version + 1
    if version <= state.version:
        raise AppStateDecodeError(
            f"{state.name}: patch v{version} does not follow the state's v{state.version}"
        )
    return version


def _patch_mutations(
    patch: wa_appstate_pb2.SyncdPatch, collection: str, version: int
) -> Sequence[wa_appstate_pb2.SyncdMutation]:
    if not patch.mutations and patch.HasField("externalMutations"):
        raise AppStateDecodeError(
            f"{collection} v{version}: the mutations are in an external blob; download it and "
            "pass the patch through with_external_mutations first"
        )
    return patch.mutations


def decode_patch(
    patch: wa_appstate_pb2.SyncdPatch, state: CollectionState, lookup_key: KeyLookup
) -> SyncResult:
    """Verify ``patch`` against ``state`` and return the state after it.

    Checks run record by record (value MAC, then index MAC), then the snapshot MAC, then the patch
    MAC, so each kind of damage is reported by the MAC closest to it: a changed ciphertext or value
    MAC as VALUE, a changed index as INDEX, a wrong version, dropped mutation or out-of-step state
    as SNAPSHOT.
    """
    name = state.name
    version = _patch_version(patch, state)
    ring = _KeyRing(lookup_key)
    mutations = tuple(
        _open_record(m.record, _operation(m, name, version, i), i, ring, name, version)
        for i, m in enumerate(_patch_mutations(patch, name, version), start=1)
    )
    table = dict(state.index_value_macs)
    new_hash, missing = _apply_to_table(table, state.hash, mutations)
    if not patch.keyID.ID:
        raise AppStateDecodeError(f"{name} v{version}: the patch has no key id")
    keys = ring.get(patch.keyID.ID)
    expected_snapshot_mac = snapshot_mac(keys, new_hash, version, name)
    if not hmac.compare_digest(expected_snapshot_mac, patch.snapshotMAC):
        raise AppStateMacMismatch(MacKind.SNAPSHOT, name, version)
    value_macs = (m.value_mac for m in mutations)
    expected_patch_mac = patch_mac(keys, patch.snapshotMAC, value_macs, version, name)
    if not hmac.compare_digest(expected_patch_mac, patch.patchMAC):
        raise AppStateMacMismatch(MacKind.PATCH, name, version)
    written, deleted = _table_changes(state.index_value_macs, table)
    return SyncResult(
        state=CollectionState(name, version, new_hash, table),
        mutations=mutations,
        written=written,
        deleted=deleted,
        missing_removals=missing,
    )


def decode_snapshot(
    snapshot: wa_appstate_pb2.SyncdSnapshot, name: str, lookup_key: KeyLookup
) -> SyncResult:
    """Verify a downloaded ``SyncdSnapshot`` and return the state it establishes."""
    if not snapshot.version.HasField("version"):
        raise AppStateDecodeError(f"{name}: the snapshot has no version")
    version = snapshot.version.version
    ring = _KeyRing(lookup_key)
    mutations = tuple(
        _open_record(record, Operation.SET, i, ring, name, version)
        for i, record in enumerate(snapshot.records, start=1)
    )
    new_hash = lthash.subtract_then_add(lthash.EMPTY, (), (m.value_mac for m in mutations))
    if not snapshot.keyID.ID:
        raise AppStateDecodeError(f"{name} v{version}: the snapshot has no key id")
    keys = ring.get(snapshot.keyID.ID)
    if not hmac.compare_digest(snapshot_mac(keys, new_hash, version, name), snapshot.mac):
        raise AppStateMacMismatch(MacKind.SNAPSHOT, name, version)
    table = {m.index_mac: m.value_mac for m in mutations}
    return SyncResult(
        state=CollectionState(name, version, new_hash, table),
        mutations=mutations,
        written=tuple(table.items()),
        deleted=(),
        replaced=True,
    )


def _operation(
    mutation: wa_appstate_pb2.SyncdMutation, collection: str, version: int, position: int
) -> Operation:
    try:
        return Operation(mutation.operation)
    except ValueError as exc:
        raise AppStateDecodeError(
            f"{collection} v{version}: mutation #{position} has unknown operation "
            f"{mutation.operation}"
        ) from exc


def with_external_mutations(
    patch: wa_appstate_pb2.SyncdPatch, blob: bytes
) -> wa_appstate_pb2.SyncdPatch:
    """A copy of ``patch`` carrying the mutations of its downloaded ``externalMutations`` blob
    (a decrypted ``SyncdMutations``, media type APP_STATE)."""
    try:
        external = wa_appstate_pb2.SyncdMutations.FromString(blob)
    except ProtoDecodeError as exc:
        raise AppStateDecodeError(
            f"the external mutations blob is not SyncdMutations: {exc}"
        ) from exc
    if not external.mutations:
        raise AppStateDecodeError("the external mutations blob holds no mutations")
    inlined = wa_appstate_pb2.SyncdPatch()
    inlined.CopyFrom(patch)
    del inlined.mutations[:]
    inlined.mutations.extend(external.mutations)
    return inlined


def _seal_record(
    pending: PendingMutation,
    keys: AppStateKeys,
    key_id: bytes,
    timestamp_ms: int | None,
    random_bytes: RandomBytes,
) -> tuple[wa_appstate_pb2.SyncdRecord, bytes, bytes]:
    """The encrypted record, its index MAC and its value MAC."""
    index_json = encode_index(pending.index)
    value = SyncActionValue()
    value.CopyFrom(pending.value)
    if timestamp_ms is not None:
        value.timestamp = timestamp_ms
    data = wa_appstate_pb2.SyncActionData(
        index=index_json, value=value, padding=b"", version=pending.action_version
    )
    encrypted = encrypt_value(keys, data.SerializeToString(), random_bytes)
    record_value_mac = value_mac(keys, pending.operation.mac_byte, key_id, encrypted)
    record_index_mac = index_mac(keys, index_json)
    record = wa_appstate_pb2.SyncdRecord(
        index=wa_appstate_pb2.SyncdIndex(blob=record_index_mac),
        value=wa_appstate_pb2.SyncdValue(blob=encrypted + record_value_mac),
        keyID=wa_appstate_pb2.KeyId(ID=key_id),
    )
    return record, record_index_mac, record_value_mac


def _as_mutation(
    pending: PendingMutation,
    index_mac_value: bytes,
    value_mac_value: bytes,
    key_id: bytes,
    version: int,
    timestamp_ms: int | None,
) -> Mutation:
    value = SyncActionValue()
    value.CopyFrom(pending.value)
    if timestamp_ms is not None:
        value.timestamp = timestamp_ms
    return Mutation(
        operation=pending.operation,
        index=tuple(pending.index),
        value=value,
        action_version=pending.action_version,
        index_mac=index_mac_value,
        value_mac=value_mac_value,
        key_id=key_id,
        patch_version=version,
    )


def encode_patch(
    state: CollectionState,
    mutations: Sequence[PendingMutation],
    key_id: bytes,
    key_data: bytes,
    *,
    timestamp_ms: int | None = None,
    stamp_version: bool = False,
    random_bytes: RandomBytes = os.urandom,
) -> EncodedPatch:
    """Build the patch that moves ``state`` to its next version.

    ``timestamp_ms``, when given, is written into every action value (whatsmeow stamps each
    outgoing action with the patch time). Clients send patches without a version; a server
    handing a stored patch out sets it (``stamp_version=True``).
    """
    if not mutations:
        raise AppStateError("a patch needs at least one mutation")
    if not key_id:
        raise AppStateError("a patch needs a key id")
    try:
        keys = expand_sync_key(key_data)
    except AppStateCryptoError as exc:
        raise AppStateError(str(exc)) from exc
    version = state.version + 1
    sealed = [_seal_record(m, keys, key_id, timestamp_ms, random_bytes) for m in mutations]
    decoded = tuple(
        _as_mutation(pending, imac, vmac, key_id, version, timestamp_ms)
        for pending, (_, imac, vmac) in zip(mutations, sealed, strict=True)
    )
    table = dict(state.index_value_macs)
    new_hash, missing = _apply_to_table(table, state.hash, decoded)
    patch_snapshot_mac = snapshot_mac(keys, new_hash, version, state.name)
    patch = wa_appstate_pb2.SyncdPatch(
        mutations=[
            wa_appstate_pb2.SyncdMutation(
                operation=cast(wa_appstate_pb2.SyncdMutation.SyncdOperation, int(m.operation)),
                record=record,
            )
            for m, (record, _, _) in zip(mutations, sealed, strict=True)
        ],
        snapshotMAC=patch_snapshot_mac,
        patchMAC=patch_mac(
            keys, patch_snapshot_mac, (m.value_mac for m in decoded), version, state.name
        ),
        keyID=wa_appstate_pb2.KeyId(ID=key_id),
    )
    if stamp_version:
        patch.version.version = version
    written, deleted = _table_changes(state.index_value_macs, table)
    sync = SyncResult(
        state=CollectionState(state.name, version, new_hash, table),
        mutations=decoded,
        written=written,
        deleted=deleted,
        missing_removals=missing,
    )
    return EncodedPatch(patch=patch, sync=sync)


def seal_snapshot(
    name: str,
    version: int,
    records: Sequence[wa_appstate_pb2.SyncdRecord],
    key_id: bytes,
    key_data: bytes,
) -> wa_appstate_pb2.SyncdSnapshot:
    """A snapshot of already-encrypted records (e.g. the live records a server kept from the
    patches it stored), MACed by a device that holds the sync key."""
    try:
        keys = expand_sync_key(key_data)
    except AppStateCryptoError as exc:
        raise AppStateError(str(exc)) from exc
    value_macs = [record.value.blob[-MAC_LENGTH:] for record in records]
    snapshot_hash = lthash.subtract_then_add(lthash.EMPTY, (), value_macs)
    return wa_appstate_pb2.SyncdSnapshot(
        version=wa_appstate_pb2.SyncdVersion(version=version),
        records=records,
        mac=snapshot_mac(keys, snapshot_hash, version, name),
        keyID=wa_appstate_pb2.KeyId(ID=key_id),
    )


def encode_snapshot(
    name: str,
    version: int,
    entries: Sequence[PendingMutation],
    key_id: bytes,
    key_data: bytes,
    *,
    timestamp_ms: int | None = None,
    random_bytes: RandomBytes = os.urandom,
) -> EncodedSnapshot:
    """A snapshot holding one SET record per entry (indices must be distinct)."""
    if any(entry.operation is not Operation.SET for entry in entries):
        raise AppStateError("a snapshot holds only SET records")
    if len({tuple(entry.index) for entry in entries}) != len(entries):
        raise AppStateError("a snapshot holds each index once")
    try:
        keys = expand_sync_key(key_data)
    except AppStateCryptoError as exc:
        raise AppStateError(str(exc)) from exc
    sealed = [_seal_record(e, keys, key_id, timestamp_ms, random_bytes) for e in entries]
    snapshot = seal_snapshot(name, version, [record for record, _, _ in sealed], key_id, key_data)
    decoded = tuple(
        _as_mutation(entry, imac, vmac, key_id, version, timestamp_ms)
        for entry, (_, imac, vmac) in zip(entries, sealed, strict=True)
    )
    table = {m.index_mac: m.value_mac for m in decoded}
    snapshot_hash = lthash.subtract_then_add(lthash.EMPTY, (), table.values())
    sync = SyncResult(
        state=CollectionState(name, version, snapshot_hash, table),
        mutations=decoded,
        written=tuple(table.items()),
        deleted=(),
        replaced=True,
    )
    return EncodedSnapshot(snapshot=snapshot, sync=sync)


# For daemon.crypto.appstate_recovery, which opens the phone's plaintext copy of a collection.
KeyRing = _KeyRing
parse_index = _parse_index
