"""The few spellings SQLite and PostgreSQL do not share, for statements otherwise written once.

SQLite's two-argument ``max(a, b)``/``min(a, b)`` are scalar functions; PostgreSQL's ``max``
and ``min`` are only aggregates and its scalar forms are ``greatest``/``least``. The two also
differ on NULL (SQLite's return NULL, PostgreSQL's skip it), so statements using them pass
operands that are never NULL (``coalesce`` them first).
"""

from __future__ import annotations

from storage.engine import Dialect


def greatest(dialect: Dialect) -> str:
    """The name of the scalar maximum of two values."""
    return "max" if dialect is Dialect.SQLITE else "greatest"


def least(dialect: Dialect) -> str:
    """The name of the scalar minimum of two values."""
    return "min" if dialect is Dialect.SQLITE else "least"
