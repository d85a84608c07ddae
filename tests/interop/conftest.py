"""Fixtures for driving the npm `baileys` client (tests/interop/baileys_driver.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from baileys_client import BAILEYS_VERSION, INTEROP_DIR, NodeSetup

MIN_NODE_MAJOR = 20


def _node_major(node: str) -> int:
    out = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    return int(out.stdout.strip().lstrip("v").split(".")[0])


def _installed_baileys_version() -> str | None:
    manifest = INTEROP_DIR / "node_modules" / "baileys" / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text())["version"])


@pytest.fixture(scope="session")
def baileys_node() -> NodeSetup:
    """Node and the pinned Baileys, installed from package-lock.json if node_modules is missing.

    Never skips: without node/npm the interop suite cannot prove anything, so it fails loudly."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "node and npm are required for the Baileys interop tests "
            f"(node: {node or 'missing'}, npm: {npm or 'missing'}); install Node.js >= 20"
        )
    major = _node_major(node)
    if major < MIN_NODE_MAJOR:
        pytest.fail(f"Baileys {BAILEYS_VERSION} needs Node.js >= {MIN_NODE_MAJOR}, found {major}")
    if _installed_baileys_version() is None:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=INTEROP_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(
                f"npm ci in {INTEROP_DIR} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
    installed = _installed_baileys_version()
    if installed != BAILEYS_VERSION:
        pytest.fail(
            f"tests/interop/node_modules has baileys {installed}, expected {BAILEYS_VERSION}; "
            "run `npm ci` in tests/interop"
        )
    return NodeSetup(node=node, baileys_version=installed)


@pytest.fixture
def baileys_auth_dir(tmp_path: Path) -> Path:
    """A fresh auth folder for one Baileys client (useMultiFileAuthState creates the files)."""
    return tmp_path / "baileys-auth"
