"""Storage: the only code in wamd that speaks SQL.

The daemon depends on the Protocols in :mod:`storage.interfaces` and the values in
:mod:`storage.values`; :class:`storage.sqlite.SqliteStore` implements them over one SQLite file
(:mod:`storage.db`), migrated at open from ``storage/migrations``. Only the errors in
:mod:`storage.errors` leave this package.
"""

from storage.db import Database, Synchronous
from storage.errors import (
    AlreadyExists,
    ConstraintViolation,
    CorruptAuthState,
    DatabaseCorrupt,
    DatabaseUnavailable,
    IdentityExists,
    MigrationError,
    NotFound,
    SchemaTooNew,
    StorageError,
    TransactionError,
)
from storage.interfaces import (
    AppStateKeyRepo,
    AuthStore,
    CredentialsRepo,
    IdentityRepo,
    PreKeyRepo,
    SenderKeyRepo,
    SessionRepo,
    SignalSessionRepo,
    Transactional,
)
from storage.values import (
    AppStateSyncKey,
    DeviceCredentials,
    DeviceKeys,
    IdentityChange,
    KeyPair,
    PeerIdentity,
    PreKey,
    PreKeyRow,
    SessionRow,
    SessionStatus,
    SessionTransition,
    SignedPreKey,
)

__all__ = [
    "AlreadyExists",
    "AppStateKeyRepo",
    "AppStateSyncKey",
    "AuthStore",
    "ConstraintViolation",
    "CorruptAuthState",
    "CredentialsRepo",
    "Database",
    "DatabaseCorrupt",
    "DatabaseUnavailable",
    "DeviceCredentials",
    "DeviceKeys",
    "IdentityChange",
    "IdentityExists",
    "IdentityRepo",
    "KeyPair",
    "MigrationError",
    "NotFound",
    "PeerIdentity",
    "PreKey",
    "PreKeyRepo",
    "PreKeyRow",
    "SchemaTooNew",
    "SenderKeyRepo",
    "SessionRepo",
    "SessionRow",
    "SessionStatus",
    "SessionTransition",
    "SignalSessionRepo",
    "SignedPreKey",
    "StorageError",
    "Synchronous",
    "TransactionError",
    "Transactional",
]
