"""The thin async layer: load from a ``SignalStore``, run the pure core, describe or commit writes.

Every method returns the ``StoreChanges`` it produced. With ``commit=True`` (the default) it also
hands them to ``store.commit``; with ``commit=False`` nothing is written and the caller applies
the changes in its own transaction, together with the message they belong to.

Callers must not run two operations on the same address (or sender key name) at once: both would
start from the same record and one result would be lost. The client processes one stanza at a
time per session, which is enough.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.signal import group, session
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.curve import generate_key_pair
from daemon.signal.errors import NoSessionError, UntrustedIdentityError
from daemon.signal.keys import KeyPairSource, PreKeyBundle
from daemon.signal.messages import (
    PreKeySignalMessage,
    SenderKeyDistributionMessage,
    parse_distribution_message,
    parse_prekey_message,
    parse_signal_message,
)
from daemon.signal.session import EncryptedMessage, EncType
from daemon.signal.store import Direction, SignalStore, StoreChanges


@dataclass(frozen=True, slots=True)
class Encrypted:
    message: EncryptedMessage
    changes: StoreChanges


@dataclass(frozen=True, slots=True)
class Decrypted:
    plaintext: bytes
    changes: StoreChanges


@dataclass(frozen=True, slots=True)
class GroupEncrypted:
    ciphertext: bytes
    changes: StoreChanges


@dataclass(frozen=True, slots=True)
class Distribution:
    message: SenderKeyDistributionMessage
    changes: StoreChanges


class SessionCipher:
    """Pairwise sessions of one account, over its store."""

    def __init__(
        self, store: SignalStore, *, new_key_pair: KeyPairSource = generate_key_pair
    ) -> None:
        self._store = store
        self._new_key_pair = new_key_pair

    async def _finish(self, changes: StoreChanges, commit: bool) -> StoreChanges:
        if commit and not changes.is_empty:
            await self._store.commit(changes)
        return changes

    async def _require_trust(
        self, address: ProtocolAddress, identity_key: bytes, direction: Direction
    ) -> None:
        if not await self._store.is_trusted_identity(address, identity_key, direction):
            raise UntrustedIdentityError(str(address), identity_key)

    async def has_session(self, address: ProtocolAddress) -> bool:
        record = await self._store.load_session(address)
        return record is not None and record.current is not None

    async def process_bundle(
        self, address: ProtocolAddress, bundle: PreKeyBundle, *, commit: bool = True
    ) -> StoreChanges:
        """Starts a new session from a prekey bundle (the old one, if any, is archived)."""
        await self._require_trust(address, bundle.identity_key, Direction.SENDING)
        record = await self._store.load_session(address)
        new_record = session.initiate_session(
            record,
            bundle,
            identity=await self._store.get_identity_key_pair(),
            registration_id=await self._store.get_local_registration_id(),
            new_key_pair=self._new_key_pair,
        )
        changes = StoreChanges(
            sessions=((address, new_record),), identities=((address, bundle.identity_key),)
        )
        return await self._finish(changes, commit)

    async def encrypt(
        self, address: ProtocolAddress, plaintext: bytes, *, commit: bool = True
    ) -> Encrypted:
        record = await self._store.load_session(address)
        if record is None or record.current is None:
            raise NoSessionError(f"no session with {address}")
        await self._require_trust(address, record.current.remote_identity, Direction.SENDING)
        message, new_record = session.encrypt(record, plaintext)
        changes = StoreChanges(sessions=((address, new_record),))
        return Encrypted(message, await self._finish(changes, commit))

    async def decrypt(
        self,
        address: ProtocolAddress,
        enc_type: EncType | str,
        ciphertext: bytes,
        *,
        commit: bool = True,
    ) -> Decrypted:
        """Decrypts a ``pkmsg`` or ``msg`` from ``address``."""
        kind = EncType(enc_type)
        if kind is EncType.PKMSG:
            return await self._decrypt_prekey(address, parse_prekey_message(ciphertext), commit)
        if kind is EncType.MSG:
            return await self._decrypt_whisper(address, ciphertext, commit)
        raise ValueError("skmsg goes to GroupCipher.decrypt")

    async def _decrypt_whisper(
        self, address: ProtocolAddress, ciphertext: bytes, commit: bool
    ) -> Decrypted:
        message = parse_signal_message(ciphertext)
        record = await self._store.load_session(address)
        plaintext, new_record = session.decrypt(record, message, new_key_pair=self._new_key_pair)
        current = new_record.current
        if current is not None:
            await self._require_trust(address, current.remote_identity, Direction.RECEIVING)
        changes = StoreChanges(sessions=((address, new_record),))
        return Decrypted(plaintext, await self._finish(changes, commit))

    async def _decrypt_prekey(
        self, address: ProtocolAddress, message: PreKeySignalMessage, commit: bool
    ) -> Decrypted:
        await self._require_trust(address, message.identity_key, Direction.RECEIVING)
        store = self._store
        record = await store.load_session(address)
        prekey = None
        if message.prekey_id is not None:
            prekey = await store.load_prekey(message.prekey_id)
        result = session.decrypt_prekey_message(
            record,
            message,
            identity=await store.get_identity_key_pair(),
            registration_id=await store.get_local_registration_id(),
            signed_prekey=await store.load_signed_prekey(message.signed_prekey_id),
            prekey=prekey,
            new_key_pair=self._new_key_pair,
        )
        used = result.used_prekey_id
        # Only an identity the decryption authenticated is remembered (see session.py).
        current = result.record.current
        identity = message.identity_key if current is None else current.remote_identity
        changes = StoreChanges(
            sessions=((address, result.record),),
            identities=((address, identity),),
            removed_prekeys=() if used is None else (used,),
        )
        return Decrypted(result.plaintext, await self._finish(changes, commit))

    async def close_session(self, address: ProtocolAddress, *, commit: bool = True) -> StoreChanges:
        """Archives the current session (identity change); old ones still decrypt late messages."""
        record = await self._store.load_session(address)
        if record is None or record.current is None:
            return StoreChanges()
        changes = StoreChanges(sessions=((address, record.archive_current()),))
        return await self._finish(changes, commit)


class GroupCipher:
    """Sender keys of one account, over its store."""

    def __init__(
        self, store: SignalStore, *, new_key_pair: KeyPairSource = generate_key_pair
    ) -> None:
        self._store = store
        self._new_key_pair = new_key_pair

    async def _finish(self, changes: StoreChanges, commit: bool) -> StoreChanges:
        if commit and not changes.is_empty:
            await self._store.commit(changes)
        return changes

    async def distribution_message(
        self, name: SenderKeyName, *, commit: bool = True
    ) -> Distribution:
        """The SKDM for our own sender key under ``name``, creating the key on first use."""
        record = await self._store.load_sender_key(name)
        changes = StoreChanges()
        if record is None or not record.states or record.states[-1].signing_private is None:
            record = group.new_own_sender_key(new_key_pair=self._new_key_pair)
            changes = StoreChanges(sender_keys=((name, record),))
        message = group.distribution_message(record)
        return Distribution(message, await self._finish(changes, commit))

    async def process_distribution(
        self,
        name: SenderKeyName,
        message: SenderKeyDistributionMessage | bytes,
        *,
        commit: bool = True,
    ) -> StoreChanges:
        if not isinstance(message, SenderKeyDistributionMessage):
            message = parse_distribution_message(message)
        record = await self._store.load_sender_key(name)
        new_record = group.process_distribution_message(record, message)
        if new_record is record:
            return StoreChanges()
        changes = StoreChanges(sender_keys=((name, new_record),))
        return await self._finish(changes, commit)

    async def encrypt(
        self, name: SenderKeyName, plaintext: bytes, *, commit: bool = True
    ) -> GroupEncrypted:
        record = await self._store.load_sender_key(name)
        if record is None:
            raise NoSessionError(f"no own sender key for {name}")
        ciphertext, new_record = group.group_encrypt(record, plaintext)
        changes = StoreChanges(sender_keys=((name, new_record),))
        return GroupEncrypted(ciphertext, await self._finish(changes, commit))

    async def decrypt(
        self, name: SenderKeyName, ciphertext: bytes, *, commit: bool = True
    ) -> Decrypted:
        record = await self._store.load_sender_key(name)
        plaintext, new_record = group.group_decrypt(record, ciphertext)
        changes = StoreChanges(sender_keys=((name, new_record),))
        return Decrypted(plaintext, await self._finish(changes, commit))
