"""Fixtures: a sandbox on loopback (driven through its admin API), a daemon process factory,
the environment that points a daemon at the test's storage backend, and a signed-webhook
receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonFactory, DaemonProcess, Receiver
from postgres_server import PostgresServer

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from storage.engine import Dialect


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
def storage_environ(backend: Dialect, request: pytest.FixtureRequest) -> dict[str, str]:
    """For ``daemon_factory(environ=...)``: nothing on SQLite (the daemon's file in its state
    directory); on PostgreSQL, ``WAMD_STORAGE_URL`` naming a new, empty database, which the
    daemon migrates at its first start. Restarts with the same environment find the same data."""
    if backend is Dialect.SQLITE:
        return {}
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return {"WAMD_STORAGE_URL": server.create_database("wamd_daemon")}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()
