"""The Signal layer's store protocol (``daemon.signal.store.SignalStore``) over the auth store.

One adapter per session. Records are kept in their serialized form (``daemon.signal.records``);
identities are keyed by the Signal address string ``name.device``; sender keys by group id and
sender address. ``commit`` applies a :class:`~daemon.signal.store.StoreChanges` in one
transaction: called inside the caller's ``async with store.transaction()``, it joins it, which is
how a decrypted message, its event row and the advanced Signal state commit together.

Session records and peer identities are read on every send: both are kept decoded in a
:class:`~daemon.client.committed_cache.CommittedCache`, which holds committed state only (a write
empties the entry; :meth:`AuthSignalStore.settled` puts a durable write's records back). Every
path that writes them goes through this adapter, or calls :meth:`AuthSignalStore.forget_all`
inside the transaction that changes many at once (an identity change, a PN → LID move).

Trust follows WhatsApp's clients: the first key seen for an address is trusted, a changed key is
accepted (and recorded as changed), and a key an operator marked untrusted stays refused.

The signed prekey is the one made with the identity (id 1, stored with the credentials); the
schema keeps one per identity, so storing a different one is refused rather than dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from daemon.client.committed_cache import CommittedCache, Written
from daemon.signal import records
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import KeyPair as SignalKeyPair
from daemon.signal.group import SenderKeyRecord
from daemon.signal.keys import PreKey as SignalPreKey
from daemon.signal.keys import SignedPreKey as SignalSignedPreKey
from daemon.signal.state import SessionRecord
from daemon.signal.store import Direction, SignalStore, StoreChanges
from storage.errors import NotFound, StorageError
from storage.interfaces import AuthStore
from storage.values import DeviceCredentials, PeerIdentity, PreKey, identity_key_body


class SignedPreKeyRotationUnsupported(StorageError):
    """A signed prekey other than the identity's own was given to store."""


@dataclass(frozen=True, slots=True)
class SignalWrites:
    """What one :meth:`AuthSignalStore.write` wrote, for :meth:`AuthSignalStore.settled`."""

    sessions: tuple[tuple[Written[str], SessionRecord], ...] = ()


class CachingSignalStore(SignalStore, Protocol):
    """A ``SignalStore`` whose writer tells it when a write is durable."""

    async def write(self, changes: StoreChanges) -> SignalWrites:
        """:meth:`commit`, returning what to hand to :meth:`settled` once the transaction that
        holds it has committed."""
        ...

    def settled(self, writes: SignalWrites) -> None:
        """``writes`` are durable: later reads need not go to storage."""
        ...

    def forget_all(self) -> None:
        """Call right after a write that changed Signal state behind this store's back (no
        await between the two): nothing kept survives it, and inside a transaction nothing
        is kept again until it has ended."""
        ...


class AuthSignalStore:
    """``SignalStore`` for one session of an :class:`~storage.interfaces.AuthStore`."""

    def __init__(self, store: AuthStore, session_id: str) -> None:
        self._store = store
        self._session_id = session_id
        self._credentials: DeviceCredentials | None = None
        self.sessions: CommittedCache[str, SessionRecord | None] = CommittedCache(
            store.after_commit
        )
        """Decoded session records by address (None: no record)."""
        self.identities: CommittedCache[str, PeerIdentity | None] = CommittedCache(
            store.after_commit
        )

    async def _own(self) -> DeviceCredentials:
        if self._credentials is None:
            credentials = await self._store.credentials.load(self._session_id)
            if credentials is None:
                raise NotFound(f"session {self._session_id!r} has no live device credentials")
            self._credentials = credentials
        return self._credentials

    async def get_identity_key_pair(self) -> SignalKeyPair:
        identity = (await self._own()).keys.identity
        return SignalKeyPair(identity.private, identity.public)

    async def get_local_registration_id(self) -> int:
        return (await self._own()).keys.registration_id

    async def _identity(self, address: ProtocolAddress) -> PeerIdentity | None:
        key = str(address)
        return await self.identities.load(
            key, lambda: self._store.identities.load(self._session_id, key)
        )

    async def is_trusted_identity(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> bool:
        known = await self._identity(address)
        if known is None:
            return True
        if known.matches(identity_key):
            return known.trusted
        return True

    async def get_identity(self, address: ProtocolAddress) -> bytes | None:
        known = await self._identity(address)
        return None if known is None else identity_key_body(known.identity_key)

    async def load_session(self, address: ProtocolAddress) -> SessionRecord | None:
        key = str(address)
        return await self.sessions.load(key, lambda: self._read_session(key))

    async def _read_session(self, address: str) -> SessionRecord | None:
        data = await self._store.signal_sessions.load(self._session_id, address)
        return None if data is None else records.deserialize_session_record(data)

    async def load_prekey(self, key_id: int) -> SignalPreKey | None:
        row = await self._store.prekeys.get(self._session_id, key_id)
        if row is None:
            return None
        return SignalPreKey(row.key_id, SignalKeyPair(row.private, row.public))

    async def load_signed_prekey(self, key_id: int) -> SignalSignedPreKey | None:
        signed = (await self._own()).keys.signed_prekey
        if signed.key_id != key_id:
            return None
        pair = SignalKeyPair(signed.key_pair.private, signed.key_pair.public)
        return SignalSignedPreKey(signed.key_id, pair, signed.signature)

    async def load_sender_key(self, name: SenderKeyName) -> SenderKeyRecord | None:
        data = await self._store.sender_keys.load(self._session_id, name.group_id, str(name.sender))
        return None if data is None else records.deserialize_sender_key_record(data)

    async def store_prekeys(self, prekeys: Sequence[SignalPreKey]) -> None:
        await self._store.prekeys.add_batch(
            self._session_id,
            [PreKey(p.key_id, p.key_pair.private, p.key_pair.public) for p in prekeys],
        )

    async def store_signed_prekey(self, prekey: SignalSignedPreKey) -> None:
        own = (await self._own()).keys.signed_prekey
        if (
            prekey.key_id == own.key_id
            and prekey.key_pair.public == own.key_pair.public
            and prekey.signature == own.signature
        ):
            return
        raise SignedPreKeyRotationUnsupported(
            f"session {self._session_id!r}: the signed prekey is fixed with the identity "
            f"(id {own.key_id}); rotation needs a schema for several signed prekeys"
        )

    async def delete_session(self, address: ProtocolAddress) -> None:
        written = self.sessions.writing(str(address))
        try:
            await self._store.signal_sessions.delete(self._session_id, str(address))
        finally:
            self.sessions.wrote(written)

    async def set_trusted(self, address: ProtocolAddress, trusted: bool) -> None:
        """An operator's decision about a peer's identity key (an untrusted one is refused)."""
        written = self.identities.writing(str(address))
        try:
            await self._store.identities.set_trusted(self._session_id, str(address), trusted)
        finally:
            self.identities.wrote(written)

    def forget_all(self) -> None:
        self.sessions.clear()
        self.identities.clear()

    def settled(self, writes: SignalWrites) -> None:
        for written, record in writes.sessions:
            self.sessions.settle(written, record)

    async def commit(self, changes: StoreChanges) -> None:
        await self.write(changes)

    async def write(self, changes: StoreChanges) -> SignalWrites:
        if changes.is_empty:
            return SignalWrites()
        # Serialize first: a record that fails to encode must not leave half the writes done.
        sessions = [
            (str(address), records.serialize_session_record(record))
            for address, record in changes.sessions
        ]
        sender_keys = [
            (name.group_id, str(name.sender), records.serialize_sender_key_record(record))
            for name, record in changes.sender_keys
        ]
        session_writes = [self.sessions.writing(address) for address, _ in sessions]
        identity_writes = [self.identities.writing(str(a)) for a, _ in changes.identities]
        try:
            await self._write(sessions, changes, sender_keys)
        finally:
            for written in session_writes:
                self.sessions.wrote(written)
            for identity_written in identity_writes:
                self.identities.wrote(identity_written)
        return SignalWrites(
            tuple(
                (written, record)
                for written, (_, record) in zip(session_writes, changes.sessions, strict=True)
            )
        )

    async def _write(
        self,
        sessions: list[tuple[str, bytes]],
        changes: StoreChanges,
        sender_keys: list[tuple[str, str, bytes]],
    ) -> None:
        sid = self._session_id
        if not (changes.identities or changes.removed_prekeys or sender_keys):
            # The common cases (a message decrypted, or sent to a contact's and our own devices,
            # under existing sessions): one write, atomic by itself, needs no savepoint.
            await self._store.signal_sessions.store_many(sid, sessions)
            return
        async with self._store.transaction():
            for address, data in sessions:
                await self._store.signal_sessions.store(sid, address, data)
            for identity_address, key in changes.identities:
                await self._store.identities.save(sid, str(identity_address), key)
            for key_id in changes.removed_prekeys:
                await self._store.prekeys.consume(sid, key_id)
            for group_id, sender, data in sender_keys:
                await self._store.sender_keys.store(sid, group_id, sender, data)
