"""A companion for the app-state, history and media tests: the test client of ``helpers`` with
Signal sessions, so it can read what phones send, plus the client halves of app-state sync and
media downloads (built from ``daemon.crypto``, exactly what a real client would run)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import aiohttp
from helpers import Companion, TestClient, client_ssl_context, login, pair_with_phone

from daemon.binary import JID, Node
from daemon.crypto.appstate import CollectionState, SyncResult, decode_patch
from daemon.crypto.media import MediaType, decrypt_media
from daemon.signal import (
    InMemorySignalStore,
    KeyPair,
    ProtocolAddress,
    SessionCipher,
    SignedPreKey,
    pad,
    unpad,
)
from sandbox.app import SandboxServer
from sandbox.directory import Account
from waproto import wa_appstate_pb2, wa_e2e_pb2


@dataclass(slots=True)
class Linked:
    """A logged-in companion of ``account`` that decrypts what it receives."""

    server: SandboxServer
    account: Account
    companion: Companion
    client: TestClient
    store: InMemorySignalStore
    cipher: SessionCipher
    app_state_key: tuple[bytes, bytes] = (b"", b"")
    states: dict[str, CollectionState] = field(default_factory=dict)

    @property
    def jid(self) -> JID:
        return self.companion.jid

    def address(self, sender: JID) -> ProtocolAddress:
        lid = self.server.network.directory.to_lid(sender)
        return ProtocolAddress.from_jid(lid if lid is not None else sender)

    async def open(self, stanza: Node) -> wa_e2e_pb2.Message:
        """Decrypts a one-enc message stanza (from a phone or another device)."""
        sender = stanza.attr_jid("participant") or stanza.attr_jid("from")
        assert sender is not None
        [enc] = [e for e in stanza.children_by_tag("enc") if e.attr_str("type") != "skmsg"]
        body = enc.content_bytes()
        assert body is not None
        decrypted = await self.cipher.decrypt(
            self.address(sender), enc.attr_str("type") or "", body
        )
        return wa_e2e_pb2.Message.FromString(unpad(decrypted.plaintext))

    async def next_peer(self) -> tuple[Node, wa_e2e_pb2.Message]:
        """The next peer message from our own phone, decrypted (the LID mapping sync a
        migrated account's phone sends after the history is passed over: tests look at it
        with :meth:`next_peer_any`)."""
        while True:
            stanza, message = await self.next_peer_any()
            if (
                message.protocolMessage.type
                != wa_e2e_pb2.ProtocolMessage.LID_MIGRATION_MAPPING_SYNC
            ):
                return stanza, message

    async def next_peer_any(self) -> tuple[Node, wa_e2e_pb2.Message]:
        stanza = await self.client.wait_for(
            lambda n: (
                n.tag == "message"
                and n.attr_str("category") == "peer"
                and n.attrs.get("from") == self.account.pn
            )
        )
        return stanza, await self.open(stanza)

    async def take_key_share(self) -> None:
        _, message = await self.next_peer()
        protocol = message.protocolMessage
        assert protocol.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
        [key] = protocol.appStateSyncKeyShare.keys
        self.app_state_key = (key.keyID.keyID, key.keyData.keyData)

    def lookup_key(self, key_id: bytes) -> bytes | None:
        return self.app_state_key[1] if key_id == self.app_state_key[0] else None

    async def send_peer(self, message: wa_e2e_pb2.Message, message_id: str) -> None:
        """A peer message to our own phone (the server routes it to device 0)."""
        phone = self.address(self.account.pn_device(0))
        encrypted = await self.cipher.encrypt(phone, pad(message.SerializeToString()))
        enc = Node("enc", {"v": "2", "type": encrypted.message.type}, encrypted.message.body)
        attrs = {"id": message_id, "to": self.account.pn, "type": "text", "category": "peer"}
        await self.client.send(Node("message", dict(attrs), [enc]))

    # App state, as a client syncs it

    async def fetch(self, name: str, version: int | None = None, *, snapshot: bool = False) -> Node:
        """``w:sync:app:state`` for one collection; returns the answer's ``collection``."""
        attrs = {"name": name, "return_snapshot": "true" if snapshot else "false"}
        if version is not None:
            attrs["version"] = str(version)
        answer = await self.client.iq(
            "w:sync:app:state", "set", [Node("sync", {}, [Node("collection", attrs)])]
        )
        assert answer.attr_str("type") == "result", answer
        collection = answer.child("sync", "collection")
        assert collection is not None
        return collection

    async def sync(self, name: str) -> list[SyncResult]:
        """Fetches every patch after our version and applies it with all MACs checked."""
        results = []
        while True:
            state = self.states.get(name, CollectionState(name))
            collection = await self.fetch(name, state.version)
            for patch in patches_of(collection):
                result = decode_patch(patch, state, self.lookup_key)
                state = result.state
                results.append(result)
            self.states[name] = state
            if collection.attr_str("has_more_patches") != "true":
                return results

    async def upload(self, name: str, version: int, patch: bytes) -> Node:
        attrs = {"name": name, "version": str(version), "return_snapshot": "false"}
        answer = await self.client.iq(
            "w:sync:app:state",
            "set",
            [Node("sync", {}, [Node("collection", attrs, [Node("patch", {}, patch)])])],
        )
        collection = answer.child("sync", "collection")
        assert collection is not None, answer
        return collection

    async def close(self) -> None:
        await self.client.close()


def patches_of(collection: Node) -> list[wa_appstate_pb2.SyncdPatch]:
    node = collection.child("patches")
    if node is None:
        return []
    return [
        wa_appstate_pb2.SyncdPatch.FromString(p.content_bytes() or b"")
        for p in node.children_by_tag("patch")
    ]


async def link(
    server: SandboxServer, account: Account, *, push_name: str = "laptop", key_share: bool = True
) -> Linked:
    """Pairs a companion with the account's phone, logs it in, and (by default) takes the
    app-state key share the phone sends first."""
    companion = await pair_with_phone(server, account, push_name=push_name)
    keys = companion.keys
    store = InMemorySignalStore(
        KeyPair(keys.identity.private, keys.identity.public), keys.registration_id
    )
    await store.store_signed_prekey(
        SignedPreKey(
            keys.signed_prekey_id,
            KeyPair(keys.signed_prekey.private, keys.signed_prekey.public),
            keys.signed_prekey_signature,
        )
    )
    client = await login(server, companion)
    linked = Linked(server, account, companion, client, store, SessionCipher(store))
    if key_share:
        await linked.take_key_share()
    return linked


# Media, as a client downloads it


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


async def http_get(server: SandboxServer, url: str) -> tuple[int, bytes]:
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(server) or False)
    async with aiohttp.ClientSession(connector=connector) as session, session.get(url) as r:
        return r.status, await r.read()


async def download(
    server: SandboxServer, direct_path: str, file_enc_sha256: bytes, mms_type: str
) -> tuple[int, bytes]:
    """whatsmeow's download URL: the media_conn host, the direct path, its own query."""
    url = (
        f"{server.origin}{direct_path}&hash={_b64url(file_enc_sha256)}"
        f"&mms-type={mms_type}&__wa-mms="
    )
    return await http_get(server, url)


async def history_blob(
    server: SandboxServer, notification: wa_e2e_pb2.HistorySyncNotification
) -> bytes:
    """The zlib blob of a history notification: inline, or downloaded and decrypted."""
    if notification.HasField("initialHistBootstrapInlinePayload"):
        return notification.initialHistBootstrapInlinePayload
    status, body = await download(
        server, notification.directPath, notification.fileEncSHA256, "md-msg-hist"
    )
    assert status == 200, status
    return decrypt_media(
        body,
        notification.mediaKey,
        MediaType.HISTORY,
        file_enc_sha256=notification.fileEncSHA256,
        file_sha256=notification.fileSHA256,
    )


def history_notification(message: wa_e2e_pb2.Message) -> wa_e2e_pb2.HistorySyncNotification:
    protocol = message.protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION, protocol
    return protocol.historySyncNotification
