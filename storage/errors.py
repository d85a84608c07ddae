"""Domain errors of the storage layer.

Only these leave ``storage/``: every ``sqlite3`` exception is translated at the one place that
talks to the connection (:mod:`storage.db`), with the original attached as ``__cause__``.

::

    StorageError                      anything that went wrong in storage
    ├── NotFound                      the row the call needs does not exist
    ├── AlreadyExists                 the row the call would create exists already
    │   └── IdentityExists            a live identity exists (or these keys were used before)
    ├── ConstraintViolation           a write broke a schema rule (a bug above storage)
    ├── CorruptAuthState              a stored row cannot be decoded: lengths, key pairs, enums
    ├── SchemaTooNew                  the file was written by a newer wamd
    ├── MigrationError                the shipped migrations or the recorded history are wrong
    ├── TransactionError              the transaction was misused or aborted by SQLite
    └── DatabaseUnavailable           cannot open, locked, disk full, I/O error, closed
        └── DatabaseCorrupt           SQLite says the file is not a (healthy) database

Identity is sacred (ARCHITECTURE principle 7): :class:`IdentityExists` and
:class:`CorruptAuthState` exist so that the daemon can stop and report instead of minting a new
identity when the stored one is unusable.
"""

from __future__ import annotations

import enum


class StorageError(Exception):
    """Base class of every error raised by ``storage/``."""


class NotFound(StorageError):
    """The session, credentials or row a call needs does not exist."""


class AlreadyExists(StorageError):
    """The row a call would create exists already; nothing was written."""


class IdentityExists(AlreadyExists):
    """Saving device credentials would replace (or reuse) an identity; nothing was written.

    Raised when the session already has live credentials, when the keys were already used by a
    retired identity (retired credentials are kept, never reused), and when an identity that is
    already paired would be re-bound to another account.
    """

    def __init__(self, session_id: str, detail: str) -> None:
        super().__init__(f"session {session_id!r}: {detail}")
        self.session_id = session_id


class Constraint(enum.Enum):
    """Which kind of schema rule a write broke."""

    FOREIGN_KEY = "foreign key"
    UNIQUE = "unique"
    CHECK = "check"
    NOT_NULL = "not null"
    TRIGGER = "trigger"
    OTHER = "other"


class ConstraintViolation(StorageError):
    """A write broke a schema rule. Repositories turn the expected cases into NotFound or
    AlreadyExists; one that reaches the caller means the caller passed something invalid."""

    def __init__(self, constraint: Constraint, message: str) -> None:
        super().__init__(f"{constraint.value} constraint violated: {message}")
        self.constraint = constraint


class CorruptAuthState(StorageError):
    """A stored row exists but cannot be decoded (wrong key length, mismatched key pair, zeroed
    secret, unknown enum value). The row is left untouched for forensics; the daemon must stop the
    session and report it, never replace the identity."""

    def __init__(self, session_id: str, table: str, detail: str) -> None:
        super().__init__(f"corrupt auth state for session {session_id!r} in {table}: {detail}")
        self.session_id = session_id
        self.table = table
        self.detail = detail


class SchemaTooNew(StorageError):
    """The database was migrated by a newer wamd than this one; it is left untouched."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"database schema version {found} is newer than this wamd supports ({supported}); "
            "upgrade wamd or restore a backup made by this version"
        )
        self.found = found
        self.supported = supported


class MigrationError(StorageError):
    """The migration files or the recorded migration history are inconsistent."""


class TransactionError(StorageError):
    """A transaction was used wrongly (outside a task, closing from inside one) or SQLite aborted
    it after an error, so nothing of it can be committed."""


class DatabaseUnavailable(StorageError):
    """The database cannot be used right now: it cannot be opened, another process holds the
    write lock past the busy timeout, the disk is full, an I/O error occurred, or it is closed."""


class DatabaseCorrupt(DatabaseUnavailable):
    """SQLite reports the file is not a database or its image is malformed."""


class LeaseLost(StorageError):
    """A write for a session this daemon no longer owns: its lease expired or another daemon
    holds it now. Nothing of the transaction was written; the daemon must let the session go."""
