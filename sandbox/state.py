"""The sandbox's persisted state: loads the directory and groups at start, saves every change.

A thin adapter between the sandbox's records (``Account``, ``Device``, ``Group``) and the rows
of ``storage.sandbox_state`` (the only code that writes the SQL).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from daemon.binary import JID, Node, Server, marshal, unmarshal
from daemon.crypto.curve import KeyPair
from sandbox.directory import Account, Device, Directory, PreKey, SignedPreKey
from sandbox.groups import Group, Role
from sandbox.phone_writes import PhoneWrites
from storage.db import Database
from storage.sandbox_state import (
    AccountRow,
    DeviceRow,
    GroupParticipantRow,
    GroupRow,
    SandboxStore,
    open_sandbox_database,
)

DATABASE_FILE = "sandbox.sqlite3"


class QueuedNode:
    """A stanza in a device's offline queue."""

    __slots__ = ("node", "seq", "stanza_class", "stanza_id")

    def __init__(self, seq: int, stanza_class: str, stanza_id: str, node: Node) -> None:
        self.seq = seq
        self.stanza_class = stanza_class
        self.stanza_id = stanza_id
        self.node = node


class SqlPhoneStore:
    """One phone's key-value state (``sandbox.network.PhoneStore``); writes are committed in
    batches by ``PhoneWrites``."""

    def __init__(self, store: SandboxStore, writes: PhoneWrites, phone_user: str) -> None:
        self._store = store
        self._writes = writes
        self._phone_user = phone_user

    async def get(self, namespace: str, key: str) -> bytes | None:
        decided, value = self._writes.lookup(self._phone_user, namespace, key)
        if decided:
            return value
        return await self._store.phone_get(self._phone_user, namespace, key)

    async def put(self, namespace: str, key: str, value: bytes) -> None:
        self._writes.put(self._phone_user, namespace, key, value)

    async def delete(self, namespace: str, key: str) -> None:
        self._writes.delete(self._phone_user, namespace, key)

    async def items(self, namespace: str) -> dict[str, bytes]:
        stored = await self._store.phone_items(self._phone_user, namespace)
        return self._writes.overlay(self._phone_user, namespace, stored)


class SandboxState:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = SandboxStore(db)
        self.phone_writes = PhoneWrites(self.store)

    @classmethod
    async def open(cls, state_dir: Path) -> SandboxState:
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(await open_sandbox_database(state_dir / DATABASE_FILE))

    async def close(self) -> None:
        try:
            await self.phone_writes.close()
        finally:
            await self.db.close()

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.db.transaction()

    # Loading

    async def load_directory(self) -> Directory:
        directory = Directory()
        devices: dict[str, list[Device]] = {}
        for row in await self.store.devices():
            devices.setdefault(row.phone_user, []).append(_device_from_row(row))
        for account_row in await self.store.accounts():
            account = Account(
                phone_user=account_row.phone_user,
                lid_user=account_row.lid_user,
                push_name=account_row.push_name,
                identity=KeyPair.from_private(account_row.identity_private),
                registration_id=account_row.registration_id,
                next_key_index=account_row.next_key_index,
                created_at=account_row.created_at,
            )
            own = {d.device_id: d for d in devices.get(account.phone_user, [])}
            phone = own.pop(0, None)
            if phone is None:
                continue
            directory.add_account(account, phone)
            for companion in own.values():
                directory.add_device(companion)
        for phone_user, device_id, key_id, public in await self.store.prekeys():
            owner = directory.device(JID(phone_user, Server.PN, device_id))
            if owner is not None:
                owner.prekeys[key_id] = PreKey(key_id, public)
        return directory

    async def load_groups(self) -> list[Group]:
        groups = []
        for row, members in await self.store.groups():
            groups.append(
                Group(
                    user=row.group_user,
                    subject=row.subject,
                    creator=row.creator,
                    created_at=row.created_at,
                    subject_owner=row.subject_owner,
                    subject_time=row.subject_time,
                    description=row.description,
                    description_id=row.description_id,
                    announce=row.announce,
                    locked=row.locked,
                    ephemeral=row.ephemeral,
                    invite_code=row.invite_code,
                    participants={m.phone_user: Role(m.role) for m in members},
                )
            )
        return groups

    # Accounts and devices

    async def save_account(self, account: Account) -> None:
        await self.store.upsert_account(
            AccountRow(
                phone_user=account.phone_user,
                lid_user=account.lid_user,
                push_name=account.push_name,
                identity_private=account.identity.private,
                registration_id=account.registration_id,
                next_key_index=account.next_key_index,
                created_at=account.created_at,
            )
        )

    async def save_device(self, device: Device) -> None:
        spk = device.signed_prekey
        await self.store.upsert_device(
            DeviceRow(
                phone_user=device.phone_user,
                device_id=device.device_id,
                identity_public=device.identity_public,
                registration_id=device.registration_id,
                noise_public=device.noise_public,
                spk_id=spk.key_id if spk else None,
                spk_public=spk.public if spk else None,
                spk_signature=spk.signature if spk else None,
                key_index=device.key_index,
                platform=device.platform,
                push_name=device.push_name,
                adv_identity=device.adv_identity,
                logged_out=device.logged_out,
                created_at=device.created_at,
                last_login_at=device.last_login_at,
            )
        )

    async def add_prekeys(self, device: Device, keys: list[PreKey]) -> None:
        await self.store.add_prekeys(
            device.phone_user, device.device_id, [(k.key_id, k.public) for k in keys]
        )

    async def delete_prekey(self, device: Device, key_id: int) -> None:
        await self.store.delete_prekey(device.phone_user, device.device_id, key_id)

    async def delete_prekeys(self, device: Device) -> None:
        await self.store.delete_prekeys(device.phone_user, device.device_id)

    # Offline queue

    async def enqueue(self, device: str, node: Node, now: int) -> int:
        return await self.store.enqueue(
            device, node.tag, node.attr_str("id") or "", marshal(node), now
        )

    async def queued(self, device: str) -> list[QueuedNode]:
        return [
            QueuedNode(q.seq, q.stanza_class, q.stanza_id, unmarshal(q.payload))
            for q in await self.store.queued(device)
        ]

    async def queued_count(self, device: str) -> int:
        return await self.store.queued_count(device)

    async def dequeue(self, seq: int) -> None:
        await self.store.dequeue(seq)

    async def dequeue_matching(self, device: str, stanza_class: str, stanza_id: str) -> bool:
        return await self.store.dequeue_matching(device, stanza_class, stanza_id)

    async def clear_queue(self, device: str) -> None:
        await self.store.clear_queue(device)

    # Groups

    async def save_group(self, group: Group) -> None:
        await self.store.upsert_group(
            GroupRow(
                group_user=group.user,
                subject=group.subject,
                subject_owner=group.subject_owner,
                subject_time=group.subject_time,
                creator=group.creator,
                created_at=group.created_at,
                description=group.description,
                description_id=group.description_id,
                announce=group.announce,
                locked=group.locked,
                ephemeral=group.ephemeral,
                invite_code=group.invite_code,
            ),
            [
                GroupParticipantRow(group.user, user, str(role), position)
                for position, (user, role) in enumerate(group.participants.items())
            ],
        )

    # Media, blocklists, phones

    async def put_blob(self, blob_id: str, mms_type: str, body: bytes, now: int) -> None:
        await self.store.put_blob(blob_id, mms_type, body, now)

    async def get_blob(self, blob_id: str) -> tuple[str, bytes] | None:
        return await self.store.get_blob(blob_id)

    async def delete_blob(self, blob_id: str) -> bool:
        return await self.store.delete_blob(blob_id)

    async def blocklist(self, phone_user: str) -> list[str]:
        return await self.store.blocklist(phone_user)

    async def set_blocked(self, phone_user: str, blocked: str, on: bool) -> None:
        await self.store.set_blocked(phone_user, blocked, on)

    def phone_store(self, phone_user: str) -> SqlPhoneStore:
        return SqlPhoneStore(self.store, self.phone_writes, phone_user)


def _device_from_row(row: DeviceRow) -> Device:
    spk = None
    if row.spk_id is not None and row.spk_public is not None and row.spk_signature is not None:
        spk = SignedPreKey(row.spk_id, row.spk_public, row.spk_signature)
    return Device(
        phone_user=row.phone_user,
        device_id=row.device_id,
        identity_public=row.identity_public,
        registration_id=row.registration_id,
        noise_public=row.noise_public,
        signed_prekey=spk,
        key_index=row.key_index,
        platform=row.platform,
        push_name=row.push_name,
        adv_identity=row.adv_identity,
        logged_out=row.logged_out,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )
