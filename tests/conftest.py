"""Shared test configuration: paths to the shared vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
VECTORS = SHARED / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.fail(f"shared vectors not found at {VECTORS}; clone with ../shared beside the repo")
    return VECTORS
