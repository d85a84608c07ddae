"""What the daemon sees of storage: one small Protocol per concern, plus the transaction boundary.

Nothing above ``storage/`` writes SQL (ARCHITECTURE principle 6). The daemon depends on these
Protocols; ``storage.sqlite`` implements them on one SQLite file, and another backend would
implement the same set.

Rules every implementation keeps:

* Every method is atomic. Called inside ``async with store.transaction():`` it writes inside
  that transaction and never commits on its own; an exception leaving the block undoes every
  write made in it, through any repository.
* Only :mod:`storage.errors` exceptions leave a method (plus ``ValueError`` for arguments that
  are invalid before any I/O, e.g. a wrong key length).
* A missing row read by ``load``/``get`` is ``None``; a missing row a write needs is
  :class:`~storage.errors.NotFound`. A stored row that cannot be decoded is
  :class:`~storage.errors.CorruptAuthState`, never ``None``: a damaged identity must not look
  like an absent one, or the daemon would mint a new identity over it.
* Signal records are opaque bytes; Signal addresses are strings, ``<user>.<device>`` or
  ``<user>:<device>`` (libsignal's and whatsmeow's spellings; the user part never contains
  ``.`` or ``:``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from storage.values import (
    AppStateSyncKey,
    DeviceCredentials,
    DeviceKeys,
    IdentityChange,
    PeerIdentity,
    PreKey,
    PreKeyRow,
    SessionRow,
    SessionStatus,
    SessionTransition,
)


class Transactional(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The only transaction boundary. Nested use joins the outer transaction (a savepoint:
        an exception leaving the inner block undoes only that block)."""
        ...


class PendingCommit(Protocol):
    """A unit written in a pipelined transaction, waiting for the commit that holds it."""

    def done(self) -> bool:
        """Whether that commit has ended (durable or failed)."""
        ...

    async def wait(self, timeout: float) -> None:
        """Returns once the unit is durable; raises the commit's StorageError, or TimeoutError
        (the unit may still commit later)."""
        ...

    def hold_open(self) -> GroupHold:
        """Keeps the commit that will hold this unit open for one more unit of work that is
        about to come (another task's), so that both share one commit; call it right after
        the pipelined transaction ended. The engine bounds the wait (a few milliseconds); an
        engine that commits each unit at once has nothing to hold."""
        ...


class GroupHold(Protocol):
    """A commit kept open for a unit that is about to join it (:meth:`PendingCommit.hold_open`)."""

    def release(self) -> None:
        """The awaited unit has joined the commit (call it inside that unit's transaction),
        or will not come: the commit may go. Idempotent."""
        ...


class Pipelined(Protocol):
    def pipelined_transaction(
        self, linger: float = 0.0
    ) -> AbstractAsyncContextManager[PendingCommit]:
        """A unit of work like :meth:`Transactional.transaction` (the task's outermost one),
        whose end does not wait for the commit: units of consecutive work share one commit,
        and whatever acts on the unit outside the process (an ack) waits for the yielded
        :class:`PendingCommit` first. A unit with ``linger`` (seconds) is in no hurry: it
        asks for no commit of its own and shares the next unit's, or, if none comes within
        ``linger``, is committed then (an engine that commits each unit at once ignores it)."""
        ...


class SessionRepo(Protocol):
    """The session rows and their append-only status history."""

    async def create(
        self, session_id: str, *, name: str = "", auto_connect: bool = True
    ) -> SessionRow:
        """Create a session in status ``new`` (recorded as its first transition).
        Raises AlreadyExists."""
        ...

    async def get(self, session_id: str) -> SessionRow | None: ...

    async def list_all(self) -> list[SessionRow]:
        """Every session, oldest first."""
        ...

    async def update_status(
        self,
        session_id: str,
        status: SessionStatus,
        reason: str,
        *,
        error: str | None = None,
    ) -> SessionTransition:
        """Set the status and append the transition, atomically. ``error`` also becomes
        ``last_error``; entering ``connected`` sets ``last_connected_at``. Raises NotFound."""
        ...

    async def update_settings(
        self,
        session_id: str,
        *,
        name: str | None = None,
        auto_connect: bool | None = None,
        active: bool | None = None,
    ) -> SessionRow:
        """Change the given settings; None leaves one as it is. Raises NotFound."""
        ...

    async def record_activity(
        self,
        session_id: str,
        *,
        message_at: datetime | None = None,
        status_check_at: datetime | None = None,
    ) -> None:
        """Set ``last_message_at`` / ``last_status_check``; None leaves one as it is.
        Raises NotFound."""
        ...

    async def transitions(
        self, session_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[SessionTransition]:
        """The status history in order, starting after ``after_seq``."""
        ...

    async def delete(self, session_id: str) -> None:
        """Delete the session and, by cascade, every row of its state. Raises NotFound."""
        ...


class CredentialsRepo(Protocol):
    """The device identity of each session. Identity is sacred: never overwritten, never
    reused, and reported when damaged."""

    async def save_new(self, session_id: str, keys: DeviceKeys) -> DeviceCredentials:
        """Store freshly generated keys. Raises IdentityExists if the session has a live
        identity or the keys were ever stored before; NotFound if the session does not exist."""
        ...

    async def load(self, session_id: str) -> DeviceCredentials | None:
        """The live (not retired) credentials; None if there are none.
        Raises CorruptAuthState if the stored row is damaged."""
        ...

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
        """Record what the phone bound this identity to. Repeating it with the same identity
        and JID is a no-op; re-binding a paired identity raises IdentityExists."""
        ...

    async def set_push_name(self, session_id: str, push_name: str) -> None: ...

    async def set_server_has_prekeys(self, session_id: str, value: bool) -> None: ...

    async def allocate_prekey_ids(self, session_id: str, count: int) -> range:
        """Reserve ``count`` consecutive one-time prekey ids; ids are never handed out twice."""
        ...

    async def retire(self, session_id: str, reason: str) -> DeviceCredentials:
        """Retire the live identity (logged out, replaced...). The row is kept for forensics;
        prekeys, Signal sessions, peer identities, sender keys and app-state keys of the
        session are deleted with it, since no later identity may use them. Raises NotFound."""
        ...

    async def history(self, session_id: str) -> list[DeviceCredentials]:
        """Every identity the session ever had, retired ones included, oldest first."""
        ...


class PreKeyRepo(Protocol):
    """One-time prekeys (ids come from ``CredentialsRepo.allocate_prekey_ids``)."""

    async def add_batch(self, session_id: str, prekeys: Sequence[PreKey]) -> None:
        """Store all or none. Raises AlreadyExists if an id is taken, NotFound if the
        session does not exist."""
        ...

    async def get(self, session_id: str, key_id: int) -> PreKeyRow | None: ...

    async def consume(self, session_id: str, key_id: int) -> PreKeyRow | None:
        """Remove and return the prekey (a pkmsg used it); None if it is not there."""
        ...

    async def remove(self, session_id: str, key_id: int) -> bool: ...

    async def mark_uploaded(self, session_id: str, key_ids: Iterable[int]) -> int:
        """Flag the given prekeys as uploaded; returns how many exist."""
        ...

    async def count(self, session_id: str, *, uploaded: bool | None = None) -> int: ...

    async def max_id(self, session_id: str) -> int:
        """The highest stored prekey id, 0 if none."""
        ...

    async def list_not_uploaded(self, session_id: str, limit: int) -> list[PreKeyRow]:
        """Prekeys not yet uploaded, lowest id first."""
        ...


class SignalSessionRepo(Protocol):
    """Signal session records by protocol address."""

    async def load(self, session_id: str, address: str) -> bytes | None: ...

    async def load_many(self, session_id: str, addresses: Iterable[str]) -> dict[str, bytes]:
        """The records that exist among ``addresses`` (missing ones are left out)."""
        ...

    async def store(self, session_id: str, address: str, record: bytes) -> None: ...

    async def store_many(self, session_id: str, records: Sequence[tuple[str, bytes]]) -> None:
        """Stores (address, record) pairs in one atomic write (for one address given twice,
        the last record)."""
        ...

    async def delete(self, session_id: str, address: str) -> bool: ...

    async def delete_all_for_user(self, session_id: str, user: str) -> int:
        """Delete the records of every device of ``user``; returns how many."""
        ...


class IdentityRepo(Protocol):
    """Peer identity keys seen per Signal address, and whether they are trusted."""

    async def load(self, session_id: str, address: str) -> PeerIdentity | None: ...

    async def save(
        self, session_id: str, address: str, identity_key: bytes, *, trusted: bool = True
    ) -> IdentityChange:
        """Record the key a peer presented. An unchanged key (with or without the 0x05 prefix)
        writes nothing; a changed one replaces the stored key with the given trust flag."""
        ...

    async def set_trusted(self, session_id: str, address: str, trusted: bool) -> None: ...

    async def delete(self, session_id: str, address: str) -> bool: ...


class SenderKeyRepo(Protocol):
    """Group sender-key records by (group, sender address)."""

    async def load(self, session_id: str, group_id: str, sender_address: str) -> bytes | None: ...

    async def store(
        self, session_id: str, group_id: str, sender_address: str, record: bytes
    ) -> None: ...

    async def delete(self, session_id: str, group_id: str, sender_address: str) -> bool: ...


class AppStateKeyRepo(Protocol):
    """App-state sync keys shared by the primary phone."""

    async def store(self, session_id: str, key: AppStateSyncKey) -> bool:
        """Insert, or replace an older key with the same id; returns False when the stored
        key is as new or newer (and nothing was written)."""
        ...

    async def load(self, session_id: str, key_id: bytes) -> AppStateSyncKey | None: ...

    async def latest(self, session_id: str) -> AppStateSyncKey | None:
        """The key with the newest timestamp."""
        ...


class AuthStore(Transactional, Protocol):
    """Every auth-state repository over one database, with its transaction boundary."""

    @property
    def sessions(self) -> SessionRepo: ...
    @property
    def credentials(self) -> CredentialsRepo: ...
    @property
    def prekeys(self) -> PreKeyRepo: ...
    @property
    def signal_sessions(self) -> SignalSessionRepo: ...
    @property
    def identities(self) -> IdentityRepo: ...
    @property
    def sender_keys(self) -> SenderKeyRepo: ...
    @property
    def app_state_keys(self) -> AppStateKeyRepo: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once the current task's transaction has ended (committed or
        rolled back), or soon outside one: caches above storage know when a write settled."""
        ...

    async def ping(self) -> float:
        """Latency of a real query in milliseconds (for /health/deep)."""
        ...

    async def close(self) -> None: ...


class DeviceLidRepo(Protocol):
    """The LID the server told this device it has (learnt after pairing)."""

    async def set_lid_if_missing(self, session_id: str, lid_jid: str) -> bool:
        """Records ``lid_jid`` for the live, paired identity if it has none; True if written."""
        ...
