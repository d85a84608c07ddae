"""The phone's app state (protocol-inventory §10): its sync key, and the phone as a syncd client.

App state (contacts, mutes, pins, the push name...) is encrypted with keys only the account's
devices hold; the phone creates them and hands them to each new companion in a peer
``ProtocolMessage{type=APP_STATE_SYNC_KEY_SHARE}``. The sandbox derives the account's key from
the account identity key, so it survives restarts without a table of its own.

The phone owns the data. :class:`PhoneAppState` is the phone speaking ``w:sync:app:state`` to
the server exactly as a companion does: it fetches the patches after its version and verifies
them with ``daemon.crypto.appstate`` (so it learns what companions changed), encodes its own
mutations as the next patch (MACs and LTHash included), uploads it, and on a 409 conflict catches
up and tries again. Its per-collection state (version, LTHash, the index -> value MAC table, and
the decoded live records for the admin API) is kept in the phone's store.

At account creation it writes the initial app state: ``setting_pushName`` in critical_block
(whatsmeow needs a push name) and the address book in critical_unblock_low. The admin API's
"made on the phone" changes (:class:`AppStateChange`) map to mutations with the indexes and
action versions the clients use (whatsmeow ``appstate/encode.go``, Baileys ``chat-utils.ts``).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from daemon.binary import JID, SERVER_JID, Node, Server
from daemon.crypto.appstate import (
    ALL_COLLECTIONS,
    AppStateError,
    Collection,
    CollectionState,
    Mutation,
    Operation,
    PendingMutation,
    SyncActionValue,
    decode_patch,
    encode_index,
    encode_patch,
)
from daemon.crypto.appstate_keys import expand_sync_key, index_mac
from daemon.crypto.appstate_recovery import PlainRecord, build_recovery
from daemon.crypto.curve import KeyPair
from daemon.signal.kdf import hkdf
from sandbox.network import PhoneStore
from waproto import wa_appstate_pb2, wa_e2e_pb2

__all__ = [
    "AppStateChange",
    "AppStateKey",
    "AppliedChange",
    "ChangeAction",
    "CollectionView",
    "PhoneAppState",
    "PhoneAppStateError",
    "account_app_state_key",
    "change_mutation",
    "contact_mutation",
    "key_share_message",
    "parse_change",
]

_KEY_INFO = b"wamd sandbox app state sync key"
_KEY_ID_INFO = b"wamd sandbox app state sync key id"


@dataclass(frozen=True, slots=True)
class AppStateKey:
    key_id: bytes
    key_data: bytes = field(repr=False)
    timestamp: int


def account_app_state_key(account_identity: KeyPair, timestamp: int) -> AppStateKey:
    """The account's (only) app-state key: 32 bytes of key data and a 6-byte key id.

    Real key ids are six bytes, two zero bytes then four varying ones; this keeps that shape.
    """
    salt = b"\x00" * 32
    key_data = hkdf(account_identity.private, salt, _KEY_INFO, 32)
    key_id = b"\x00\x00" + hkdf(account_identity.private, salt, _KEY_ID_INFO, 4)
    return AppStateKey(key_id, key_data, timestamp)


def key_share_message(
    keys: Sequence[AppStateKey],
    *,
    raw_id: int,
    current_index: int,
    device_indexes: Iterable[int],
) -> wa_e2e_pb2.Message:
    """``Message{protocolMessage{APP_STATE_SYNC_KEY_SHARE}}`` for a companion.

    The fingerprint names the account's device list at the time of sharing: its ADV raw id, the
    newest key index and every valid one (0 for the phone itself).
    """
    if not keys:
        raise ValueError("a key share needs at least one key")
    indexes = sorted(set(device_indexes))
    share = wa_e2e_pb2.AppStateSyncKeyShare()
    for key in keys:
        share.keys.add(
            keyID=wa_e2e_pb2.AppStateSyncKeyId(keyID=key.key_id),
            keyData=wa_e2e_pb2.AppStateSyncKeyData(
                keyData=key.key_data,
                fingerprint=wa_e2e_pb2.AppStateSyncKeyFingerprint(
                    rawID=raw_id, currentIndex=current_index, deviceIndexes=indexes
                ),
                timestamp=key.timestamp,
            ),
        )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE,
            appStateSyncKeyShare=share,
        )
    )


# --- changes made "on the phone" ---------------------------------------------------------------


class ChangeAction(enum.StrEnum):
    RENAME_CONTACT = "rename_contact"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    MUTE = "mute"
    UNMUTE = "unmute"
    PIN = "pin"
    UNPIN = "unpin"
    MARK_READ = "mark_read"
    MARK_UNREAD = "mark_unread"
    STAR = "star"
    UNSTAR = "unstar"
    DELETE_CHAT = "delete_chat"
    SET_PUSH_NAME = "set_push_name"


_NEEDS_CHAT = frozenset(ChangeAction) - {ChangeAction.SET_PUSH_NAME}


@dataclass(frozen=True, slots=True)
class AppStateChange:
    """One change the user makes on the phone."""

    action: ChangeAction
    chat: JID | None = None
    """The chat (or, for rename_contact, the contact) it applies to."""
    full_name: str = ""
    first_name: str = ""
    name: str = ""
    """The new push name (set_push_name)."""
    mute_end_ms: int = -1
    """When a mute ends (unix milliseconds); -1 mutes for ever."""
    message_id: str = ""
    from_me: bool = False
    participant: JID | None = None
    delete_media: bool = False
    last_message_timestamp: int = 0


def _user(text: Any, what: str) -> JID:
    if not isinstance(text, str) or not text:
        raise ValueError(f"{what} must be a JID or phone number")
    return JID.parse(text) if "@" in text else JID(text.lstrip("+"), Server.PN)


def _field(data: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key!r} must be a {kind.__name__}")
    return value


def parse_change(data: Mapping[str, Any]) -> AppStateChange:
    """The admin API's ``{action, ...}`` (ValueError when malformed)."""
    raw = data.get("action")
    if not isinstance(raw, str) or raw not in set(ChangeAction):
        raise ValueError(f"'action' is one of {', '.join(ChangeAction)}")
    action = ChangeAction(raw)
    chat = None
    if action in _NEEDS_CHAT:
        chat = _user(data.get("chat", data.get("jid")), "'chat'")
    change = AppStateChange(
        action=action,
        chat=chat,
        full_name=_field(data, "full_name", str, ""),
        first_name=_field(data, "first_name", str, ""),
        name=_field(data, "name", str, ""),
        mute_end_ms=_field(data, "mute_end_ms", int, -1),
        message_id=_field(data, "message_id", str, ""),
        from_me=_field(data, "from_me", bool, False),
        participant=_user(data["participant"], "'participant'")
        if data.get("participant")
        else None,
        delete_media=_field(data, "delete_media", bool, False),
        last_message_timestamp=_field(data, "last_message_timestamp", int, 0),
    )
    if action is ChangeAction.RENAME_CONTACT and not change.full_name:
        raise ValueError("rename_contact needs 'full_name'")
    if action is ChangeAction.SET_PUSH_NAME and not change.name:
        raise ValueError("set_push_name needs 'name'")
    if action in (ChangeAction.STAR, ChangeAction.UNSTAR) and not change.message_id:
        raise ValueError("star needs 'message_id'")
    return change


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """Where a change landed: its collection, the version the server gave the patch, the index."""

    collection: str
    version: int
    index: tuple[str, ...]


def _range(timestamp: int) -> wa_appstate_pb2.SyncActionMessageRange:
    return wa_appstate_pb2.SyncActionMessageRange(lastMessageTimestamp=timestamp)


def contact_mutation(contact: JID, full_name: str, first_name: str = "") -> PendingMutation:
    value = SyncActionValue(
        contactAction=wa_appstate_pb2.ContactAction(
            fullName=full_name, firstName=first_name or full_name.split(" ", 1)[0]
        )
    )
    return PendingMutation(("contact", str(contact)), value, 2)


def change_mutation(change: AppStateChange) -> tuple[Collection, PendingMutation]:
    """The collection and mutation a change is (index, action value, action version)."""
    action = change.action
    chat = str(change.chat) if change.chat is not None else ""
    if action is ChangeAction.RENAME_CONTACT and change.chat is not None:
        mutation = contact_mutation(change.chat, change.full_name, change.first_name)
        return Collection.CRITICAL_UNBLOCK_LOW, mutation
    if action is ChangeAction.SET_PUSH_NAME:
        value = SyncActionValue(pushNameSetting=wa_appstate_pb2.PushNameSetting(name=change.name))
        return Collection.CRITICAL_BLOCK, PendingMutation(("setting_pushName",), value, 1)
    if action in (ChangeAction.ARCHIVE, ChangeAction.UNARCHIVE):
        archive = wa_appstate_pb2.ArchiveChatAction(
            archived=action is ChangeAction.ARCHIVE,
            messageRange=_range(change.last_message_timestamp),
        )
        value = SyncActionValue(archiveChatAction=archive)
        return Collection.REGULAR_LOW, PendingMutation(("archive", chat), value, 3)
    if action in (ChangeAction.MUTE, ChangeAction.UNMUTE):
        muted = action is ChangeAction.MUTE
        mute = wa_appstate_pb2.MuteAction(muted=muted)
        if muted:
            mute.muteEndTimestamp = change.mute_end_ms
        value = SyncActionValue(muteAction=mute)
        return Collection.REGULAR_HIGH, PendingMutation(("mute", chat), value, 2)
    if action in (ChangeAction.PIN, ChangeAction.UNPIN):
        pin = wa_appstate_pb2.PinAction(pinned=action is ChangeAction.PIN)
        return Collection.REGULAR_LOW, PendingMutation(
            ("pin_v1", chat), SyncActionValue(pinAction=pin), 5
        )
    if action in (ChangeAction.MARK_READ, ChangeAction.MARK_UNREAD):
        read = wa_appstate_pb2.MarkChatAsReadAction(
            read=action is ChangeAction.MARK_READ,
            messageRange=_range(change.last_message_timestamp),
        )
        value = SyncActionValue(markChatAsReadAction=read)
        return Collection.REGULAR_LOW, PendingMutation(("markChatAsRead", chat), value, 3)
    if action in (ChangeAction.STAR, ChangeAction.UNSTAR):
        participant = str(change.participant) if change.participant is not None else "0"
        from_me = "1" if change.from_me else "0"
        index: tuple[str, ...] = ("star", chat, change.message_id, from_me, participant)
        star = wa_appstate_pb2.StarAction(starred=action is ChangeAction.STAR)
        return Collection.REGULAR_HIGH, PendingMutation(index, SyncActionValue(starAction=star), 2)
    delete = wa_appstate_pb2.DeleteChatAction(messageRange=_range(change.last_message_timestamp))
    index = ("deleteChat", chat, "1" if change.delete_media else "0")
    return Collection.REGULAR_HIGH, PendingMutation(
        index, SyncActionValue(deleteChatAction=delete), 6
    )


# --- the phone as an app-state client ----------------------------------------------------------


class PhoneAppStateError(Exception):
    """The server refused a fetch or an upload, or a fetched patch did not verify."""


@dataclass(frozen=True, slots=True)
class CollectionView:
    """What the phone holds of one collection: its version and the live records."""

    name: str
    version: int
    records: tuple[tuple[tuple[str, ...], SyncActionValue], ...]


@dataclass(slots=True)
class _Held:
    state: CollectionState
    records: dict[bytes, bytes]
    """Index JSON -> serialized SyncActionValue of every live record."""


IqCall = Callable[[Callable[[str], Node]], Awaitable[Node]]
MAX_UPLOAD_ATTEMPTS = 3
_NAMESPACE = "app_state"
_INITIALIZED = "initialized"


def sync_iq(iq_id: str, name: str, version: int, *, patch: bytes | None = None) -> Node:
    attrs: dict[str, str | JID] = {
        "name": name,
        "version": str(version),
        "return_snapshot": "false",
    }
    content = [Node("patch", {}, patch)] if patch is not None else None
    return Node(
        "iq",
        {"id": iq_id, "xmlns": "w:sync:app:state", "type": "set", "to": SERVER_JID},
        [Node("sync", {}, [Node("collection", attrs, content)])],
    )


@dataclass(frozen=True, slots=True)
class _Answer:
    version: int
    patches: tuple[wa_appstate_pb2.SyncdPatch, ...]
    has_more: bool
    error: int | None


def _parse_answer(answer: Node, name: str) -> _Answer:
    collection = answer.child("sync", "collection")
    if answer.attr_str("type") != "result" or collection is None:
        raise PhoneAppStateError(f"the server refused the {name} sync iq")
    error = collection.child("error")
    patches_node = collection.child("patches")
    patches = tuple(
        wa_appstate_pb2.SyncdPatch.FromString(p.content_bytes() or b"")
        for p in (patches_node.children_by_tag("patch") if patches_node is not None else [])
    )
    return _Answer(
        version=collection.attr_int("version") or 0,
        patches=patches,
        has_more=collection.attr_str("has_more_patches") == "true",
        error=(error.attr_int("code") or 0) if error is not None else None,
    )


def _encode_held(held: _Held) -> bytes:
    state = held.state
    return json.dumps(
        {
            "version": state.version,
            "hash": state.hash.hex(),
            "macs": {k.hex(): v.hex() for k, v in state.index_value_macs.items()},
            "records": {k.decode(): v.hex() for k, v in held.records.items()},
        },
        sort_keys=True,
    ).encode()


def _decode_held(name: str, raw: bytes) -> _Held:
    data = json.loads(raw)
    state = CollectionState(
        name,
        int(data["version"]),
        bytes.fromhex(data["hash"]),
        {bytes.fromhex(k): bytes.fromhex(v) for k, v in data["macs"].items()},
    )
    records = {k.encode(): bytes.fromhex(v) for k, v in data["records"].items()}
    return _Held(state, records)


def _apply_records(records: dict[bytes, bytes], mutations: Iterable[Mutation]) -> None:
    for mutation in mutations:
        index = encode_index(mutation.index)
        if mutation.operation is Operation.SET:
            records[index] = mutation.value.SerializeToString()
        else:
            records.pop(index, None)


class PhoneAppState:
    """The phone's side of app-state sync, over the phone's own iqs."""

    def __init__(self, store: PhoneStore, key: AppStateKey, iq: IqCall) -> None:
        self._store = store
        self._key = key
        self._iq = iq
        self._held: dict[str, _Held] = {}
        self._locks = {str(c): asyncio.Lock() for c in ALL_COLLECTIONS}

    def _lookup(self, key_id: bytes) -> bytes | None:
        return self._key.key_data if key_id == self._key.key_id else None

    async def _load(self, name: str) -> _Held:
        held = self._held.get(name)
        if held is None:
            raw = await self._store.get(_NAMESPACE, name)
            held = _decode_held(name, raw) if raw is not None else _Held(CollectionState(name), {})
            self._held[name] = held
        return held

    async def _save(self, name: str, held: _Held) -> None:
        self._held[name] = held
        await self._store.put(_NAMESPACE, name, _encode_held(held))

    async def _catch_up(self, name: str) -> _Held:
        """Fetches and verifies every patch after the phone's version (lock held)."""
        held = await self._load(name)
        while True:
            version = held.state.version
            fetch = functools.partial(sync_iq, name=name, version=version)
            answer = _parse_answer(await self._iq(fetch), name)
            if answer.error is not None:
                raise PhoneAppStateError(f"{name}: the server answered error {answer.error}")
            state, records = held.state, dict(held.records)
            for patch in answer.patches:
                try:
                    result = decode_patch(patch, state, self._lookup)
                except AppStateError as exc:
                    raise PhoneAppStateError(f"{name}: {exc}") from exc
                state = result.state
                _apply_records(records, result.mutations)
            if answer.patches:
                held = _Held(state, records)
                await self._save(name, held)
            if not answer.has_more:
                return held

    async def sync(self, name: str) -> int:
        """Brings one collection up to date; returns its version."""
        async with self._locks[name]:
            return (await self._catch_up(name)).state.version

    async def apply(
        self, collection: Collection, mutations: Sequence[PendingMutation], *, now_ms: int
    ) -> int:
        """Encodes ``mutations`` as the collection's next patch and uploads it; returns the
        version the server gave it."""
        name = str(collection)
        async with self._locks[name]:
            for _ in range(MAX_UPLOAD_ATTEMPTS):
                held = await self._catch_up(name)
                encoded = encode_patch(
                    held.state,
                    mutations,
                    self._key.key_id,
                    self._key.key_data,
                    timestamp_ms=now_ms,
                )
                body = encoded.patch.SerializeToString()
                version = held.state.version
                upload = functools.partial(sync_iq, name=name, version=version, patch=body)
                answer = _parse_answer(await self._iq(upload), name)
                if answer.error == 409:
                    continue  # another device got there first: catch up and encode again
                if answer.error is not None:
                    raise PhoneAppStateError(
                        f"{name}: the server refused the patch ({answer.error})"
                    )
                if answer.version != encoded.sync.state.version:
                    raise PhoneAppStateError(
                        f"{name}: the server stored v{answer.version}, "
                        f"v{encoded.sync.state.version} was expected"
                    )
                records = dict(held.records)
                _apply_records(records, encoded.sync.mutations)
                await self._save(name, _Held(encoded.sync.state, records))
                return answer.version
        raise PhoneAppStateError(f"{name}: still conflicting after {MAX_UPLOAD_ATTEMPTS} tries")

    async def ensure_initial(
        self, push_name: str, contacts: Sequence[tuple[JID, str]], *, now_ms: int
    ) -> bool:
        """Writes the account's first app state once; True when it did."""
        if await self._store.get(_NAMESPACE + "_meta", _INITIALIZED) is not None:
            return False
        push = SyncActionValue(pushNameSetting=wa_appstate_pb2.PushNameSetting(name=push_name))
        await self.apply(
            Collection.CRITICAL_BLOCK,
            [PendingMutation(("setting_pushName",), push, 1)],
            now_ms=now_ms,
        )
        if contacts:
            await self.apply(
                Collection.CRITICAL_UNBLOCK_LOW,
                [contact_mutation(jid, name) for jid, name in contacts],
                now_ms=now_ms,
            )
        await self._store.put(_NAMESPACE + "_meta", _INITIALIZED, b"1")
        return True

    async def recovery(self, name: str) -> tuple[bytes, bool] | None:
        """The phone's plaintext copy of a collection for a companion that cannot verify it
        from the server (``COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY``): (snapshot, compressed).
        The phone's own records are the truth here; it does not catch up first (the server's
        copy is what the companion could not use). None for a collection it does not know."""
        if name not in self._locks:
            return None
        async with self._locks[name]:
            held = await self._load(name)
        keys = expand_sync_key(self._key.key_data)
        records = []
        for index, value in sorted(held.records.items()):
            mac = held.state.index_value_macs.get(index_mac(keys, index))
            if mac is None:
                continue  # a record the server table does not have: not part of the LTHash
            records.append(
                PlainRecord(
                    tuple(json.loads(index.decode())),
                    SyncActionValue.FromString(value),
                    mac,
                    self._key.key_id,
                )
            )
        return build_recovery(name, held.state.version, records)

    async def view(self) -> list[CollectionView]:
        views = []
        for collection in ALL_COLLECTIONS:
            held = await self._load(str(collection))
            records = tuple(
                (
                    tuple(json.loads(index.decode())),
                    SyncActionValue.FromString(value),
                )
                for index, value in sorted(held.records.items())
            )
            views.append(CollectionView(str(collection), held.state.version, records))
        return views
