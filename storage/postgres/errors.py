"""asyncpg exceptions mapped to the storage errors callers can act on."""

from __future__ import annotations

import asyncpg

from storage.errors import (
    Constraint,
    ConstraintViolation,
    DatabaseCorrupt,
    DatabaseUnavailable,
    StorageError,
)

__all__ = ["translate_error"]

# SQLSTATE codes (PostgreSQL, appendix A).
_CONSTRAINTS = {
    "23503": Constraint.FOREIGN_KEY,
    "23505": Constraint.UNIQUE,
    "23514": Constraint.CHECK,
    "23502": Constraint.NOT_NULL,
    # RAISE EXCEPTION in a trigger function: the append-only tables' guards.
    "P0001": Constraint.TRIGGER,
}
# Class 08: connection exception; 53: insufficient resources; 57: operator intervention
# (shutdown, too many connections); 40: serialization failure and deadlock, which a caller
# retries like a lock held by another process.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "40")
_CORRUPT_CLASSES = ("XX",)


def translate_error(exc: BaseException, sql: str) -> StorageError:
    """Map an asyncpg (or socket) exception to the storage error a caller can act on."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(exc.sqlstate or "")
        if state in _CONSTRAINTS:
            return ConstraintViolation(_CONSTRAINTS[state], str(exc))
        if state.startswith("23"):
            return ConstraintViolation(Constraint.OTHER, str(exc))
        if state[:2] in _UNAVAILABLE_CLASSES:
            return DatabaseUnavailable(f"PostgreSQL {state}: {exc}")
        if state[:2] in _CORRUPT_CLASSES:
            return DatabaseCorrupt(f"PostgreSQL {state}: {exc}")
        statement = " ".join(sql.split())[:120]
        return StorageError(f"PostgreSQL error {state}: {exc} [in: {statement}]")
    if isinstance(exc, asyncpg.DataError):
        # A parameter the driver could not encode for its column: a bug, not an outage.
        statement = " ".join(sql.split())[:120]
        return StorageError(f"PostgreSQL parameter error: {exc} [in: {statement}]")
    if isinstance(exc, (OSError, asyncpg.InterfaceError)):
        return DatabaseUnavailable(f"PostgreSQL connection: {type(exc).__name__}: {exc}")
    return StorageError(f"{type(exc).__name__}: {exc}")
