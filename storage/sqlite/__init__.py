"""The SQLite implementation of the storage interfaces: one module per concern, each with its
SQL as named constants. Re-exports the repositories and :class:`SqliteStore`."""

from storage.sqlite.app_state_keys import SqliteAppStateKeyRepo
from storage.sqlite.credentials import SqliteCredentialsRepo
from storage.sqlite.identities import SqliteIdentityRepo
from storage.sqlite.prekeys import SqlitePreKeyRepo
from storage.sqlite.sender_keys import SqliteSenderKeyRepo
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.signal_sessions import SqliteSignalSessionRepo
from storage.sqlite.store import SqliteStore

__all__ = [
    "SqliteAppStateKeyRepo",
    "SqliteCredentialsRepo",
    "SqliteIdentityRepo",
    "SqlitePreKeyRepo",
    "SqliteSenderKeyRepo",
    "SqliteSessionRepo",
    "SqliteSignalSessionRepo",
    "SqliteStore",
]
