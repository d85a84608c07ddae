"""Device credentials: saved once, never overwritten, never reused, reported when damaged."""

from __future__ import annotations

from storage.engine import Row, SqlEngine
from storage.errors import (
    Constraint,
    ConstraintViolation,
    IdentityExists,
    NotFound,
    StorageError,
)
from storage.sqlite._columns import (
    check_session_id,
    decoding,
    from_ms,
    missing_session,
    opt_from_ms,
    to_ms,
)
from storage.values import (
    MAX_PREKEY_ID,
    DeviceCredentials,
    DeviceKeys,
    KeyPair,
    SignedPreKey,
)

TABLE = "device_credentials"
COLUMNS = (
    "session_id, noise_private, noise_public, identity_private, identity_public, "
    "registration_id, signed_prekey_id, signed_prekey_private, signed_prekey_public, "
    "signed_prekey_signature, adv_secret, signed_device_identity, pn_jid, lid_jid, platform, "
    "push_name, next_prekey_id, server_has_prekeys, created_at, paired_at, retired, "
    "retired_reason, logged_out_at"
)
SELECT_LIVE = f"SELECT {COLUMNS} FROM device_credentials WHERE session_id = ? AND retired = 0"
SELECT_BY_ROWID = f"SELECT {COLUMNS} FROM device_credentials WHERE id = ?"
SELECT_HISTORY = f"SELECT {COLUMNS} FROM device_credentials WHERE session_id = ? ORDER BY id"
SELECT_LIVE_ID = "SELECT id FROM device_credentials WHERE session_id = ? AND retired = 0"
INSERT_CREDENTIALS = """
INSERT INTO device_credentials (
    session_id, noise_private, noise_public, identity_private, identity_public,
    registration_id, signed_prekey_id, signed_prekey_private, signed_prekey_public,
    signed_prekey_signature, adv_secret, created_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
UPDATE_PAIRED = """
UPDATE device_credentials
SET signed_device_identity = ?, pn_jid = ?, lid_jid = ?, platform = ?, push_name = ?,
    paired_at = ?
WHERE session_id = ? AND retired = 0
"""
UPDATE_PUSH_NAME = (
    "UPDATE device_credentials SET push_name = ? WHERE session_id = ? AND retired = 0"
)
UPDATE_SERVER_HAS_PREKEYS = (
    "UPDATE device_credentials SET server_has_prekeys = ? WHERE session_id = ? AND retired = 0"
)
ALLOCATE_PREKEY_IDS = """
UPDATE device_credentials SET next_prekey_id = next_prekey_id + ?
WHERE session_id = ? AND retired = 0 AND next_prekey_id + ? <= ?
RETURNING next_prekey_id
"""
RETIRE = """
UPDATE device_credentials SET retired = 1, retired_reason = ?, logged_out_at = ?
WHERE session_id = ? AND retired = 0
RETURNING id
"""
# Keys that only made sense with the retired identity (or with the account it was paired to).
DELETE_DEPENDENT_KEYS = (
    "DELETE FROM prekeys WHERE session_id = ?",
    "DELETE FROM signal_sessions WHERE session_id = ?",
    "DELETE FROM signal_identities WHERE session_id = ?",
    "DELETE FROM sender_keys WHERE session_id = ?",
    "DELETE FROM app_state_sync_keys WHERE session_id = ?",
)


class SqliteCredentialsRepo:
    def __init__(self, db: SqlEngine) -> None:
        self._db = db

    async def save_new(self, session_id: str, keys: DeviceKeys) -> DeviceCredentials:
        check_session_id(session_id)
        if not isinstance(keys, DeviceKeys):
            raise ValueError("keys must be DeviceKeys")
        async with self._db.transaction():
            if await self._db.fetch_one(SELECT_LIVE_ID, (session_id,)) is not None:
                raise IdentityExists(
                    session_id, "it already has an identity; retire it before saving another"
                )
            try:
                await self._db.execute(
                    INSERT_CREDENTIALS,
                    (
                        session_id,
                        keys.noise.private,
                        keys.noise.public,
                        keys.identity.private,
                        keys.identity.public,
                        keys.registration_id,
                        keys.signed_prekey.key_id,
                        keys.signed_prekey.key_pair.private,
                        keys.signed_prekey.key_pair.public,
                        keys.signed_prekey.signature,
                        keys.adv_secret,
                        to_ms(self._db.now()),
                    ),
                )
            except ConstraintViolation as exc:
                if exc.constraint is Constraint.FOREIGN_KEY:
                    raise missing_session(session_id) from exc
                if exc.constraint is Constraint.UNIQUE:
                    raise IdentityExists(
                        session_id, "these keys were stored before; an identity is never reused"
                    ) from exc
                raise
            return await self._require_live(session_id)

    async def load(self, session_id: str) -> DeviceCredentials | None:
        row = await self._db.fetch_one(SELECT_LIVE, (session_id,))
        return None if row is None else _decode(row)

    async def mark_paired(
        self,
        session_id: str,
        *,
        signed_device_identity: bytes,
        pn_jid: str,
        lid_jid: str | None,
        platform: str | None,
        push_name: str | None,
    ) -> DeviceCredentials:
        if not isinstance(signed_device_identity, bytes) or not signed_device_identity:
            raise ValueError("signed device identity must be non-empty bytes")
        if not pn_jid:
            raise ValueError("the phone-number JID is required")
        async with self._db.transaction():
            current = await self._require_live(session_id)
            if current.is_paired:
                if (
                    current.pn_jid == pn_jid
                    and current.signed_device_identity == signed_device_identity
                ):
                    return current
                raise IdentityExists(
                    session_id,
                    "this identity is already paired; an identity is never re-bound to "
                    "another account or device",
                )
            await self._db.execute(
                UPDATE_PAIRED,
                (
                    signed_device_identity,
                    pn_jid,
                    lid_jid,
                    platform,
                    push_name,
                    to_ms(self._db.now()),
                    session_id,
                ),
            )
            return await self._require_live(session_id)

    async def set_push_name(self, session_id: str, push_name: str) -> None:
        if await self._db.execute(UPDATE_PUSH_NAME, (push_name, session_id)) == 0:
            raise _no_identity(session_id)

    async def set_server_has_prekeys(self, session_id: str, value: bool) -> None:
        if await self._db.execute(UPDATE_SERVER_HAS_PREKEYS, (int(value), session_id)) == 0:
            raise _no_identity(session_id)

    async def allocate_prekey_ids(self, session_id: str, count: int) -> range:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PREKEY_ID:
            raise ValueError(f"count must be in [1, {MAX_PREKEY_ID}], got {count!r}")
        async with self._db.transaction():
            row = await self._db.fetch_one(
                ALLOCATE_PREKEY_IDS, (count, session_id, count, MAX_PREKEY_ID + 1)
            )
            if row is None:
                await self._require_live(session_id)
                raise StorageError(
                    f"session {session_id!r}: one-time prekey ids are exhausted "
                    f"(ids are 3 bytes; {count} more do not fit)"
                )
        end = int(row[0])
        return range(end - count, end)

    async def retire(self, session_id: str, reason: str) -> DeviceCredentials:
        async with self._db.transaction():
            row = await self._db.fetch_one(RETIRE, (reason, to_ms(self._db.now()), session_id))
            if row is None:
                raise _no_identity(session_id)
            for statement in DELETE_DEPENDENT_KEYS:
                await self._db.execute(statement, (session_id,))
            retired = await self._db.fetch_one(SELECT_BY_ROWID, (row[0],))
        if retired is None:
            raise StorageError(f"session {session_id!r}: retired identity vanished")
        return _decode(retired)

    async def history(self, session_id: str) -> list[DeviceCredentials]:
        return [_decode(row) for row in await self._db.fetch_all(SELECT_HISTORY, (session_id,))]

    async def _require_live(self, session_id: str) -> DeviceCredentials:
        credentials = await self.load(session_id)
        if credentials is None:
            raise _no_identity(session_id)
        return credentials


def _no_identity(session_id: str) -> NotFound:
    return NotFound(f"session {session_id!r} has no live device credentials")


def _decode(row: Row) -> DeviceCredentials:
    session_id = str(row[0])
    with decoding(session_id, TABLE):
        keys = DeviceKeys(
            noise=_key_pair("noise", row[1], row[2]),
            identity=_key_pair("identity", row[3], row[4]),
            registration_id=row[5],
            signed_prekey=SignedPreKey(
                key_id=row[6],
                key_pair=_key_pair("signed prekey", row[7], row[8]),
                signature=row[9],
            ),
            adv_secret=row[10],
        )
        return DeviceCredentials(
            session_id=session_id,
            keys=keys,
            signed_device_identity=row[11],
            pn_jid=row[12],
            lid_jid=row[13],
            platform=row[14],
            push_name=row[15],
            next_prekey_id=row[16],
            server_has_prekeys=bool(row[17]),
            created_at=from_ms(row[18]),
            paired_at=opt_from_ms(row[19]),
            retired=bool(row[20]),
            retired_reason=row[21],
            logged_out_at=opt_from_ms(row[22]),
        )


def _key_pair(name: str, private: bytes, public: bytes) -> KeyPair:
    try:
        return KeyPair(private=private, public=public)
    except ValueError as exc:
        raise ValueError(f"{name} key pair: {exc}") from exc
