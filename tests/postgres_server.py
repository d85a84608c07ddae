"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary directory,
listening on 127.0.0.1 on a free port, stopped (and its files removed) at the end.

Debian's ``postgresql`` package provides the binaries (``./scripts/test`` installs it when
missing). PostgreSQL refuses to run as root, so under root the cluster belongs to the
``postgres`` user the package creates; otherwise to whoever runs the tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PostgresServer", "find_bin_dir", "running_server"]

_SUPERUSER = "wamd"


def find_bin_dir() -> Path:
    """The newest installed server's ``bin`` directory."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "no PostgreSQL server found: install Debian's postgresql package (./scripts/test does)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class PostgresServer:
    """A running cluster; ``url(db)`` names one of its databases."""

    port: int
    root: Path
    bin_dir: Path
    run_as: str | None
    _names: Iterator[int]
    _template: str | None = None
    _template_shape: tuple[int, ...] = ()
    _spare: list[str] = field(default_factory=list)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                _SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def create_database(self, prefix: str = "wamd_test") -> str:
        """A new, empty database; returns its URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    async def migrated_database(self) -> str:
        """A new database with every shipped migration applied; returns its URL. The first
        call migrates a template; later ones copy it (much faster than migrating again)."""
        import asyncpg

        from storage.postgres.engine import PgDatabase

        if self._spare:
            return self.url(self._spare.pop())
        if self._template is None:
            name = f"wamd_template_{os.getpid()}"
            self.psql(f'CREATE DATABASE "{name}"')
            db = await PgDatabase.open(self.url(name))
            await db.close()
            conn = await asyncpg.connect(self.url(name))
            try:
                self._template_shape = await _schema_shape(conn)
            finally:
                await conn.close()
            self._template = name
        name = f"wamd_test_{os.getpid()}_{next(self._names)}"
        conn = await asyncpg.connect(self.url("postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        finally:
            await conn.close()
        return self.url(name)

    async def recycle(self, url: str) -> None:
        """Give back a database :meth:`migrated_database` handed out, once nothing uses it.
        Emptying its tables takes milliseconds where CREATE DATABASE takes about a second, so
        a later test gets it emptied; a database whose schema a test changed is not reused."""
        import asyncpg

        name = url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(url)
        try:
            if await _schema_shape(conn) != self._template_shape:
                return
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations'"
            )
            async with conn.transaction():
                # Replica role: no foreign-key checks or append-only triggers while emptying.
                await conn.execute("SET LOCAL session_replication_role = replica")
                for (table,) in tables:
                    await conn.execute(f'DELETE FROM "{table}"')
                await conn.execute(
                    "SELECT setval(s.oid, 1, false) FROM pg_class s "
                    "JOIN pg_namespace n ON n.oid = s.relnamespace "
                    "WHERE s.relkind = 'S' AND n.nspname = 'public'"
                )
        finally:
            await conn.close()
        self._spare.append(name)


async def _schema_shape(conn: object) -> tuple[int, ...]:
    """Counts of a database's tables, columns, constraints, indexes and triggers: equal to the
    template's unless a test altered the schema (say, dropped a CHECK to damage a row)."""
    import asyncpg

    assert isinstance(conn, asyncpg.Connection)
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public'),
          (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped),
          (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE n.nspname = 'public'),
          (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal),
          (SELECT coalesce(max(version), 0) FROM schema_migrations)
        """
    )
    assert row is not None
    return tuple(int(value) for value in row)


def _command(run_as: str | None, argv: list[str]) -> list[str]:
    return argv if run_as is None else ["runuser", "-u", run_as, "--", *argv]


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """Starts a cluster, yields it, stops it and removes its files."""
    bin_dir = find_bin_dir()
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="wamd-pg-"))
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    port = _free_port()
    subprocess.run(
        _command(
            run_as,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                _SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    # fsync stays on: the kill -9 tests run against this server and count on durable commits.
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
        "-c shared_buffers=64MB -c log_min_messages=warning"
    )
    subprocess.run(
        _command(
            run_as,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(root / "server.log"),
                "start",
            ],
        ),
        check=True,
        capture_output=True,
        timeout=90,
    )
    try:
        yield PostgresServer(port, root, bin_dir, run_as, itertools.count(1))
    finally:
        subprocess.run(
            _command(run_as, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
