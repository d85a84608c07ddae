"""Versioned schema migrations: ``storage/migrations/NNNN_name.sql``, applied in order at open.

Each file starts with a header line ``-- Migration NNNN: what it does`` whose number matches the
file name, followed by plain SQL statements (no BEGIN/COMMIT: the runner wraps every pending
migration, and its ``schema_migrations`` rows, in one transaction, so an upgrade either lands
completely or not at all). Versions run 1, 2, 3... without gaps. A database that records a
version this code does not know raises :class:`~storage.errors.SchemaTooNew` and is left as is;
one whose recorded names differ from the shipped files raises
:class:`~storage.errors.MigrationError`.

Migrations are append-only: once a file has shipped, never edit it; add the next number.

The PostgreSQL backend ships the same schema for its engine in ``storage/postgres/migrations``
(loaded with ``Dialect.POSTGRESQL``): the same file rules, split by PostgreSQL's quoting.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from storage.engine import Dialect
from storage.errors import MigrationError, SchemaTooNew

if TYPE_CHECKING:
    from storage.engine import SqlEngine

MIGRATIONS_PACKAGE = "storage.migrations"

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
_HEADER = re.compile(r"^-- Migration (\d{4}): \S")
_LINE_COMMENT = re.compile(r"--[^\n]*")
# Statements the runner owns: a migration that ends or opens a transaction would break the
# all-or-nothing upgrade (ABORT and START TRANSACTION are PostgreSQL's spellings).
_FORBIDDEN_LEADS = frozenset(
    {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ABORT", "START"}
)

CREATE_SCHEMA_MIGRATIONS = {
    Dialect.SQLITE: """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT
""",
    Dialect.POSTGRESQL: """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT   NOT NULL,
    applied_at BIGINT NOT NULL
)
""",
}
# Daemons of a fleet start together: the first one migrates, the others wait for it here and
# then find nothing left to do. (A constant key, held to the end of the transaction.)
LOCK_MIGRATIONS_PG = "SELECT pg_advisory_xact_lock(7212050901)"
SELECT_APPLIED = "SELECT version, name FROM schema_migrations ORDER BY version"
INSERT_APPLIED = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    dialect: Dialect = Dialect.SQLITE

    @property
    def statements(self) -> list[str]:
        origin = f"{self.version:04d}_{self.name}"
        if self.dialect is Dialect.POSTGRESQL:
            return split_postgres_statements(self.sql, origin)
        return split_statements(self.sql, origin)


def parse_migration(file_name: str, sql: str, dialect: Dialect = Dialect.SQLITE) -> Migration:
    """Check a migration file's name and header and return it."""
    match = _FILE_NAME.match(file_name)
    if match is None:
        raise MigrationError(f"migration file {file_name!r} is not named NNNN_snake_name.sql")
    version = int(match.group(1))
    first_line = sql.split("\n", 1)[0]
    header = _HEADER.match(first_line)
    if header is None:
        raise MigrationError(
            f"migration {file_name} must start with '-- Migration {match.group(1)}: <summary>'"
        )
    if int(header.group(1)) != version:
        raise MigrationError(f"migration {file_name} has header version {header.group(1)}")
    migration = Migration(version=version, name=match.group(2), sql=sql, dialect=dialect)
    migration.statements  # noqa: B018 - parse now so a broken file fails at load, not at open
    return migration


def check_sequence(migrations: Sequence[Migration]) -> tuple[Migration, ...]:
    """Sort by version and insist on 1, 2, 3... with no gap or duplicate."""
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration versions must run 1, 2, 3... without gaps; found "
                f"{[m.version for m in ordered]}"
            )
    return ordered


def load_migrations(
    package: str = MIGRATIONS_PACKAGE, dialect: Dialect = Dialect.SQLITE
) -> tuple[Migration, ...]:
    """The migrations shipped as package data in ``package``, in order."""
    found = [
        parse_migration(entry.name, entry.read_text(encoding="utf-8"), dialect)
        for entry in resources.files(package).iterdir()
        if entry.name.endswith(".sql")
    ]
    if not found:
        raise MigrationError(f"no migrations found in package {package}")
    return check_sequence(found)


def split_statements(sql: str, origin: str = "<sql>") -> list[str]:
    """Split a script into statements; ``sqlite3.complete_statement`` decides where one ends,
    so semicolons inside triggers, strings and comments are handled by SQLite's own tokenizer."""
    statements: list[str] = []
    pending = ""
    pieces = sql.split(";")
    for index, piece in enumerate(pieces):
        pending += piece if index == len(pieces) - 1 else piece + ";"
        if not sqlite3.complete_statement(pending):
            continue
        _keep_statement(statements, pending, _LINE_COMMENT.sub("", pending), origin)
        pending = ""
    if _LINE_COMMENT.sub("", pending).strip():
        raise _incomplete(origin, pending)
    return statements


def _keep_statement(statements: list[str], text: str, code: str, origin: str) -> None:
    """Append ``text`` unless its ``code`` (the text without comments) is empty; refuse the
    statements the runner owns."""
    body = code.strip()
    if body in ("", ";"):
        return
    lead = body.split(None, 1)[0].upper().rstrip(";")
    if lead in _FORBIDDEN_LEADS:
        raise MigrationError(f"{origin}: migrations may not run {lead} statements")
    statements.append(text.strip())


def _incomplete(origin: str, text: str) -> MigrationError:
    return MigrationError(f"{origin}: incomplete statement at the end: {text.strip()[:80]!r}")


# PostgreSQL's dollar quote opener/closer: $$ or $tag$ (a tag is an identifier without '$').
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def _is_identifier_char(char: str) -> bool:
    return char != "" and (char.isalnum() or char in "_$")


def split_postgres_statements(sql: str, origin: str = "<sql>") -> list[str]:
    """Split a PostgreSQL script into statements at the semicolons outside quotes and comments.

    ``sqlite3.complete_statement`` cannot do it: it does not know dollar quoting (a PL/pgSQL
    body between ``$$`` holds semicolons) and waits for ``END;`` after any ``CREATE TRIGGER``,
    which PostgreSQL's one-line triggers never have. This knows exactly what can hide a
    semicolon in PostgreSQL: '...' strings ('' doubled; backslash escapes in E'...'), "..."
    identifiers, $tag$...$tag$ strings, -- line comments and nested /* */ comments.
    """
    statements: list[str] = []
    code: list[str] = []  # the pending statement without its comments (for the lead check)
    start = index = 0
    while index < len(sql):
        char = sql[index]
        if sql.startswith("--", index):
            newline = sql.find("\n", index)
            index = len(sql) if newline < 0 else newline
            continue
        if sql.startswith("/*", index):
            index = _block_comment_end(sql, index, origin)
            code.append(" ")
            continue
        if char == ";":
            _keep_statement(statements, sql[start : index + 1], "".join(code) + ";", origin)
            start, code = index + 1, []
            index += 1
            continue
        end = _quoted_end(sql, index, origin)
        code.append(sql[index:end])
        index = end
    if "".join(code).strip():
        raise _incomplete(origin, sql[start:])
    return statements


def _quoted_end(sql: str, index: int, origin: str) -> int:
    """Where the string, quoted identifier or dollar-quoted string opening at ``index`` ends
    (``index + 1`` when none opens there)."""
    char = sql[index]
    before = sql[index - 1] if index > 0 else ""
    if char == "'":
        # E'...' (also e'...') takes backslash escapes; the E must be a token of its own.
        escapes = before in ("E", "e") and (index < 2 or not _is_identifier_char(sql[index - 2]))
        return _quote_end(sql, index, "'", escapes, origin)
    if char == '"':
        return _quote_end(sql, index, '"', False, origin)
    if char == "$" and not _is_identifier_char(before):
        tag = _DOLLAR_TAG.match(sql, index)
        if tag is not None:
            close = sql.find(tag.group(0), tag.end())
            if close < 0:
                raise _incomplete(origin, sql[index:])
            return close + len(tag.group(0))
    return index + 1


def _quote_end(sql: str, index: int, quote: str, escapes: bool, origin: str) -> int:
    position = index + 1
    while position < len(sql):
        char = sql[position]
        if escapes and char == "\\":
            position += 2
        elif char != quote:
            position += 1
        elif sql.startswith(quote * 2, position):
            position += 2
        else:
            return position + 1
    raise _incomplete(origin, sql[index:])


def _block_comment_end(sql: str, index: int, origin: str) -> int:
    """Where the /* comment opening at ``index`` ends; PostgreSQL nests them."""
    depth, position = 0, index
    while position < len(sql):
        if sql.startswith("/*", position):
            depth, position = depth + 1, position + 2
        elif sql.startswith("*/", position):
            depth, position = depth - 1, position + 2
            if depth == 0:
                return position
        else:
            position += 1
    raise _incomplete(origin, sql[index:])


async def apply_migrations(db: SqlEngine, migrations: Sequence[Migration]) -> list[Migration]:
    """Apply the pending ``migrations`` in one transaction; return the ones applied."""
    ordered = check_sequence(migrations)
    known = {m.version: m for m in ordered}
    supported = ordered[-1].version if ordered else 0
    applied: list[Migration] = []
    async with db.transaction():
        if db.dialect is Dialect.POSTGRESQL:
            await db.fetch_all(LOCK_MIGRATIONS_PG)
        await db.execute(CREATE_SCHEMA_MIGRATIONS[db.dialect])
        recorded = {int(v): str(n) for v, n in await db.fetch_all(SELECT_APPLIED)}
        newest = max(recorded, default=0)
        if newest > supported:
            raise SchemaTooNew(found=newest, supported=supported)
        if sorted(recorded) != list(range(1, newest + 1)):
            raise MigrationError(f"recorded migration history has gaps: {sorted(recorded)}")
        for version, name in recorded.items():
            if known[version].name != name:
                raise MigrationError(
                    f"database records migration {version:04d}_{name}, but this wamd ships "
                    f"{version:04d}_{known[version].name}"
                )
        now_ms = int(db.now().timestamp() * 1000)
        for migration in ordered:
            if migration.version in recorded:
                continue
            for statement in migration.statements:
                await db.execute(statement)
            await db.execute(INSERT_APPLIED, (migration.version, migration.name, now_ms))
            applied.append(migration)
    return applied
