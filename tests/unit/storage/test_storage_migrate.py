"""storage.migrate: shipped migrations, ordering, idempotence, too-new and broken schemas."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

import pytest
from storage_factories import FakeClock

from storage.db import Database
from storage.errors import MigrationError, SchemaTooNew, StorageError
from storage.migrate import Migration, load_migrations, parse_migration, split_statements

AUTH_STATE_TABLES = {
    "schema_migrations",
    "sessions",
    "session_transitions",
    "device_credentials",
    "prekeys",
    "signal_sessions",
    "signal_identities",
    "sender_keys",
    "app_state_sync_keys",
}
_CREATE_TABLE = re.compile(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.MULTILINE)


def expected_tables() -> set[str]:
    """Every table the shipped migrations create (later issues add migrations), plus the
    bookkeeping table and SQLite's own sequence table for AUTOINCREMENT keys."""
    created = {name for m in load_migrations() for name in _CREATE_TABLE.findall(m.sql)}
    assert created >= AUTH_STATE_TABLES - {"schema_migrations"}
    return created | {"schema_migrations"}


def user_tables(path: Path) -> set[str]:
    # SQLite's own tables (AUTOINCREMENT sequences, statistics PRAGMA optimize gathers).
    return {name for name in tables(path) if not name.startswith("sqlite_")}


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def recorded(path: Path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        ).fetchall()


def test_shipped_migrations_are_package_data() -> None:
    files = [f.name for f in resources.files("storage.migrations").iterdir()]
    assert "0001_auth_state.sql" in files
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "auth_state"
    assert migrations[0].sql.startswith("-- Migration 0001: ")


async def test_migrations_apply_once_and_reopen_is_idempotent(
    db_path: Path, clock: FakeClock
) -> None:
    db = await Database.open(db_path, clock=clock)
    assert await db.schema_version() == len(load_migrations())
    await db.close()
    assert user_tables(db_path) == expected_tables()
    first = recorded(db_path)
    assert [(v, n) for v, n, _ in first] == [(m.version, m.name) for m in load_migrations()]

    for _ in range(2):
        db = await Database.open(db_path, clock=clock)
        await db.close()
    assert recorded(db_path) == first  # nothing re-applied, applied_at unchanged
    assert user_tables(db_path) == expected_tables()


async def test_database_newer_than_the_code_is_refused_untouched(db_path: Path) -> None:
    await (await Database.open(db_path)).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, 'from_the_future', 0)")
    before = db_path.read_bytes()
    with pytest.raises(SchemaTooNew) as caught:
        await Database.open(db_path)
    assert caught.value.found == 9999
    assert caught.value.supported == len(load_migrations())
    assert "newer" in str(caught.value)
    assert recorded(db_path)[-1][:2] == (9999, "from_the_future")
    assert db_path.read_bytes() == before


async def test_recorded_name_that_differs_from_the_shipped_one_is_refused(db_path: Path) -> None:
    await (await Database.open(db_path)).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE schema_migrations SET name = 'something_else' WHERE version = 1")
    with pytest.raises(MigrationError, match="something_else"):
        await Database.open(db_path)


async def test_a_failing_migration_leaves_the_previous_schema(tmp_path: Path) -> None:
    path = tmp_path / "custom.db"
    first = parse_migration("0001_first.sql", "-- Migration 0001: one table\nCREATE TABLE a (x);")
    await (await Database.open(path, migrations=[first])).close()
    broken = parse_migration(
        "0002_broken.sql",
        "-- Migration 0002: fails half-way\n"
        "CREATE TABLE b (x);\n"
        "INSERT INTO a VALUES (1);\n"
        "INSERT INTO no_such_table VALUES (1);\n",
    )
    with pytest.raises(StorageError, match="no_such_table"):
        await Database.open(path, migrations=[first, broken])
    assert tables(path) == {"schema_migrations", "a"}
    assert [v for v, _, _ in recorded(path)] == [1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (0,)


async def test_pending_migrations_are_applied_in_order(tmp_path: Path) -> None:
    path = tmp_path / "custom.db"
    one = parse_migration("0001_one.sql", "-- Migration 0001: a\nCREATE TABLE a (x);")
    two = parse_migration("0002_two.sql", "-- Migration 0002: b\nALTER TABLE a ADD COLUMN y;")
    three = parse_migration("0003_three.sql", "-- Migration 0003: c\nCREATE INDEX a_y ON a (y);")
    await (await Database.open(path, migrations=[one])).close()
    db = await Database.open(path, migrations=[three, one, two])  # order given does not matter
    assert await db.schema_version() == 3
    await db.close()
    assert [(v, n) for v, n, _ in recorded(path)] == [(1, "one"), (2, "two"), (3, "three")]


def test_split_statements_respects_triggers_strings_and_comments() -> None:
    sql = """-- Migration 0001: header; with a semicolon
CREATE TABLE t (x TEXT); -- trailing; comment
INSERT INTO t VALUES ('a;b');
CREATE TRIGGER t_guard BEFORE DELETE ON t
BEGIN
    SELECT RAISE(ABORT, 'no; never');
END;
-- the end
"""
    statements = split_statements(sql)
    assert len(statements) == 3
    assert statements[0].startswith("-- Migration 0001: header; with a semicolon\nCREATE TABLE")
    assert statements[1] == "-- trailing; comment\nINSERT INTO t VALUES ('a;b');"
    assert statements[2].startswith("CREATE TRIGGER")
    assert statements[2].endswith("END;")


@pytest.mark.parametrize(
    ("name", "sql", "message"),
    [
        ("1_short.sql", "-- Migration 0001: x\nSELECT 1;", "NNNN"),
        ("0001_Upper.sql", "-- Migration 0001: x\nSELECT 1;", "NNNN"),
        ("0001_ok.sql", "CREATE TABLE a (x);", "must start with"),
        ("0002_ok.sql", "-- Migration 0001: x\nCREATE TABLE a (x);", "header version"),
        ("0001_ok.sql", "-- Migration 0001: x\nBEGIN;\nCREATE TABLE a (x);", "BEGIN"),
        ("0001_ok.sql", "-- Migration 0001: x\nCOMMIT;", "COMMIT"),
        ("0001_ok.sql", "-- Migration 0001: x\nCREATE TABLE a (x)", "incomplete"),
    ],
)
def test_malformed_migration_files_are_rejected(name: str, sql: str, message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        parse_migration(name, sql)


async def test_migration_versions_must_not_have_gaps(tmp_path: Path) -> None:
    one = Migration(1, "one", "-- Migration 0001: a\nCREATE TABLE a (x);")
    three = Migration(3, "three", "-- Migration 0003: c\nCREATE TABLE c (x);")
    with pytest.raises(MigrationError, match="without gaps"):
        await Database.open(tmp_path / "gaps.db", migrations=[one, three])
