"""The pure cores must stay pure: no asyncio, sockets, SQL or HTTP in binary/, signal/, crypto/
and the wire cores (only daemon/wire/transport.py may do I/O)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PURE_DIRS = ["daemon/binary", "daemon/wire", "daemon/signal", "daemon/crypto"]
IO_MODULES_ALLOWED = {"daemon/wire/transport.py"}
PURE_MODULES = [
    "daemon/campaigns/pacing.py",
    "daemon/campaigns/template.py",
    "daemon/campaigns/requests.py",
    "daemon/startup_pacing.py",
]
FORBIDDEN = {
    "asyncio",
    "socket",
    "sqlite3",
    "aiosqlite",
    "aiohttp",
    "websockets",
    "ssl",
    "selectors",
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_pure_cores_import_no_io() -> None:
    offenders: list[str] = []
    checked = 0
    paths = [p for folder in PURE_DIRS for p in sorted((REPO / folder).rglob("*.py"))]
    for path in [*paths, *(REPO / module for module in PURE_MODULES)]:
        rel = path.relative_to(REPO).as_posix()
        if rel in IO_MODULES_ALLOWED:
            continue
        checked += 1
        bad = _imported_roots(path) & FORBIDDEN
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert checked > 0
    assert offenders == []
