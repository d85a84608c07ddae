"""The Signal layer's store protocol (``daemon.signal.store.SignalStore``) over the auth store.

One adapter per session. Records are kept in their serialized form (``daemon.signal.records``);
identities are keyed by the Signal address string ``name.device``; sender keys by group id and
sender address. ``commit`` applies a :class:`~daemon.signal.store.StoreChanges` in one
transaction: called inside the caller's ``async with store.transaction()``, it joins it, which is
how a decrypted message, its event row and the advanced Signal state commit together.

Trust follows WhatsApp's clients: the first key seen for an address is trusted, a changed key is
accepted (and recorded as changed), and a key an operator marked untrusted stays refused.

The signed prekey is the one made with the identity (id 1, stored with the credentials); the
schema keeps one per identity, so storing a different one is refused rather than dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.signal import records
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import KeyPair as SignalKeyPair
from daemon.signal.group import SenderKeyRecord
from daemon.signal.keys import PreKey as SignalPreKey
from daemon.signal.keys import SignedPreKey as SignalSignedPreKey
from daemon.signal.state import SessionRecord
from daemon.signal.store import Direction, StoreChanges
from storage.errors import NotFound, StorageError
from storage.interfaces import AuthStore
from storage.values import DeviceCredentials, PreKey, identity_key_body


class SignedPreKeyRotationUnsupported(StorageError):
    """A signed prekey other than the identity's own was given to store."""


class AuthSignalStore:
    """``SignalStore`` for one session of an :class:`~storage.interfaces.AuthStore`."""

    def __init__(self, store: AuthStore, session_id: str) -> None:
        self._store = store
        self._session_id = session_id
        self._credentials: DeviceCredentials | None = None

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

    async def is_trusted_identity(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> bool:
        known = await self._store.identities.load(self._session_id, str(address))
        if known is None:
            return True
        if known.matches(identity_key):
            return known.trusted
        return True

    async def get_identity(self, address: ProtocolAddress) -> bytes | None:
        known = await self._store.identities.load(self._session_id, str(address))
        return None if known is None else identity_key_body(known.identity_key)

    async def load_session(self, address: ProtocolAddress) -> SessionRecord | None:
        data = await self._store.signal_sessions.load(self._session_id, str(address))
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
        await self._store.signal_sessions.delete(self._session_id, str(address))

    async def commit(self, changes: StoreChanges) -> None:
        if changes.is_empty:
            return
        # Serialize first: a record that fails to encode must not leave half the writes done.
        sessions = [
            (str(address), records.serialize_session_record(record))
            for address, record in changes.sessions
        ]
        sender_keys = [
            (name.group_id, str(name.sender), records.serialize_sender_key_record(record))
            for name, record in changes.sender_keys
        ]
        sid = self._session_id
        if len(sessions) == 1 and not (
            changes.identities or changes.removed_prekeys or sender_keys
        ):
            # The common case (a message decrypted under an existing session): one write,
            # atomic by itself, needs no savepoint of its own.
            await self._store.signal_sessions.store(sid, *sessions[0])
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
