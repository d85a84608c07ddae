"""Column conventions shared by the SQLite repositories (see migration 0001's header)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from storage.engine import Dialect
from storage.errors import CorruptAuthState, NotFound

# A LIMIT that limits nothing, valid on both engines (SQLite's -1 is an error on PostgreSQL,
# PostgreSQL's NULL an error on SQLite).
NO_LIMIT = 2**63 - 1


def to_ms(at: datetime) -> int:
    """A timezone-aware datetime as unix milliseconds."""
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return round(at.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def opt_from_ms(value: int | None) -> datetime | None:
    return None if value is None else from_ms(value)


def opt_to_ms(at: datetime | None) -> int | None:
    return None if at is None else to_ms(at)


@contextmanager
def decoding(session_id: str, table: str) -> Iterator[None]:
    """Turn a failure to build a value from a stored row into CorruptAuthState."""
    try:
        yield
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise CorruptAuthState(session_id, table, str(exc)) from exc


def missing_session(session_id: str) -> NotFound:
    return NotFound(f"session {session_id!r} does not exist")


def check_session_id(session_id: str) -> None:
    if not isinstance(session_id, str) or not 1 <= len(session_id) <= 128:
        raise ValueError("session id must be a string of 1 to 128 characters")


def in_json_array(dialect: Dialect, param: str = "?", *, integers: bool = False) -> str:
    """``IN (...)`` over the values of a JSON array passed as one parameter: a list of any
    length in one statement, unpacked by each engine its own way (PostgreSQL's as text, so
    ``integers`` casts them for an integer column)."""
    if dialect is Dialect.SQLITE:
        return f"IN (SELECT value FROM json_each({param}))"
    values = f"json_array_elements_text(CAST({param} AS json))"
    return f"IN (SELECT CAST({values} AS BIGINT))" if integers else f"IN (SELECT {values})"
