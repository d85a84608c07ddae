"""Fixtures: a sandbox on 127.0.0.1:0, an account with a simulated phone, a client database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from client_harness import FAST, client_config

from daemon.client.session import Session
from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import Account
from storage.db import Database, Synchronous
from storage.sqlite.stores import SqliteStores


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as server:
        yield server


@pytest.fixture
async def account(sandbox: SandboxServer) -> Account:
    return await sandbox.network.create_account("15550001111", push_name="Alice")


@pytest.fixture
async def client_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "client.db", synchronous=Synchronous.NORMAL)
    yield db
    await db.close()


@pytest.fixture
async def session(sandbox: SandboxServer, client_db: Database) -> AsyncIterator[Session]:
    opened = await Session.open(
        SqliteStores(client_db), "main", client_config(sandbox), options=FAST
    )
    yield opened
    await opened.close()
