"""The sandbox's own database: accounts, devices, prekeys, offline queue, groups, media, phones.

The sandbox (``sandbox/``) keeps its simulated network in a SQLite file of its own, with its own
migrations (``storage/sandbox_migrations``), so a sandbox restart keeps everything. This module
is the only code that writes that SQL; it speaks in the row values below and knows nothing of
the sandbox's classes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from storage.db import Database, Synchronous
from storage.migrate import load_migrations

__all__ = [
    "SANDBOX_MIGRATIONS_PACKAGE",
    "AccountRow",
    "AppStatePatchRow",
    "AppStateRecordRow",
    "DeviceRow",
    "GroupParticipantRow",
    "GroupRow",
    "PhoneWrite",
    "QueuedStanza",
    "SandboxStore",
    "open_sandbox_database",
]

SANDBOX_MIGRATIONS_PACKAGE = "storage.sandbox_migrations"


async def open_sandbox_database(path: str | os.PathLike[str]) -> Database:
    """Opens (creating and migrating) the sandbox database at ``path``.

    ``synchronous=NORMAL``: the sandbox is a test network; surviving a process crash (which
    WAL+NORMAL does) is what a restart test needs, and every routed stanza commits.
    """
    return await Database.open(
        path,
        synchronous=Synchronous.NORMAL,
        migrations=load_migrations(SANDBOX_MIGRATIONS_PACKAGE),
    )


@dataclass(frozen=True, slots=True)
class AccountRow:
    phone_user: str
    lid_user: str
    push_name: str
    identity_private: bytes
    registration_id: int
    next_key_index: int
    created_at: int


@dataclass(frozen=True, slots=True)
class DeviceRow:
    phone_user: str
    device_id: int
    identity_public: bytes
    registration_id: int
    noise_public: bytes | None
    spk_id: int | None
    spk_public: bytes | None
    spk_signature: bytes | None
    key_index: int
    platform: str
    push_name: str
    adv_identity: bytes
    logged_out: bool
    created_at: int
    last_login_at: int


@dataclass(frozen=True, slots=True)
class QueuedStanza:
    seq: int
    device: str
    stanza_class: str
    stanza_id: str
    payload: bytes
    enqueued_at: int


@dataclass(frozen=True, slots=True)
class AppStatePatchRow:
    version: int
    patch: bytes
    """A serialized SyncdPatch with its version stamped."""
    device_id: int
    tamper: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class AppStateRecordRow:
    index_mac: bytes
    record: bytes
    """A serialized SyncdRecord: the live value of one index."""
    version: int


@dataclass(frozen=True, slots=True)
class GroupRow:
    group_user: str
    subject: str
    subject_owner: str
    subject_time: int
    creator: str
    created_at: int
    description: str
    description_id: str
    announce: bool
    locked: bool
    ephemeral: int
    invite_code: str = ""


@dataclass(frozen=True, slots=True)
class GroupParticipantRow:
    group_user: str
    phone_user: str
    role: str
    position: int


_ACCOUNT_COLUMNS = (
    "phone_user, lid_user, push_name, identity_private, registration_id, next_key_index, created_at"
)
_DEVICE_COLUMNS = (
    "phone_user, device_id, identity_public, registration_id, noise_public, spk_id, spk_public, "
    "spk_signature, key_index, platform, push_name, adv_identity, logged_out, created_at, "
    "last_login_at"
)
_GROUP_COLUMNS = (
    "group_user, subject, subject_owner, subject_time, creator, created_at, description, "
    "description_id, announce, locked, ephemeral, invite_code"
)


@dataclass(frozen=True, slots=True)
class PhoneWrite:
    """One change of a phone's key-value state: ``value`` None deletes the key."""

    phone_user: str
    namespace: str
    key: str
    value: bytes | None


class SandboxStore:
    """Repository over one sandbox database. Callers group writes with ``db.transaction()``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Accounts and devices

    async def upsert_account(self, row: AccountRow) -> None:
        await self.db.execute(
            f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (phone_user) DO UPDATE SET push_name = excluded.push_name, "
            "next_key_index = excluded.next_key_index",
            (
                row.phone_user,
                row.lid_user,
                row.push_name,
                row.identity_private,
                row.registration_id,
                row.next_key_index,
                row.created_at,
            ),
        )

    async def accounts(self) -> list[AccountRow]:
        rows = await self.db.fetch_all(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, phone_user"
        )
        return [
            AccountRow(
                str(r[0]), str(r[1]), str(r[2]), bytes(r[3]), int(r[4]), int(r[5]), int(r[6])
            )
            for r in rows
        ]

    async def upsert_device(self, row: DeviceRow) -> None:
        await self.db.execute(
            f"INSERT INTO devices ({_DEVICE_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (phone_user, device_id) DO UPDATE SET "
            "identity_public = excluded.identity_public, "
            "registration_id = excluded.registration_id, noise_public = excluded.noise_public, "
            "spk_id = excluded.spk_id, spk_public = excluded.spk_public, "
            "spk_signature = excluded.spk_signature, key_index = excluded.key_index, "
            "platform = excluded.platform, push_name = excluded.push_name, "
            "adv_identity = excluded.adv_identity, logged_out = excluded.logged_out, "
            "last_login_at = excluded.last_login_at",
            (
                row.phone_user,
                row.device_id,
                row.identity_public,
                row.registration_id,
                row.noise_public,
                row.spk_id,
                row.spk_public,
                row.spk_signature,
                row.key_index,
                row.platform,
                row.push_name,
                row.adv_identity,
                int(row.logged_out),
                row.created_at,
                row.last_login_at,
            ),
        )

    async def devices(self) -> list[DeviceRow]:
        rows = await self.db.fetch_all(
            f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY phone_user, device_id"
        )
        return [
            DeviceRow(
                phone_user=str(r[0]),
                device_id=int(r[1]),
                identity_public=bytes(r[2]),
                registration_id=int(r[3]),
                noise_public=None if r[4] is None else bytes(r[4]),
                spk_id=None if r[5] is None else int(r[5]),
                spk_public=None if r[6] is None else bytes(r[6]),
                spk_signature=None if r[7] is None else bytes(r[7]),
                key_index=int(r[8]),
                platform=str(r[9]),
                push_name=str(r[10]),
                adv_identity=bytes(r[11]),
                logged_out=bool(r[12]),
                created_at=int(r[13]),
                last_login_at=int(r[14]),
            )
            for r in rows
        ]

    # One-time prekeys

    async def add_prekeys(
        self, phone_user: str, device_id: int, keys: list[tuple[int, bytes]]
    ) -> None:
        await self.db.execute_many(
            "INSERT OR REPLACE INTO prekeys (phone_user, device_id, key_id, public) "
            "VALUES (?, ?, ?, ?)",
            [(phone_user, device_id, key_id, public) for key_id, public in keys],
        )

    async def delete_prekey(self, phone_user: str, device_id: int, key_id: int) -> None:
        await self.db.execute(
            "DELETE FROM prekeys WHERE phone_user = ? AND device_id = ? AND key_id = ?",
            (phone_user, device_id, key_id),
        )

    async def delete_prekeys(self, phone_user: str, device_id: int) -> None:
        await self.db.execute(
            "DELETE FROM prekeys WHERE phone_user = ? AND device_id = ?", (phone_user, device_id)
        )

    async def prekeys(self) -> list[tuple[str, int, int, bytes]]:
        rows = await self.db.fetch_all(
            "SELECT phone_user, device_id, key_id, public FROM prekeys "
            "ORDER BY phone_user, device_id, key_id"
        )
        return [(str(r[0]), int(r[1]), int(r[2]), bytes(r[3])) for r in rows]

    # Offline queue

    async def enqueue(
        self, device: str, stanza_class: str, stanza_id: str, payload: bytes, now: int
    ) -> int:
        rows = await self.db.fetch_all(
            "INSERT INTO offline_queue (device, class, stanza_id, payload, enqueued_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING seq",
            (device, stanza_class, stanza_id, payload, now),
        )
        return int(rows[0][0])

    async def queued(self, device: str) -> list[QueuedStanza]:
        rows = await self.db.fetch_all(
            "SELECT seq, device, class, stanza_id, payload, enqueued_at FROM offline_queue "
            "WHERE device = ? ORDER BY seq",
            (device,),
        )
        return [
            QueuedStanza(int(r[0]), str(r[1]), str(r[2]), str(r[3]), bytes(r[4]), int(r[5]))
            for r in rows
        ]

    async def queued_count(self, device: str) -> int:
        row = await self.db.fetch_one(
            "SELECT count(*) FROM offline_queue WHERE device = ?", (device,)
        )
        return int(row[0]) if row else 0

    async def dequeue(self, seq: int) -> None:
        await self.db.execute("DELETE FROM offline_queue WHERE seq = ?", (seq,))

    async def dequeue_matching(self, device: str, stanza_class: str, stanza_id: str) -> bool:
        """Removes the oldest queued stanza of that class and id; False when there is none."""
        changed = await self.db.execute(
            "DELETE FROM offline_queue WHERE seq = (SELECT min(seq) FROM offline_queue "
            "WHERE device = ? AND class = ? AND stanza_id = ?)",
            (device, stanza_class, stanza_id),
        )
        return changed > 0

    async def clear_queue(self, device: str) -> None:
        await self.db.execute("DELETE FROM offline_queue WHERE device = ?", (device,))

    # Groups

    async def upsert_group(self, group: GroupRow, participants: list[GroupParticipantRow]) -> None:
        async with self.db.transaction():
            await self.db.execute(
                f"INSERT OR REPLACE INTO groups ({_GROUP_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    group.group_user,
                    group.subject,
                    group.subject_owner,
                    group.subject_time,
                    group.creator,
                    group.created_at,
                    group.description,
                    group.description_id,
                    int(group.announce),
                    int(group.locked),
                    group.ephemeral,
                    group.invite_code,
                ),
            )
            await self.db.execute(
                "DELETE FROM group_participants WHERE group_user = ?", (group.group_user,)
            )
            await self.db.execute_many(
                "INSERT INTO group_participants (group_user, phone_user, role, position) "
                "VALUES (?, ?, ?, ?)",
                [(p.group_user, p.phone_user, p.role, p.position) for p in participants],
            )

    async def groups(self) -> list[tuple[GroupRow, list[GroupParticipantRow]]]:
        group_rows = await self.db.fetch_all(
            f"SELECT {_GROUP_COLUMNS} FROM groups ORDER BY created_at, group_user"
        )
        member_rows = await self.db.fetch_all(
            "SELECT group_user, phone_user, role, position FROM group_participants "
            "ORDER BY group_user, position"
        )
        members: dict[str, list[GroupParticipantRow]] = {}
        for r in member_rows:
            members.setdefault(str(r[0]), []).append(
                GroupParticipantRow(str(r[0]), str(r[1]), str(r[2]), int(r[3]))
            )
        result = []
        for r in group_rows:
            group = GroupRow(
                group_user=str(r[0]),
                subject=str(r[1]),
                subject_owner=str(r[2]),
                subject_time=int(r[3]),
                creator=str(r[4]),
                created_at=int(r[5]),
                description=str(r[6]),
                description_id=str(r[7]),
                announce=bool(r[8]),
                locked=bool(r[9]),
                ephemeral=int(r[10]),
                invite_code=str(r[11]),
            )
            result.append((group, members.get(group.group_user, [])))
        return result

    # Media blobs

    async def put_blob(self, blob_id: str, mms_type: str, body: bytes, now: int) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO media_blobs (blob_id, mms_type, body, created_at) "
            "VALUES (?, ?, ?, ?)",
            (blob_id, mms_type, body, now),
        )

    async def get_blob(self, blob_id: str) -> tuple[str, bytes] | None:
        row = await self.db.fetch_one(
            "SELECT mms_type, body FROM media_blobs WHERE blob_id = ?", (blob_id,)
        )
        return None if row is None else (str(row[0]), bytes(row[1]))

    async def delete_blob(self, blob_id: str) -> bool:
        return await self.db.execute("DELETE FROM media_blobs WHERE blob_id = ?", (blob_id,)) > 0

    async def blob_expiry(self, blob_id: str) -> int | None:
        """The HTTP status an expired blob answers with; None when it is served (or absent)."""
        row = await self.db.fetch_one(
            "SELECT expired_status FROM media_blobs WHERE blob_id = ?", (blob_id,)
        )
        return None if row is None or row[0] is None else int(row[0])

    async def expire_blobs(self, blob_id: str | None, status: int) -> int:
        """Marks one blob (or, with None, every blob) expired; returns how many."""
        if blob_id is None:
            return await self.db.execute("UPDATE media_blobs SET expired_status = ?", (status,))
        return await self.db.execute(
            "UPDATE media_blobs SET expired_status = ? WHERE blob_id = ?", (status, blob_id)
        )

    # App state (the server's copy: encrypted patches and the records they leave)

    async def app_state_versions(self, phone_user: str) -> dict[str, int]:
        rows = await self.db.fetch_all(
            "SELECT collection, version FROM app_state_collections WHERE phone_user = ? "
            "ORDER BY collection",
            (phone_user,),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def app_state_version(self, phone_user: str, collection: str) -> int:
        row = await self.db.fetch_one(
            "SELECT version FROM app_state_collections WHERE phone_user = ? AND collection = ?",
            (phone_user, collection),
        )
        return 0 if row is None else int(row[0])

    async def app_state_patches(
        self, phone_user: str, collection: str, after_version: int, limit: int
    ) -> list[AppStatePatchRow]:
        """Patches with a version above ``after_version``, oldest first, at most ``limit``."""
        rows = await self.db.fetch_all(
            "SELECT version, patch, device_id, tamper, created_at FROM app_state_patches "
            "WHERE phone_user = ? AND collection = ? AND version > ? ORDER BY version LIMIT ?",
            (phone_user, collection, after_version, limit),
        )
        return [
            AppStatePatchRow(
                int(r[0]), bytes(r[1]), int(r[2]), None if r[3] is None else str(r[3]), int(r[4])
            )
            for r in rows
        ]

    async def app_state_patch(
        self, phone_user: str, collection: str, version: int
    ) -> AppStatePatchRow | None:
        rows = await self.app_state_patches(phone_user, collection, version - 1, 1)
        return rows[0] if rows and rows[0].version == version else None

    async def add_app_state_patch(
        self,
        phone_user: str,
        collection: str,
        row: AppStatePatchRow,
        *,
        records: list[tuple[bytes, bytes]],
        removed: list[bytes],
    ) -> None:
        """Stores patch ``row`` as the collection's new version, with the records it sets
        (index MAC, SyncdRecord bytes) and the index MACs it removes, in one transaction."""
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO app_state_collections (phone_user, collection, version) "
                "VALUES (?, ?, ?) ON CONFLICT (phone_user, collection) "
                "DO UPDATE SET version = excluded.version",
                (phone_user, collection, row.version),
            )
            await self.db.execute(
                "INSERT INTO app_state_patches (phone_user, collection, version, patch, "
                "device_id, tamper, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    phone_user,
                    collection,
                    row.version,
                    row.patch,
                    row.device_id,
                    row.tamper,
                    row.created_at,
                ),
            )
            await self.db.execute_many(
                "DELETE FROM app_state_records "
                "WHERE phone_user = ? AND collection = ? AND index_mac = ?",
                [(phone_user, collection, index_mac) for index_mac in removed],
            )
            await self.db.execute_many(
                "INSERT OR REPLACE INTO app_state_records "
                "(phone_user, collection, index_mac, record, version) VALUES (?, ?, ?, ?, ?)",
                [
                    (phone_user, collection, index_mac, record, row.version)
                    for index_mac, record in records
                ],
            )

    async def app_state_records(self, phone_user: str, collection: str) -> list[AppStateRecordRow]:
        rows = await self.db.fetch_all(
            "SELECT index_mac, record, version FROM app_state_records "
            "WHERE phone_user = ? AND collection = ? ORDER BY version, index_mac",
            (phone_user, collection),
        )
        return [AppStateRecordRow(bytes(r[0]), bytes(r[1]), int(r[2])) for r in rows]

    async def clear_app_state_tamper(self, phone_user: str) -> int:
        return await self.db.execute(
            "UPDATE app_state_patches SET tamper = NULL "
            "WHERE phone_user = ? AND tamper IS NOT NULL",
            (phone_user,),
        )

    # Settings

    async def setting(self, name: str) -> str | None:
        row = await self.db.fetch_one("SELECT value FROM sandbox_settings WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set_setting(self, name: str, value: str) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO sandbox_settings (name, value) VALUES (?, ?)", (name, value)
        )

    # Blocklists

    async def set_blocked(self, phone_user: str, blocked: str, on: bool) -> None:
        if on:
            await self.db.execute(
                "INSERT OR IGNORE INTO blocklist (phone_user, blocked) VALUES (?, ?)",
                (phone_user, blocked),
            )
        else:
            await self.db.execute(
                "DELETE FROM blocklist WHERE phone_user = ? AND blocked = ?", (phone_user, blocked)
            )

    async def blocklist(self, phone_user: str) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT blocked FROM blocklist WHERE phone_user = ? ORDER BY blocked", (phone_user,)
        )
        return [str(r[0]) for r in rows]

    # Phone key-value state

    async def phone_get(self, phone_user: str, namespace: str, key: str) -> bytes | None:
        row = await self.db.fetch_one(
            "SELECT value FROM phone_state WHERE phone_user = ? AND namespace = ? AND key = ?",
            (phone_user, namespace, key),
        )
        return None if row is None else bytes(row[0])

    async def phone_apply(self, writes: list[PhoneWrite]) -> None:
        """Applies a batch of phone writes in one transaction."""
        puts = [(w.phone_user, w.namespace, w.key, w.value) for w in writes if w.value is not None]
        deletes = [(w.phone_user, w.namespace, w.key) for w in writes if w.value is None]
        async with self.db.transaction():
            if puts:
                await self.db.execute_many(
                    "INSERT OR REPLACE INTO phone_state (phone_user, namespace, key, value) "
                    "VALUES (?, ?, ?, ?)",
                    puts,
                )
            if deletes:
                await self.db.execute_many(
                    "DELETE FROM phone_state WHERE phone_user = ? AND namespace = ? AND key = ?",
                    deletes,
                )

    async def phone_items(self, phone_user: str, namespace: str) -> dict[str, bytes]:
        rows = await self.db.fetch_all(
            "SELECT key, value FROM phone_state WHERE phone_user = ? AND namespace = ? "
            "ORDER BY key",
            (phone_user, namespace),
        )
        return {str(r[0]): bytes(r[1]) for r in rows}
