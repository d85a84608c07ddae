"""Fixtures: a running sandbox on 127.0.0.1:0 with its state in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    """A sandbox with simulated phones."""
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "state")) as server:
        yield server


@pytest.fixture
async def bare_sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    """A sandbox without simulated phones: tests play every part themselves."""
    config = SandboxConfig(state_dir=tmp_path / "state")
    async with SandboxServer(config, use_default_phone=False) as server:
        yield server
