"""Schema parity between the SQLite migrations and the PostgreSQL ones.

The repositories run the same SQL text on both engines, so both schemas must have the same
tables, the same columns in the same order, the same named indexes and the same triggers.
:func:`compare` reads a migrated SQLite file itself and takes the PostgreSQL side as the rows
of :data:`PG_COLUMNS_SQL`, :data:`PG_INDEXES_SQL` and :data:`PG_TRIGGERS_SQL` (run them on a
migrated PostgreSQL database, any driver). Allowed differences: a PostgreSQL table may end
with a ``rowid`` column (SQLite's implicit rowid made real for the SQL that names it) with its
unique index ``<table>_rowid``; the indexes behind PRIMARY KEY/UNIQUE constraints are left out
on both sides (their names are engine-made), and so are the runner's ``schema_migrations`` and
the fleet's PostgreSQL-only tables.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

ROWID_COLUMN = "rowid"
BOOKKEEPING_TABLES = frozenset({"schema_migrations"})
# The fleet (members, leases) exists only where daemons share a database.
POSTGRES_ONLY_TABLES = frozenset({"fleet_members", "leases"})
_NOT_COMPARED = BOOKKEEPING_TABLES | POSTGRES_ONLY_TABLES
# Wakes the other daemons of a fleet when events commit (SQLite has one daemon).
POSTGRES_ONLY_TRIGGERS = frozenset({("event_log", "event_log_notify")})

PG_COLUMNS_SQL = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema()
ORDER BY table_name, ordinal_position
"""
# Named indexes only: the ones backing a PRIMARY KEY, UNIQUE or EXCLUDE constraint are
# SQLite's sqlite_autoindex_* counterparts.
PG_INDEXES_SQL = """
SELECT t.relname, i.relname
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema()
AND NOT EXISTS (
    SELECT 1 FROM pg_constraint AS c
    WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x')
)
ORDER BY 1, 2
"""
PG_TRIGGERS_SQL = """
SELECT c.relname, g.tgname
FROM pg_trigger AS g
JOIN pg_class AS c ON c.oid = g.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT g.tgisinternal
ORDER BY 1, 2
"""

Columns = dict[str, list[str]]
Names = dict[str, set[str]]


def sqlite_schema(sqlite_path: str | Path) -> tuple[Columns, Names, Names]:
    """Columns in order, named indexes and triggers of every table of a SQLite file."""
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        tables = [
            str(name)
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if name not in BOOKKEEPING_TABLES
        ]
        columns = {
            table: [
                str(row[1]) for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table,))
            ]
            for table in tables
        }
        indexes = _grouped(
            conn.execute(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        )
        triggers = _grouped(
            conn.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        )
    finally:
        conn.close()
    return columns, indexes, triggers


def compare(
    sqlite_path: str | Path,
    pg_columns: Iterable[tuple[str, str]],
    pg_indexes: Iterable[tuple[str, str]],
    pg_triggers: Iterable[tuple[str, str]] | None = None,
) -> list[str]:
    """Every difference between the SQLite file's schema and PostgreSQL's, one line each
    (empty when they match). ``pg_*`` are (table, name) rows in the order the ``PG_*_SQL``
    queries return them; without ``pg_triggers`` triggers are not compared."""
    lite_columns, lite_indexes, lite_triggers = sqlite_schema(sqlite_path)
    pg_table_columns: Columns = defaultdict(list)
    for table, column in pg_columns:
        if table not in _NOT_COMPARED:
            pg_table_columns[table].append(column)
    differences: list[str] = []
    rowid_tables: set[str] = set()
    for table in sorted(lite_columns.keys() - pg_table_columns.keys()):
        differences.append(f"table {table}: only in SQLite")
    for table in sorted(pg_table_columns.keys() - lite_columns.keys()):
        differences.append(f"table {table}: only in PostgreSQL")
    for table in sorted(lite_columns.keys() & pg_table_columns.keys()):
        theirs = pg_table_columns[table]
        if ROWID_COLUMN in theirs and ROWID_COLUMN not in lite_columns[table]:
            rowid_tables.add(table)
            if theirs[-1] != ROWID_COLUMN:
                differences.append(f"table {table}: the added rowid column is not the last one")
            theirs = [column for column in theirs if column != ROWID_COLUMN]
        if theirs != lite_columns[table]:
            differences.append(
                f"table {table}: columns differ: SQLite {lite_columns[table]}, PostgreSQL {theirs}"
            )
    pg_table_indexes = _grouped(pg_indexes)
    for table in rowid_tables:
        pg_table_indexes[table].discard(f"{table}_{ROWID_COLUMN}")
    differences += _compare_names("indexes", lite_indexes, pg_table_indexes)
    if pg_triggers is not None:
        shared = [row for row in pg_triggers if tuple(row) not in POSTGRES_ONLY_TRIGGERS]
        differences += _compare_names("triggers", lite_triggers, _grouped(shared))
    return differences


def _grouped(rows: Iterable[tuple[str, str]]) -> Names:
    grouped: Names = defaultdict(set)
    for table, name in rows:
        if table not in _NOT_COMPARED:
            grouped[str(table)].add(str(name))
    return grouped


def _compare_names(kind: str, lite: Names, pg: Names) -> list[str]:
    differences = []
    for table in sorted(lite.keys() | pg.keys()):
        only_lite = sorted(lite.get(table, set()) - pg.get(table, set()))
        only_pg = sorted(pg.get(table, set()) - lite.get(table, set()))
        if only_lite:
            differences.append(f"table {table}: {kind} only in SQLite: {only_lite}")
        if only_pg:
            differences.append(f"table {table}: {kind} only in PostgreSQL: {only_pg}")
    return differences
