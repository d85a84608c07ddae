"""A phone that writes app-state patches and a server that stores and serves them, in memory,
speaking the ``w:sync:app:state`` iq as the real one does (test helper)."""

from __future__ import annotations

from sync_fakes import iq_result

from daemon.binary import Node
from daemon.client.media_download import MediaRef
from daemon.crypto.appstate import (
    CollectionState,
    PendingMutation,
    SyncActionValue,
    decode_patch,
    encode_patch,
    seal_snapshot,
)
from daemon.crypto.media import MediaType
from waproto import wa_appstate_pb2, wa_e2e_pb2

KEY_ID = b"\x00\x00\x00\x01key-1"
KEY_DATA = bytes(range(32))


def key_share(key_id: bytes = KEY_ID, key_data: bytes = KEY_DATA) -> wa_e2e_pb2.Message:
    key = wa_e2e_pb2.AppStateSyncKey(
        keyID=wa_e2e_pb2.AppStateSyncKeyId(keyID=key_id),
        keyData=wa_e2e_pb2.AppStateSyncKeyData(keyData=key_data, timestamp=1_700_000_000_000),
    )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE,
            appStateSyncKeyShare=wa_e2e_pb2.AppStateSyncKeyShare(keys=[key]),
        )
    )


def value(**fields: object) -> SyncActionValue:
    made = SyncActionValue(timestamp=1_700_000_000_000)
    for name, content in fields.items():
        getattr(made, name).CopyFrom(content)
    return made


def flip(data: bytes) -> bytes:
    return data[:-1] + bytes((data[-1] ^ 1,))


class FakeAppStateServer:
    """The phone's writes (``write``) become stored patches; fetches and uploads are answered
    like ``sandbox.app_state`` does. ``tamper`` corrupts how a stored patch is served."""

    def __init__(self, page_size: int = 50) -> None:
        self.patches: dict[str, list[bytes]] = {}
        self.phone_state: dict[str, CollectionState] = {}
        self.tampered: dict[tuple[str, int], str] = {}
        self.page_size = page_size
        self.snapshots = False
        self.blobs: dict[str, bytes] = {}
        self.uploads: list[wa_appstate_pb2.SyncdPatch] = []
        self.conflicts = 0
        """Uploads to answer with 409 (another device's patch lands first)."""

    def version(self, name: str) -> int:
        return len(self.patches.get(name, []))

    def write(
        self, name: str, mutations: list[PendingMutation], *, key_id: bytes = KEY_ID
    ) -> wa_appstate_pb2.SyncdPatch:
        """The phone encodes and stores the next patch of ``name``."""
        state = self.state_of(name)
        encoded = encode_patch(state, mutations, key_id, KEY_DATA, stamp_version=True)
        self.phone_state[name] = encoded.sync.state
        self.patches.setdefault(name, []).append(encoded.patch.SerializeToString())
        return encoded.patch

    def state_of(self, name: str) -> CollectionState:
        state = self.phone_state.get(name, CollectionState(name))
        # Catch up on uploads from companions first (a phone verifies them; here we trust).
        stored = self.patches.get(name, [])
        if state.version < len(stored):
            for raw in stored[state.version :]:
                patch = wa_appstate_pb2.SyncdPatch.FromString(raw)
                state = decode_patch(patch, state, {KEY_ID: KEY_DATA}.get).state
        return state

    def _served(self, name: str, version: int) -> bytes:
        raw = self.patches[name][version - 1]
        kind = self.tampered.get((name, version))
        if kind is None:
            return raw
        patch = wa_appstate_pb2.SyncdPatch.FromString(raw)
        if kind == "patch":
            patch.patchMAC = flip(patch.patchMAC)
        elif kind == "snapshot":
            patch.snapshotMAC = flip(patch.snapshotMAC)
        elif kind == "value":
            record = patch.mutations[0].record
            record.value.blob = flip(record.value.blob)
        elif kind == "index":
            record = patch.mutations[0].record
            record.index.blob = flip(record.index.blob)
        return patch.SerializeToString()

    async def answer(self, request: Node) -> Node:
        assert request.attr_str("xmlns") == "w:sync:app:state"
        collection = request.child("sync", "collection")
        assert collection is not None
        name = collection.attr_str("name") or ""
        patches = collection.children_by_tag("patch")
        if patches:
            return self._upload(request, name, collection, patches[0].content_bytes() or b"")
        since = collection.attr_int("version") or 0
        current = self.version(name)
        if collection.attr_str("return_snapshot") == "true" and self.snapshots and current:
            return iq_result(
                request,
                [
                    Node(
                        "sync",
                        {},
                        [
                            Node(
                                "collection",
                                {"name": name, "version": str(current)},
                                [Node("snapshot", {}, self._snapshot(name))],
                            )
                        ],
                    )
                ],
            )
        end = min(current, since + self.page_size)
        served = [Node("patch", {}, self._served(name, v)) for v in range(since + 1, end + 1)]
        attrs = {"name": name, "version": str(end)}
        if end < current:
            attrs["has_more_patches"] = "true"
        content = [Node("patches", {}, served)] if served else None
        return iq_result(request, [Node("sync", {}, [Node("collection", attrs, content)])])

    def _upload(self, request: Node, name: str, collection: Node, body: bytes) -> Node:
        version = collection.attr_int("version") or 0
        if self.conflicts:
            self.conflicts -= 1
            self.write(
                name,
                [
                    PendingMutation(
                        ("setting_pushName",),
                        value(pushNameSetting=wa_appstate_pb2.PushNameSetting(name="Elsewhere")),
                        1,
                    )
                ],
            )
        current = self.version(name)
        if version != current:
            error = Node(
                "collection",
                {"name": name, "type": "error", "version": str(current)},
                [Node("error", {"code": "409", "text": "conflict"})],
            )
            return iq_result(request, [Node("sync", {}, [error])])
        patch = wa_appstate_pb2.SyncdPatch.FromString(body)
        patch.version.version = current + 1
        self.uploads.append(patch)
        self.patches.setdefault(name, []).append(patch.SerializeToString())
        attrs = {"name": name, "version": str(current + 1)}
        return iq_result(request, [Node("sync", {}, [Node("collection", attrs)])])

    def _snapshot(self, name: str) -> bytes:
        """A snapshot of the live records, as an ExternalBlobReference the downloader knows."""
        state = self.state_of(name)
        records: dict[bytes, wa_appstate_pb2.SyncdRecord] = {}
        for raw in self.patches[name]:
            patch = wa_appstate_pb2.SyncdPatch.FromString(raw)
            for mutation in patch.mutations:
                if mutation.operation == wa_appstate_pb2.SyncdMutation.REMOVE:
                    records.pop(mutation.record.index.blob, None)
                else:
                    records[mutation.record.index.blob] = mutation.record
        snapshot = seal_snapshot(name, state.version, list(records.values()), KEY_ID, KEY_DATA)
        path = f"/v/snapshot/{name}?v={state.version}"
        self.blobs[path] = snapshot.SerializeToString()
        return wa_appstate_pb2.ExternalBlobReference(
            mediaKey=bytes(32), directPath=path
        ).SerializeToString()


class BlobDownloads:
    """The downloader's place: serves the fake server's blobs (already 'decrypted')."""

    def __init__(self, server: FakeAppStateServer) -> None:
        self._server = server
        self.fetched: list[str] = []

    async def to_bytes(self, query: object, ref: MediaRef, *, limit: int = 0) -> bytes:
        assert ref.media_type is MediaType.APP_STATE
        path = ref.direct_path
        self.fetched.append(path)
        return self._server.blobs[path]


class FakePeers:
    def __init__(self) -> None:
        self.sent: list[wa_e2e_pb2.Message] = []

    async def send(self, message: wa_e2e_pb2.Message, **_: object) -> str:
        self.sent.append(message)
        return f"PEER{len(self.sent)}"
