"""sqlite3 exceptions mapped to the storage errors callers can act on."""

from __future__ import annotations

import sqlite3

from storage.errors import (
    Constraint,
    ConstraintViolation,
    DatabaseCorrupt,
    DatabaseUnavailable,
    StorageError,
)

__all__ = ["is_busy", "translate_error"]

_CONSTRAINTS = {
    "SQLITE_CONSTRAINT_FOREIGNKEY": Constraint.FOREIGN_KEY,
    "SQLITE_CONSTRAINT_UNIQUE": Constraint.UNIQUE,
    "SQLITE_CONSTRAINT_PRIMARYKEY": Constraint.UNIQUE,
    "SQLITE_CONSTRAINT_CHECK": Constraint.CHECK,
    "SQLITE_CONSTRAINT_NOTNULL": Constraint.NOT_NULL,
    "SQLITE_CONSTRAINT_TRIGGER": Constraint.TRIGGER,
}
_UNAVAILABLE = {
    "SQLITE_BUSY": "the database is locked by another connection",
    "SQLITE_LOCKED": "the database is locked by another connection",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_IOERR": "I/O error",
    "SQLITE_CANTOPEN": "cannot open the database file",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_PERM": "permission denied",
    "SQLITE_PROTOCOL": "WAL locking protocol error",
    "SQLITE_NOLFS": "large files are not supported",
}
_CORRUPT = {
    "SQLITE_CORRUPT": "the database image is malformed",
    "SQLITE_NOTADB": "the file is not a SQLite database",
}


def translate_error(exc: sqlite3.Error | sqlite3.Warning, sql: str) -> StorageError:
    """Map a sqlite3 exception to the storage error a caller can act on."""
    name: str = getattr(exc, "sqlite_errorname", None) or ""
    primary = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    if isinstance(exc, sqlite3.IntegrityError) or primary == "SQLITE_CONSTRAINT":
        return ConstraintViolation(_CONSTRAINTS.get(name, Constraint.OTHER), str(exc))
    if primary in _CORRUPT:
        return DatabaseCorrupt(f"{_CORRUPT[primary]} ({exc})")
    if primary in _UNAVAILABLE:
        return DatabaseUnavailable(f"{_UNAVAILABLE[primary]} ({exc})")
    statement = " ".join(sql.split())[:120]
    return StorageError(f"SQLite error {name or type(exc).__name__}: {exc} [in: {statement}]")


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock this statement needs."""
    return exc.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
