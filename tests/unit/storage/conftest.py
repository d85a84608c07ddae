"""Fixtures for the storage tests: a migrated database of each engine and a controllable clock.

``store`` runs a test on SQLite and on PostgreSQL (through ``open_engine``, see tests/conftest.py);
``sqlite_store`` is for what only a SQLite file has (pragmas, file modes, a full disk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from backends import OpenEngine
from storage_factories import FakeClock

from storage.sqlite import SqliteStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wamd.db"


@pytest.fixture
async def store(open_engine: OpenEngine, clock: FakeClock) -> SqliteStore:
    return SqliteStore(await open_engine(clock))


@pytest.fixture
async def sqlite_store(db_path: Path, clock: FakeClock) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(db_path, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()
