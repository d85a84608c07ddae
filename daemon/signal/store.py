"""What the Signal layer needs from storage: an async protocol, and the writes one step makes.

Reads go through the ``SignalStore`` methods. Writes never happen piecemeal: every operation
that advances a ratchet (or consumes a prekey, or learns an identity) describes its writes as one
``StoreChanges`` value. The cipher either hands it to ``SignalStore.commit`` itself, or returns
it so that the caller can write it in the same transaction as the message it belongs to
("persist before ack": decrypted message, new Signal state and event row commit together).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import KeyPair
from daemon.signal.group import SenderKeyRecord
from daemon.signal.keys import PreKey, SignedPreKey
from daemon.signal.state import SessionRecord


class Direction(enum.Enum):
    """Why an identity key is being checked."""

    SENDING = "sending"
    RECEIVING = "receiving"


@dataclass(frozen=True, slots=True)
class StoreChanges:
    """Writes produced by one operation; a store applies all of them or none."""

    sessions: tuple[tuple[ProtocolAddress, SessionRecord], ...] = ()
    identities: tuple[tuple[ProtocolAddress, bytes], ...] = ()
    """Identity keys to remember for these addresses (raw 32 bytes)."""
    removed_prekeys: tuple[int, ...] = ()
    """One-time prekeys consumed by a new incoming session."""
    sender_keys: tuple[tuple[SenderKeyName, SenderKeyRecord], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.sessions or self.identities or self.removed_prekeys or self.sender_keys)

    def merged(self, later: StoreChanges) -> StoreChanges:
        """These changes followed by ``later`` (later writes to the same key win)."""
        return StoreChanges(
            self.sessions + later.sessions,
            self.identities + later.identities,
            self.removed_prekeys + later.removed_prekeys,
            self.sender_keys + later.sender_keys,
        )


class SignalStore(Protocol):
    """Identities, sessions, prekeys, signed prekeys and sender keys of one account."""

    async def get_identity_key_pair(self) -> KeyPair: ...

    async def get_local_registration_id(self) -> int: ...

    async def is_trusted_identity(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> bool:
        """The trust decision for a peer identity (WhatsApp clients trust on first use and
        accept changes, reporting them; a stricter store may refuse a changed key)."""
        ...

    async def get_identity(self, address: ProtocolAddress) -> bytes | None: ...

    async def load_session(self, address: ProtocolAddress) -> SessionRecord | None: ...

    async def load_prekey(self, key_id: int) -> PreKey | None: ...

    async def load_signed_prekey(self, key_id: int) -> SignedPreKey | None: ...

    async def load_sender_key(self, name: SenderKeyName) -> SenderKeyRecord | None: ...

    async def store_prekeys(self, prekeys: Sequence[PreKey]) -> None: ...

    async def store_signed_prekey(self, prekey: SignedPreKey) -> None: ...

    async def delete_session(self, address: ProtocolAddress) -> None: ...

    async def commit(self, changes: StoreChanges) -> None:
        """Applies every write in ``changes`` atomically."""
        ...
