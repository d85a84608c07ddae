"""Fixtures: a sandbox on 127.0.0.1:0 with two accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import Account


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as server:
        yield server


@pytest.fixture
async def ann(sandbox: SandboxServer) -> Account:
    return await sandbox.network.create_account("15550001111", push_name="Ann")


@pytest.fixture
async def bob(sandbox: SandboxServer) -> Account:
    return await sandbox.network.create_account("15550002222", push_name="Bob")
