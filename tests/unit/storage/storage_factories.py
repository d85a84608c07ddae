"""Value factories and a controllable clock shared by the storage tests."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.engine import SqlEngine
from storage.values import DeviceKeys, KeyPair, PreKey, SignedPreKey, x25519_public_key


class FakeClock:
    """Starts at a fixed instant and moves 1 ms per reading, so stored times are ordered."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def make_key_pair() -> KeyPair:
    private = os.urandom(32)
    return KeyPair(private=private, public=x25519_public_key(private))


def make_device_keys(registration_id: int = 4242) -> DeviceKeys:
    return DeviceKeys(
        noise=make_key_pair(),
        identity=make_key_pair(),
        registration_id=registration_id,
        signed_prekey=SignedPreKey(key_id=1, key_pair=make_key_pair(), signature=os.urandom(64)),
        adv_secret=os.urandom(32),
    )


def make_prekeys(ids: range | list[int]) -> list[PreKey]:
    # Random public halves: prekeys are not checked for pair consistency, and this is faster.
    return [PreKey(key_id=i, private=os.urandom(32), public=os.urandom(32)) for i in ids]


async def damage(db: SqlEngine, sql: str, params: tuple[object, ...] = ()) -> None:
    """Change a row behind the repositories' back, the way a bad disk or a buggy tool would:
    the table's CHECK constraints do not stop it (SQLite ignores them on a side connection;
    on PostgreSQL, which cannot ignore them, the throwaway database loses them)."""
    table = sql.split()[1]
    if isinstance(db, Database):
        with sqlite3.connect(db.path) as conn:
            conn.execute("PRAGMA ignore_check_constraints = ON")
            conn.execute(sql, params)
        return
    checks = await db.fetch_all(
        "SELECT conname FROM pg_constraint WHERE conrelid = CAST(? AS regclass) AND contype = 'c'",
        (table,),
    )
    for (name,) in checks:
        await db.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    await db.execute(sql, params)
