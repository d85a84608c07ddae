"""Fixtures: a sandbox, a real daemon process (with its access log on, so the console's polls
can be counted at the daemon) and a fresh headless Chromium profile per test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_DAEMON_TESTS = str(Path(__file__).resolve().parent.parent / "daemon")
if _DAEMON_TESTS not in sys.path:
    sys.path.insert(0, _DAEMON_TESTS)

from browser import chromium  # noqa: E402
from daemon_harness import DaemonProcess  # noqa: E402
from playwright.async_api import BrowserContext  # noqa: E402

from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox")) as server:
        yield server


@pytest.fixture
async def daemon(sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[DaemonProcess]:
    overrides = {
        "http": {"access_log": True},
        # QRs rotate every 3 s, so a test sees the page follow a rotation.
        "client": {"qr_first_ttl_s": 3.0, "qr_later_ttl_s": 3.0},
    }
    process = DaemonProcess(sandbox, tmp_path / "daemon", overrides)
    await process.start()
    yield process
    if process.process is not None and process.process.returncode is None:
        await process.kill()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    async with chromium(tmp_path / "chromium-profile") as context:
        yield context
