"""The Baileys harness of tests/interop, reused: its driver client and its ``baileys_node``
fixture (which installs the pinned npm package when missing and fails loudly without Node)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

INTEROP = Path(__file__).resolve().parents[3] / "interop"
sys.path.insert(0, str(INTEROP))

_spec = importlib.util.spec_from_file_location("interop_fixtures", INTEROP / "conftest.py")
assert _spec is not None and _spec.loader is not None
_interop = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_interop)

baileys_node = _interop.baileys_node
