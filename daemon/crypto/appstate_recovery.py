"""App-state recovery from the primary phone (pure): the phone's plaintext copy of a collection.

When a collection cannot be brought back by the server (a patch that never verifies, not even in
a full resync), a companion asks its phone with a peer data operation of type
``COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY`` naming the collection (whatsmeow appstate.go
BuildAppStateRecoveryRequest, b6f3348d). The phone answers with a ``SyncdSnapshotRecovery``
(gzip-compressed when ``isCompressed``): the collection's version, LTHash and every live record
in plaintext (index JSON, value, action version) with the key id and the value MAC the record has
on the server (appstate/recovery.go).

The records arrive decrypted, so their value MACs cannot be checked against a ciphertext; what
can be checked is that they are the collection the LTHash names: the LTHash of the value MACs
must equal the one sent, and every index MAC is computed here with the sync key, so later patches
that name these records match. A recovery that does not add up is refused like a bad patch.
"""

from __future__ import annotations

import gzip
import hmac
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.crypto import lthash
from daemon.crypto.appstate import (
    AppStateDecodeError,
    AppStateMacMismatch,
    CollectionState,
    KeyLookup,
    KeyRing,
    MacKind,
    Mutation,
    Operation,
    SyncActionValue,
    SyncResult,
    encode_index,
    parse_index,
)
from daemon.crypto.appstate_keys import index_mac
from waproto import wa_appstate_pb2

MAX_RECOVERY_BYTES = 64 * 1024 * 1024
"""Largest inflated recovery accepted (a collection of a few hundred thousand records)."""


@dataclass(frozen=True, slots=True)
class PlainRecord:
    """One live record as the phone holds it."""

    index: tuple[str, ...]
    value: SyncActionValue
    value_mac: bytes
    key_id: bytes
    action_version: int = 1


def parse_recovery(data: bytes, *, compressed: bool) -> wa_appstate_pb2.SyncdSnapshotRecovery:
    """The ``collectionSnapshot`` of a recovery answer, inflated (bounded) and parsed."""
    if compressed:
        try:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
            data = inflater.decompress(data, MAX_RECOVERY_BYTES)
            if inflater.unconsumed_tail:
                raise AppStateDecodeError("the recovery is larger than allowed")
        except zlib.error as exc:
            raise AppStateDecodeError(f"the recovery does not inflate: {exc}") from exc
    try:
        return wa_appstate_pb2.SyncdSnapshotRecovery.FromString(data)
    except ProtoDecodeError as exc:
        raise AppStateDecodeError(f"the recovery is not a SyncdSnapshotRecovery: {exc}") from exc


def open_recovery(
    recovery: wa_appstate_pb2.SyncdSnapshotRecovery, lookup_key: KeyLookup
) -> SyncResult:
    """The state the recovery establishes (replacing ours), with its records as mutations."""
    name = recovery.collectionName
    if not name or not recovery.version.HasField("version"):
        raise AppStateDecodeError("the recovery names no collection or version")
    version = recovery.version.version
    if len(recovery.collectionLthash) != lthash.LTHASH_SIZE:
        raise AppStateDecodeError(
            f"{name} v{version}: the recovery's LTHash is {len(recovery.collectionLthash)} bytes"
        )
    ring = KeyRing(lookup_key)
    mutations: list[Mutation] = []
    for position, record in enumerate(recovery.mutationRecords, start=1):
        if not record.keyID or not record.mac:
            raise AppStateDecodeError(f"{name} v{version}: record #{position} lacks key or MAC")
        keys = ring.get(record.keyID)
        mutations.append(
            Mutation(
                operation=Operation.SET,
                index=parse_index(record.value.index),
                value=record.value.value,
                action_version=record.value.version,
                index_mac=index_mac(keys, record.value.index),
                value_mac=record.mac,
                key_id=record.keyID,
                patch_version=version,
            )
        )
    computed = lthash.subtract_then_add(lthash.EMPTY, (), (m.value_mac for m in mutations))
    if not hmac.compare_digest(computed, recovery.collectionLthash):
        raise AppStateMacMismatch(MacKind.SNAPSHOT, name, version)
    table = {m.index_mac: m.value_mac for m in mutations}
    return SyncResult(
        state=CollectionState(name, version, computed, table),
        mutations=tuple(mutations),
        written=tuple(table.items()),
        deleted=(),
        replaced=True,
    )


def build_recovery(
    name: str, version: int, records: Sequence[PlainRecord], *, compress: bool = True
) -> tuple[bytes, bool]:
    """The phone's side: (collectionSnapshot bytes, isCompressed)."""
    recovery = wa_appstate_pb2.SyncdSnapshotRecovery(collectionName=name)
    recovery.version.version = version
    recovery.collectionLthash = lthash.subtract_then_add(
        lthash.EMPTY, (), (r.value_mac for r in records)
    )
    for record in records:
        item = recovery.mutationRecords.add()
        item.value.index = encode_index(record.index)
        item.value.value.CopyFrom(record.value)
        item.value.version = record.action_version
        item.keyID = record.key_id
        item.mac = record.value_mac
    raw = recovery.SerializeToString()
    return (gzip.compress(raw), True) if compress else (raw, False)
