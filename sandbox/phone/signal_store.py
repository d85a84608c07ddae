"""The phone's ``SignalStore``: its Signal state kept in the sandbox's persistent phone store.

``sandbox.network.PhoneStore`` is a namespaced key-value store the sandbox state keeps in SQLite,
one per account; this adapter lays the Signal records out in it (serialized by
``daemon.signal.records``) so a sandbox restart keeps the phone's sessions, prekeys and sender
keys. Everything is also held in memory, loaded once by ``load()``: reads never touch the disk
and writes go to it (the sandbox commits phones' writes in batches, ``sandbox.phone_writes``).

A phone behaves like WhatsApp's clients: it trusts an identity on first use and accepts a changed
one (the peer re-registered), so ``is_trusted_identity`` always agrees.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.signal import records
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import KeyPair
from daemon.signal.group import SenderKeyRecord
from daemon.signal.keys import MAX_PREKEY_ID, PreKey, SignedPreKey
from daemon.signal.state import SessionRecord
from daemon.signal.store import Direction, StoreChanges
from sandbox.network import PhoneStore

__all__ = ["PhoneSignalStore"]

SESSIONS = "signal.session"
IDENTITIES = "signal.identity"
PREKEYS = "signal.prekey"
SIGNED_PREKEYS = "signal.signed_prekey"
SENDER_KEYS = "signal.sender_key"
META = "signal.meta"
_NEXT_PREKEY_ID = "next_prekey_id"


class PhoneSignalStore:
    """A write-through cache over one phone's ``PhoneStore``."""

    def __init__(self, backend: PhoneStore, identity: KeyPair, registration_id: int) -> None:
        self._backend = backend
        self._identity = identity
        self._registration_id = registration_id
        self._sessions: dict[str, bytes] = {}
        # Decoded session records (immutable values): a phone loads the record of every device
        # it encrypts to, for every message, and decoding it was a tenth of its work.
        self._session_records: dict[str, SessionRecord] = {}
        self._identities: dict[str, bytes] = {}
        self._prekeys: dict[str, bytes] = {}
        self._signed_prekeys: dict[str, bytes] = {}
        # Decoded too: every prekey message names the signed prekey, and the initiator repeats
        # prekey messages until it hears back (a companion's copies to its own phone, always).
        self._signed_prekey_values: dict[str, SignedPreKey] = {}
        self._sender_keys: dict[str, bytes] = {}
        self._next_prekey_id = 1

    async def load(self) -> None:
        """Reads everything the phone stored before (nothing on a first start)."""
        backend = self._backend
        self._sessions = dict(await backend.items(SESSIONS))
        self._session_records = {}
        self._identities = dict(await backend.items(IDENTITIES))
        self._prekeys = dict(await backend.items(PREKEYS))
        self._signed_prekeys = dict(await backend.items(SIGNED_PREKEYS))
        self._signed_prekey_values = {}
        self._sender_keys = dict(await backend.items(SENDER_KEYS))
        stored = await backend.get(META, _NEXT_PREKEY_ID)
        self._next_prekey_id = int(stored.decode()) if stored else 1

    # SignalStore

    async def get_identity_key_pair(self) -> KeyPair:
        return self._identity

    async def get_local_registration_id(self) -> int:
        return self._registration_id

    async def is_trusted_identity(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> bool:
        return True

    async def get_identity(self, address: ProtocolAddress) -> bytes | None:
        return self._identities.get(str(address))

    async def load_session(self, address: ProtocolAddress) -> SessionRecord | None:
        key = str(address)
        record = self._session_records.get(key)
        if record is None:
            data = self._sessions.get(key)
            if data is None:
                return None
            record = self._session_records[key] = records.deserialize_session_record(data)
        return record

    async def load_prekey(self, key_id: int) -> PreKey | None:
        data = self._prekeys.get(str(key_id))
        return None if data is None else records.deserialize_prekey(data)

    async def load_signed_prekey(self, key_id: int) -> SignedPreKey | None:
        key = str(key_id)
        prekey = self._signed_prekey_values.get(key)
        if prekey is None:
            data = self._signed_prekeys.get(key)
            if data is None:
                return None
            prekey = self._signed_prekey_values[key] = records.deserialize_signed_prekey(data)
        return prekey

    async def load_sender_key(self, name: SenderKeyName) -> SenderKeyRecord | None:
        data = self._sender_keys.get(str(name))
        return None if data is None else records.deserialize_sender_key_record(data)

    async def store_prekeys(self, prekeys: Sequence[PreKey]) -> None:
        encoded = [(str(p.key_id), records.serialize_prekey(p)) for p in prekeys]
        for key, value in encoded:
            await self._backend.put(PREKEYS, key, value)
            self._prekeys[key] = value

    async def store_signed_prekey(self, prekey: SignedPreKey) -> None:
        key, value = str(prekey.key_id), records.serialize_signed_prekey(prekey)
        await self._backend.put(SIGNED_PREKEYS, key, value)
        self._signed_prekeys[key] = value
        self._signed_prekey_values[key] = prekey

    async def delete_session(self, address: ProtocolAddress) -> None:
        key = str(address)
        await self._backend.delete(SESSIONS, key)
        self._sessions.pop(key, None)
        self._session_records.pop(key, None)

    async def commit(self, changes: StoreChanges) -> None:
        # Encode everything before the first write, so a record that cannot be encoded leaves
        # the store as it was. The writes of one step land in the same batch commit; a killed
        # sandbox loses at most the last batch, which the peer retries.
        sessions = [
            (str(address), records.serialize_session_record(record), record)
            for address, record in changes.sessions
        ]
        sender_keys = [
            (str(name), records.serialize_sender_key_record(record))
            for name, record in changes.sender_keys
        ]
        identities = [(str(address), key) for address, key in changes.identities]
        backend = self._backend
        for key, value, record in sessions:
            await backend.put(SESSIONS, key, value)
            self._sessions[key] = value
            self._session_records[key] = record
        for key, value in sender_keys:
            await backend.put(SENDER_KEYS, key, value)
            self._sender_keys[key] = value
        for key, value in identities:
            if self._identities.get(key) != value:
                await backend.put(IDENTITIES, key, value)
                self._identities[key] = value
        for key_id in changes.removed_prekeys:
            await backend.delete(PREKEYS, str(key_id))
            self._prekeys.pop(str(key_id), None)

    # What the phone needs besides the protocol

    async def allocate_prekey_ids(self, count: int) -> int:
        """Reserves ``count`` consecutive prekey ids and returns the first.

        Ids are never handed out twice (until they wrap at 0xFFFFFF), even after the prekeys
        that used them were consumed: a peer may still hold a bundle naming an old one.
        """
        if not 0 < count < MAX_PREKEY_ID:
            raise ValueError(f"cannot reserve {count} prekey ids")
        first = self._next_prekey_id
        following = (first - 1 + count) % MAX_PREKEY_ID + 1
        await self._backend.put(META, _NEXT_PREKEY_ID, str(following).encode())
        self._next_prekey_id = following
        return first

    def prekey_ids(self) -> list[int]:
        return sorted(int(key) for key in self._prekeys)

    def signed_prekey_ids(self) -> list[int]:
        return sorted(int(key) for key in self._signed_prekeys)

    async def delete_sender_key(self, name: SenderKeyName) -> None:
        key = str(name)
        await self._backend.delete(SENDER_KEYS, key)
        self._sender_keys.pop(key, None)
