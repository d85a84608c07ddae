"""Fixtures: a sandbox on loopback (driven through its admin API), a daemon process factory,
and a signed-webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonFactory, DaemonProcess, Receiver

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as server:
        yield server


@pytest.fixture
async def daemon_factory(sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[DaemonFactory]:
    """Starts daemons over one state directory (a restart is a second call); whatever still
    runs at the end is killed."""
    started: list[DaemonProcess] = []

    async def start(
        environ: dict[str, str] | None = None, **overrides: dict[str, Any]
    ) -> DaemonProcess:
        process = DaemonProcess(sandbox, tmp_path / "daemon", dict(overrides), environ or {})
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        if process.process is not None and process.process.returncode is None:
            await process.kill()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()
