"""Fixtures: a sandbox on 127.0.0.1:0 with accounts, and wamd sessions paired with them.

The sessions keep their database in a SQLite file, or, in a test marked
``@pytest.mark.usefixtures("backend")``, on each storage engine in turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from messaging_harness import Client, client_database, paired_client

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import Account


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as server:
        yield server


@pytest.fixture
async def alice(sandbox: SandboxServer) -> Account:
    return await sandbox.network.create_account("15550001111", push_name="Alice")


@pytest.fixture
async def bob(sandbox: SandboxServer) -> Account:
    return await sandbox.network.create_account("15550002222", push_name="Bob")


@pytest.fixture
async def alice_wamd(
    sandbox: SandboxServer, alice: Account, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Client]:
    where = await client_database(request, tmp_path, "alice")
    client = await paired_client(sandbox, alice, where)
    yield client
    await client.close()


@pytest.fixture
async def bob_wamd(
    sandbox: SandboxServer, bob: Account, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Client]:
    where = await client_database(request, tmp_path, "bob")
    client = await paired_client(sandbox, bob, where)
    yield client
    await client.close()
