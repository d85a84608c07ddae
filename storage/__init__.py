"""Storage: the only code in wamd that speaks SQL.

The daemon depends on the Protocols (``storage/*interfaces.py``, bundled by
:mod:`storage.stores`) and the value modules; :class:`storage.sqlite.stores.SqliteStores`
implements them over one SQLite file (:mod:`storage.db`), migrated at open from
``storage/migrations``, and :func:`storage.backend.open_stores` is where a backend is chosen. Only
the errors in :mod:`storage.errors` leave this package.
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
