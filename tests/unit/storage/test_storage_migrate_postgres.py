"""storage.migrate for PostgreSQL: the shipped PostgreSQL schema, its statement splitter, and
the schema on a real server compared with SQLite's (schema_parity.compare)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from postgres_server import PostgresServer
from schema_parity import (
    PG_COLUMNS_SQL,
    PG_INDEXES_SQL,
    PG_TRIGGERS_SQL,
    POSTGRES_ONLY_TABLES,
    compare,
    sqlite_schema,
)

from storage.db import Database
from storage.engine import Dialect
from storage.errors import Constraint, ConstraintViolation, MigrationError
from storage.migrate import (
    load_migrations,
    parse_migration,
    split_postgres_statements,
    split_statements,
)
from storage.postgres.engine import MIGRATIONS_PACKAGE as POSTGRES_MIGRATIONS_PACKAGE
from storage.postgres.engine import PgDatabase

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


async def test_postgres_schema_matches_sqlite_column_for_column(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    lite = await Database.open(tmp_path / "lite.db")
    await lite.close()
    conn = await asyncpg.connect(await postgres_server.migrated_database())
    try:
        columns, indexes, triggers = [
            [(str(row[0]), str(row[1])) for row in await conn.fetch(query)]
            for query in (PG_COLUMNS_SQL, PG_INDEXES_SQL, PG_TRIGGERS_SQL)
        ]
    finally:
        await conn.close()
    assert ("outbox", "rowid") in columns
    assert compare(tmp_path / "lite.db", columns, indexes, triggers) == []


async def test_schema_parity_reports_each_kind_of_difference(tmp_path: Path) -> None:
    lite = await Database.open(tmp_path / "lite.db")
    await lite.close()
    columns, indexes, triggers = sqlite_schema(tmp_path / "lite.db")
    pg_columns = [(table, column) for table, names in columns.items() for column in names]
    pg_indexes = [(table, name) for table, names in indexes.items() for name in names]
    pg_triggers = [(table, name) for table, names in triggers.items() for name in names]
    rowid_extras = [("outbox", "rowid")], [("outbox", "outbox_rowid")]
    matching = compare(
        tmp_path / "lite.db", pg_columns + rowid_extras[0], pg_indexes + rowid_extras[1]
    )
    assert matching == []
    drifted = compare(
        tmp_path / "lite.db",
        [("campaigns", "rowid")] + [row for row in pg_columns if row != ("messages", "starred")],
        [row for row in pg_indexes if row != ("outbox", "outbox_open")] + [("chats", "extra")],
        [row for row in pg_triggers if row[1] != "event_log_no_update"],
    )
    assert drifted == [
        "table campaigns: the added rowid column is not the last one",
        f"table messages: columns differ: SQLite {columns['messages']}, "
        f"PostgreSQL {columns['messages'][:-1]}",
        "table chats: indexes only in PostgreSQL: ['extra']",
        "table outbox: indexes only in SQLite: ['outbox_open']",
        "table event_log: triggers only in SQLite: ['event_log_no_update']",
    ]


async def test_postgres_append_only_tables_refuse_changes_but_follow_their_session(
    postgres_server: PostgresServer,
) -> None:
    db = await PgDatabase.open(await postgres_server.migrated_database())
    try:
        await db.execute(
            "INSERT INTO sessions (id, created_at, updated_at, status, status_reason, "
            "status_changed_at) VALUES ('s1', 1, 1, 'new', 'created', 1)"
        )
        await db.execute("INSERT INTO session_transitions VALUES ('s1', 1, NULL, 'new', 'x', 1)")
        await db.execute(
            "INSERT INTO event_log (id, session_id, seq, type, data, created_at) "
            "VALUES ('e1', 's1', 1, 'session.status', '{}', 1)"
        )
        refused = (
            ("UPDATE session_transitions SET reason = 'y'", "session_transitions is append-only"),
            ("DELETE FROM session_transitions", "session_transitions is append-only"),
            ("UPDATE event_log SET type = 'other'", "event_log is append-only"),
        )
        for statement, message in refused:
            with pytest.raises(ConstraintViolation, match=message) as caught:
                await db.execute(statement)
            assert caught.value.constraint is Constraint.TRIGGER
        await db.execute("DELETE FROM sessions WHERE id = 's1'")
        assert await db.fetch_all("SELECT * FROM session_transitions") == []
        assert await db.execute("DELETE FROM event_log") == 1  # retention may delete events
    finally:
        await db.close()


# SQLite's LIKE (in the CHECKs of the SQLite migrations) against PostgreSQL's regex CHECKs.
LIKE_CHECKS = {
    "url": "?1 LIKE 'http://%' OR ?1 LIKE 'https://%'",
    "pn_jid": "?1 LIKE '%@s.whatsapp.net'",
    "lid_jid": "?1 LIKE '%@lid'",
    "jid": "?1 LIKE '%@g.us'",
}
# Each row's key is made unique by the case number (the url case: the id; the others: a prefix).
LIKE_CHECK_INSERTS = {
    "url": "INSERT INTO webhooks (id, url, secret, created_at, updated_at) "
    "VALUES ('w' || ?2, ?1, 'sixteen-chars-secret', 1, 1)",
    "pn_jid": "INSERT INTO contacts (session_id, pn_jid, updated_at) VALUES ('s1', ?1, 1)",
    "lid_jid": "INSERT INTO contacts (session_id, lid_jid, updated_at) VALUES ('s1', ?1, 1)",
    "jid": "INSERT INTO groups (session_id, jid, updated_at) VALUES ('s1', ?1, 1)",
}
LIKE_CASES = [
    ("url", "HTTPS://crm.example/hook"),
    ("url", "http://crm.example/hook"),
    ("url", "httpx://crm.example/hook"),
    ("url", "\nhttp://crm.example/hook"),
    ("pn_jid", "@S.WhatsApp.NET"),
    ("pn_jid", "@s.whatsapp.net\n"),
    ("pn_jid", "@s_whatsapp.net"),
    ("lid_jid", "@LID"),
    ("lid_jid", "@l\u0130d"),  # SQLite's LIKE folds ASCII letters only
    ("jid", "@G.us"),
    ("jid", "@gXus"),
]


async def test_postgres_like_checks_accept_what_sqlite_accepts(
    postgres_server: PostgresServer,
) -> None:
    db = await PgDatabase.open(await postgres_server.migrated_database())
    try:
        await db.execute(
            "INSERT INTO sessions (id, created_at, updated_at, status, status_reason, "
            "status_changed_at) VALUES ('s1', 1, 1, 'new', 'created', 1)"
        )
        with sqlite3.connect(":memory:") as lite:
            for number, (column, suffix) in enumerate(LIKE_CASES):
                value = suffix if column == "url" else f"{number}{suffix}"
                check = f"SELECT {LIKE_CHECKS[column]}"
                accepted = bool(lite.execute(check, (value,)).fetchone()[0])
                params = (value, str(number)) if column == "url" else (value,)
                try:
                    stored = await db.execute(LIKE_CHECK_INSERTS[column], params) == 1
                except ConstraintViolation as exc:
                    assert exc.constraint is Constraint.CHECK
                    stored = False
                assert stored is accepted, (column, value)
    finally:
        await db.close()
