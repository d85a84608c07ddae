"""API keys: one admin key, and per-session keys that see only their session.

A session key reads ``wamd_<id>_<secret>``: the id finds the stored row, and SHA-256 of the
secret is compared with the stored digest in constant time (the admin key too, digest against
digest, so neither the length nor the content of a key leaks through timing). Only digests are
stored; a session key is shown once, when it is created.

A session key verified once is remembered by the digest of the whole presented key, so its
next requests read nothing: the key's row changes only through this store (:meth:`KeyStore.
update`, :meth:`KeyStore.revoke`, :meth:`KeyStore.forget_session` when its session is
deleted), which forgets it at once. In a fleet every change of a session's keys is served by
the session's owner (``http_api.fleet_proxy``), so a daemon remembers only keys of sessions it
owns, and only under the lease it verified them with and until that lease expires (a daemon
paused past its lease, whose session another daemon took and changed, reads again); a key of
a session owned elsewhere is read at each request, as the owner may change it at any time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from storage.api_key_values import ApiKeyRow
from storage.fleet_interfaces import Lease
from storage.stores import Stores

KEY_PREFIX = "wamd_"
KEY_ID_BYTES = 8
SECRET_BYTES = 24
HEADER = "x-api-key"
# Compared against when the key id is unknown, so an unknown id costs the same as a wrong secret.
_DUMMY_DIGEST = hashlib.sha256(b"wamd-no-such-key").digest()


class Role(enum.Enum):
    ADMIN = "admin"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the admin, or one session's key."""

    role: Role
    session_id: str | None = None
    key_id: str | None = None
    chats: frozenset[str] | None = None
    """The only chats this key may see (None: every chat of its session)."""
    can_send: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def restricted(self) -> bool:
        return self.chats is not None

    def may_see_chat(self, chat: str) -> bool:
        return self.chats is None or chat in self.chats

    def may_access(self, session_id: str) -> bool:
        return self.is_admin or self.session_id == session_id


ADMIN = Principal(Role.ADMIN)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new session key: ``key`` is shown once and never stored."""

    row: ApiKeyRow
    key: str


def digest(secret: str) -> bytes:
    # A header with bytes that are not UTF-8 reaches us with surrogate escapes: hash them as
    # the bytes they were (such a key matches nothing) instead of failing to encode.
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


def generate_admin_key() -> str:
    return "wamd_admin_" + secrets.token_urlsafe(32)


class SessionLeases(Protocol):
    """This daemon's leases in a fleet (the coordinator)."""

    def lease(self, session_id: str) -> Lease | None:
        """The lease this daemon holds on the session, None when it holds none."""
        ...


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    lease_token: int | None
    """The lease of the key's session it was verified under (None outside a fleet)."""


class KeyStore:
    def __init__(
        self, stores: Stores, admin_key: str, *, leases: SessionLeases | None = None
    ) -> None:
        if len(admin_key) < 16:
            raise ValueError("the admin API key must be at least 16 characters")
        self._admin_digest = digest(admin_key)
        self._stores = stores
        self.repo = stores.api_keys
        self._leases = leases
        self._verified: dict[bytes, _Verified] = {}
        """Session keys verified, by the digest of the whole presented key."""
        self._changes = 0
        """Counts changes of keys: a read that a change overtook is not remembered."""
        self.reads = 0
        """Key rows read to authenticate a request (what a known key's request does without)."""

    async def authenticate(self, presented: str | None) -> Principal | None:
        """The principal a key belongs to; None for a missing or wrong key."""
        if not presented:
            return None
        offered = digest(presented)
        if hmac.compare_digest(offered, self._admin_digest):
            return ADMIN
        known = self._verified.get(offered)
        if known is not None:
            if self._still_valid(known):
                return known.principal
            del self._verified[offered]
        key_id, secret = parse_session_key(presented)
        if key_id is None or secret is None:
            return None
        self.reads += 1
        changes = self._changes
        row = await self.repo.get(key_id)
        stored = _DUMMY_DIGEST if row is None else row.secret_hash
        if hmac.compare_digest(digest(secret), stored) and row is not None:
            found = principal_of(row)
            if changes == self._changes:
                self._remember(offered, found)
            return found
        return None

    def _remember(self, offered: bytes, found: Principal) -> None:
        assert found.session_id is not None
        if self._leases is None:
            self._verified[offered] = _Verified(found, None)
            return
        lease = self._leases.lease(found.session_id)
        if lease is not None:
            self._verified[offered] = _Verified(found, lease.token)

    def _still_valid(self, known: _Verified) -> bool:
        if self._leases is None:
            return True
        assert known.principal.session_id is not None
        lease = self._leases.lease(known.principal.session_id)
        return (
            lease is not None
            and lease.token == known.lease_token
            and self._stores.now().timestamp() * 1000 < lease.expires_at_ms
        )

    def _forget(self, keep: Callable[[Principal], bool]) -> None:
        self._changes += 1
        self._verified = {
            offered: known for offered, known in self._verified.items() if keep(known.principal)
        }

    async def update(
        self,
        session_id: str,
        key_id: str,
        *,
        label: str | None = None,
        set_chats: bool = False,
        chats: tuple[str, ...] | None = None,
        can_send: bool | None = None,
    ) -> ApiKeyRow:
        """Changes a key (see ``ApiKeyRepo.update``); its next request sees the change."""
        try:
            return await self.repo.update(
                session_id, key_id, label=label, set_chats=set_chats, chats=chats, can_send=can_send
            )
        finally:
            self._forget(lambda known: known.key_id != key_id)

    async def revoke(self, session_id: str, key_id: str) -> bool:
        """Deletes a key: its next request is refused."""
        try:
            return await self.repo.delete(session_id, key_id)
        finally:
            self._forget(lambda known: known.key_id != key_id)

    def forget_session(self, session_id: str) -> None:
        """The session is deleted (its keys with it)."""
        self._forget(lambda known: known.session_id != session_id)

    async def current(self, caller: Principal) -> Principal | None:
        """The caller as the key is now (its chats may have changed since it was checked);
        None once the key is revoked. Open event streams ask this as they go."""
        if caller.key_id is None:
            return caller
        row = await self.repo.get(caller.key_id)
        return None if row is None else principal_of(row)

    async def issue(
        self,
        session_id: str,
        label: str = "",
        *,
        chats: tuple[str, ...] | None = None,
        can_send: bool = True,
        created_by: str = "admin",
    ) -> IssuedKey:
        key_id = secrets.token_hex(KEY_ID_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        row = await self.repo.create(
            key_id,
            session_id,
            digest(secret),
            label,
            chats=chats,
            can_send=can_send,
            created_by=created_by,
        )
        return IssuedKey(row, f"{KEY_PREFIX}{key_id}_{secret}")


def principal_of(row: ApiKeyRow) -> Principal:
    chats = None if row.chats is None else frozenset(row.chats)
    return Principal(Role.SESSION, row.session_id, row.id, chats=chats, can_send=row.can_send)


def parse_session_key(presented: str) -> tuple[str | None, str | None]:
    if not presented.startswith(KEY_PREFIX):
        return None, None
    key_id, sep, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != KEY_ID_BYTES * 2 or not secret:
        return None, None
    return key_id, secret


__all__ = [
    "ADMIN",
    "HEADER",
    "IssuedKey",
    "KeyStore",
    "Principal",
    "Role",
    "SessionLeases",
    "digest",
    "generate_admin_key",
    "parse_session_key",
]
