"""storage.migrate for PostgreSQL: the shipped PostgreSQL schema and its statement splitter.

What needs a server (the schema applied, compared column by column with SQLite's through
schema_parity.compare) runs with the PostgreSQL engine's tests; these need none.
"""

from __future__ import annotations

import re

import pytest
from schema_parity import POSTGRES_ONLY_TABLES

from storage.engine import Dialect
from storage.errors import MigrationError
from storage.migrate import (
    load_migrations,
    parse_migration,
    split_postgres_statements,
    split_statements,
)
from storage.postgres.engine import MIGRATIONS_PACKAGE as POSTGRES_MIGRATIONS_PACKAGE

_CREATE_TABLE = re.compile(r"^CREATE TABLE (\w+)", re.MULTILINE)
_CREATE_INDEX = re.compile(r"^CREATE (?:UNIQUE )?INDEX (\w+) ON (\w+)", re.MULTILINE)
_ROWID_COLUMN = re.compile(r"^\s+rowid\s+BIGINT GENERATED ALWAYS AS IDENTITY,?$", re.MULTILINE)


def _statements_named(kind: str, statements: list[str]) -> dict[str, str]:
    found = {}
    for statement in statements:
        match = re.search(rf"^CREATE {kind} (\w+)", statement, re.MULTILINE)
        if match is not None:
            found[match.group(1)] = statement
    return found


def test_postgres_schema_creates_the_tables_and_indexes_of_the_sqlite_migrations() -> None:
    lite_sql = "\n".join(m.sql for m in load_migrations())
    pg_sql = "\n".join(
        m.sql for m in load_migrations(POSTGRES_MIGRATIONS_PACKAGE, Dialect.POSTGRESQL)
    )
    pg_tables = set(_CREATE_TABLE.findall(pg_sql)) - POSTGRES_ONLY_TABLES
    assert pg_tables == set(_CREATE_TABLE.findall(lite_sql))
    rowid_tables = {
        name
        for name, statement in _statements_named("TABLE", split_postgres_statements(pg_sql)).items()
        if _ROWID_COLUMN.search(statement)
    }
    assert rowid_tables == {"outbox", "campaigns", "group_participants"}
    rowid_indexes = {(f"{table}_rowid", table) for table in rowid_tables}
    pg_indexes = {
        (name, table)
        for name, table in _CREATE_INDEX.findall(pg_sql)
        if table not in POSTGRES_ONLY_TABLES
    }
    assert pg_indexes == set(_CREATE_INDEX.findall(lite_sql)) | rowid_indexes


def test_postgres_schema_keeps_every_function_body_in_one_statement() -> None:
    migration = load_migrations(POSTGRES_MIGRATIONS_PACKAGE, Dialect.POSTGRESQL)[0]
    assert migration.dialect is Dialect.POSTGRESQL
    functions = _statements_named("FUNCTION", migration.statements)
    assert set(functions) == {
        "session_transitions_no_update",
        "session_transitions_no_delete",
        "event_log_no_update",
    }
    for body in functions.values():
        assert body.endswith("$$;")
        assert "RAISE EXCEPTION" in body
    assert set(_statements_named("TRIGGER", migration.statements)) == set(functions)
    # SQLite's tokenizer knows no $$ (it cuts the bodies) and waits for END; after CREATE
    # TRIGGER: the reason PostgreSQL scripts have a splitter of their own.
    with pytest.raises(MigrationError):
        split_statements(migration.sql)


def test_split_postgres_statements_respects_quotes_and_comments() -> None:
    sql = """-- Migration 0001: header; with a semicolon
CREATE TABLE "odd;name" (x TEXT DEFAULT 'a;''b'); -- trailing; comment
/* a block; /* nested; */ still comment; */ INSERT INTO t VALUES (E'it\\'s;', $1);
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE EXCEPTION 'no; never'; -- $$ inside a tagged body is text
END
$body$;
DO $$ BEGIN PERFORM 1; END $$;
SELECT a$b FROM t;
-- only a comment; then nothing
"""
    statements = split_postgres_statements(sql)
    assert len(statements) == 5
    assert statements[0].startswith("-- Migration 0001: header; with a semicolon\nCREATE TABLE")
    assert statements[0].endswith("""DEFAULT 'a;''b');""")
    assert statements[1].startswith("-- trailing; comment\n/* a block;")
    assert statements[1].endswith("VALUES (E'it\\'s;', $1);")
    assert statements[2].startswith("CREATE FUNCTION") and statements[2].endswith("$body$;")
    assert statements[3] == "DO $$ BEGIN PERFORM 1; END $$;"
    assert statements[4] == "SELECT a$b FROM t;"
    assert split_postgres_statements("$$;$$;") == ["$$;$$;"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE a (x BIGINT)", "incomplete"),
        ("SELECT 'open;", "incomplete"),
        ('SELECT "open;', "incomplete"),
        ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT 1; $;", "incomplete"),
        ("/* never closed; /* */ SELECT 1;", "incomplete"),
        ("BEGIN;\nCREATE TABLE a (x BIGINT);", "BEGIN"),
        ("/* lead hidden? */ COMMIT;", "COMMIT"),
        ("START TRANSACTION;", "START"),
        ("ABORT;", "ABORT"),
    ],
)
def test_split_postgres_statements_refuses_broken_scripts(sql: str, message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        parse_migration("0001_x.sql", f"-- Migration 0001: x\n{sql}", Dialect.POSTGRESQL)
