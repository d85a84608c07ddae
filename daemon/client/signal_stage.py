"""A unit of work over the Signal store: several cipher operations see each other's writes,
and all of them are committed together (or not at all) with the message they belong to.

A group message can carry a pairwise ``pkmsg`` holding the sender key and the ``skmsg`` that
needs it; the second decrypt must see the first one's new session and sender key before either
is written. The ciphers run against a :class:`StagedSignalStore` (``commit`` only stages); the
caller then writes :meth:`StagedSignalStore.changes` in its own storage transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import KeyPair
from daemon.signal.group import SenderKeyRecord
from daemon.signal.keys import PreKey, SignedPreKey
from daemon.signal.state import SessionRecord
from daemon.signal.store import Direction, SignalStore, StoreChanges


class StagedSignalStore:
    """``SignalStore`` over ``base``: reads see staged writes, ``commit`` stages."""

    def __init__(self, base: SignalStore) -> None:
        self._base = base
        self._sessions: dict[ProtocolAddress, SessionRecord] = {}
        self._identities: dict[ProtocolAddress, bytes] = {}
        self._removed_prekeys: list[int] = []
        self._sender_keys: dict[SenderKeyName, SenderKeyRecord] = {}

    def changes(self) -> StoreChanges:
        """Everything staged, as one write for the base store."""
        return StoreChanges(
            sessions=tuple(self._sessions.items()),
            identities=tuple(self._identities.items()),
            removed_prekeys=tuple(self._removed_prekeys),
            sender_keys=tuple(self._sender_keys.items()),
        )

    async def get_identity_key_pair(self) -> KeyPair:
        return await self._base.get_identity_key_pair()

    async def get_local_registration_id(self) -> int:
        return await self._base.get_local_registration_id()

    async def is_trusted_identity(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> bool:
        staged = self._identities.get(address)
        if staged is not None and staged[-32:] == identity_key[-32:]:
            return True
        return await self._base.is_trusted_identity(address, identity_key, direction)

    async def get_identity(self, address: ProtocolAddress) -> bytes | None:
        staged = self._identities.get(address)
        return staged if staged is not None else await self._base.get_identity(address)

    async def load_session(self, address: ProtocolAddress) -> SessionRecord | None:
        staged = self._sessions.get(address)
        return staged if staged is not None else await self._base.load_session(address)

    async def load_prekey(self, key_id: int) -> PreKey | None:
        if key_id in self._removed_prekeys:
            return None
        return await self._base.load_prekey(key_id)

    async def load_signed_prekey(self, key_id: int) -> SignedPreKey | None:
        return await self._base.load_signed_prekey(key_id)

    async def load_sender_key(self, name: SenderKeyName) -> SenderKeyRecord | None:
        staged = self._sender_keys.get(name)
        return staged if staged is not None else await self._base.load_sender_key(name)

    async def store_prekeys(self, prekeys: Sequence[PreKey]) -> None:
        await self._base.store_prekeys(prekeys)

    async def store_signed_prekey(self, prekey: SignedPreKey) -> None:
        await self._base.store_signed_prekey(prekey)

    async def delete_session(self, address: ProtocolAddress) -> None:
        """Staged as an empty record: "no session" until a new one is made."""
        self._sessions[address] = SessionRecord()

    async def commit(self, changes: StoreChanges) -> None:
        self._sessions.update(changes.sessions)
        self._identities.update(changes.identities)
        self._removed_prekeys.extend(
            key_id for key_id in changes.removed_prekeys if key_id not in self._removed_prekeys
        )
        self._sender_keys.update(changes.sender_keys)
