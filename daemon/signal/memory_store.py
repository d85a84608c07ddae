"""An in-memory ``SignalStore`` for tests, benchmarks and the sandbox's simulated phones.

Records are kept in their serialized storage form, so everything that goes through this store
also goes through daemon.signal.records, as it will with SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.signal import records
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import KeyPair
from daemon.signal.group import SenderKeyRecord
from daemon.signal.keys import PreKey, SignedPreKey
from daemon.signal.state import SessionRecord
from daemon.signal.store import Direction, StoreChanges


class InMemorySignalStore:
    """Trust on first use; a changed identity key is refused unless ``accept_identity_changes``."""

    def __init__(
        self,
        identity: KeyPair,
        registration_id: int,
        *,
        accept_identity_changes: bool = False,
    ) -> None:
        self._identity = identity
        self._registration_id = registration_id
        self._accept_identity_changes = accept_identity_changes
        self.identities: dict[ProtocolAddress, bytes] = {}
        self.sessions: dict[ProtocolAddress, bytes] = {}
        self.prekeys: dict[int, bytes] = {}
        self.signed_prekeys: dict[int, bytes] = {}
        self.sender_keys: dict[SenderKeyName, bytes] = {}

    async def get_identity_key_pair(self) -> KeyPair:
        return self._identity

    async def get_local_registration_id(self) -> int:
        return self._registration_id

    async def is_trusted_identity(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> bool:
        known = self.identities.get(address)
        return known is None or known == identity_key or self._accept_identity_changes

    async def get_identity(self, address: ProtocolAddress) -> bytes | None:
        return self.identities.get(address)

    async def load_session(self, address: ProtocolAddress) -> SessionRecord | None:
        data = self.sessions.get(address)
        return None if data is None else records.deserialize_session_record(data)

    async def load_prekey(self, key_id: int) -> PreKey | None:
        data = self.prekeys.get(key_id)
        return None if data is None else records.deserialize_prekey(data)

    async def load_signed_prekey(self, key_id: int) -> SignedPreKey | None:
        data = self.signed_prekeys.get(key_id)
        return None if data is None else records.deserialize_signed_prekey(data)

    async def load_sender_key(self, name: SenderKeyName) -> SenderKeyRecord | None:
        data = self.sender_keys.get(name)
        return None if data is None else records.deserialize_sender_key_record(data)

    async def store_prekeys(self, prekeys: Sequence[PreKey]) -> None:
        for prekey in prekeys:
            self.prekeys[prekey.key_id] = records.serialize_prekey(prekey)

    async def store_signed_prekey(self, prekey: SignedPreKey) -> None:
        self.signed_prekeys[prekey.key_id] = records.serialize_signed_prekey(prekey)

    async def delete_session(self, address: ProtocolAddress) -> None:
        self.sessions.pop(address, None)

    async def commit(self, changes: StoreChanges) -> None:
        # Serialize everything first: if any record fails to encode, nothing is written.
        sessions = [
            (address, records.serialize_session_record(record))
            for address, record in changes.sessions
        ]
        sender_keys = [
            (name, records.serialize_sender_key_record(record))
            for name, record in changes.sender_keys
        ]
        self.sessions.update(sessions)
        self.sender_keys.update(sender_keys)
        self.identities.update(changes.identities)
        for key_id in changes.removed_prekeys:
            self.prekeys.pop(key_id, None)
