"""Storage sits behind ports (architecture principle 6): the daemon and the HTTP API see only the
Protocols, values and errors of ``storage/``; a backend (``storage.sqlite``, ``storage.db``) is
chosen in one place, ``storage.backend``, which only the composition roots call; and ``storage/``
depends on nothing above it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ABOVE_STORAGE = ["daemon", "http_api"]
# The modules that build the daemon (``wamd run``) and a lone client (``wamd pair``).
COMPOSITION_ROOTS = {"daemon/service.py", "daemon/client/pair_cli.py"}
# A backend's concrete modules: SQL, the connection, its migrations.
BACKEND_MODULES = (
    "storage.sqlite",
    "storage.db",
    "storage.sqlite_errors",
    "storage.migrate",
    "storage.sandbox_state",
)
BACKEND_SELECTOR = "storage.backend"
LAYERS_ABOVE = ("daemon", "http_api", "sandbox")


def _within(module: str, packages: tuple[str, ...] | str) -> bool:
    names = (packages,) if isinstance(packages, str) else packages
    return any(module == name or module.startswith(name + ".") for name in names)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports; ``from package import name`` counts as the module that
    defines ``name`` (so a backend class re-exported by ``storage/__init__`` is seen)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if not _within(node.module, "storage"):
                continue
            package = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(package, alias.name, None)
                defined_in = getattr(value, "__module__", None)
                if isinstance(defined_in, str):
                    found.add(defined_in)
                else:
                    found.add(f"{node.module}.{alias.name}")
    return found


def _sources(folders: list[str]) -> list[Path]:
    return [path for folder in folders for path in sorted((REPO / folder).rglob("*.py"))]


def test_nothing_above_storage_imports_a_backend() -> None:
    offenders: list[str] = []
    paths = _sources(ABOVE_STORAGE)
    for path in paths:
        rel = path.relative_to(REPO).as_posix()
        for module in sorted(_imported_modules(path)):
            if _within(module, BACKEND_MODULES):
                offenders.append(f"{rel}: {module}")
            elif _within(module, BACKEND_SELECTOR) and rel not in COMPOSITION_ROOTS:
                offenders.append(f"{rel}: {module} (only a composition root opens storage)")
    assert len(paths) > 100
    assert offenders == []


def test_the_composition_roots_open_storage_through_the_selector() -> None:
    for rel in sorted(COMPOSITION_ROOTS):
        assert BACKEND_SELECTOR in _imported_modules(REPO / rel), rel


def test_storage_imports_nothing_above_it() -> None:
    offenders: list[str] = []
    paths = _sources(["storage"])
    for path in paths:
        rel = path.relative_to(REPO).as_posix()
        for module in sorted(_imported_modules(path)):
            if _within(module, LAYERS_ABOVE):
                offenders.append(f"{rel}: {module}")
    assert len(paths) > 30
    assert offenders == []


def test_a_re_exported_backend_class_is_seen(tmp_path: Path) -> None:
    """The check resolves ``from storage import Database`` to the backend module."""
    probe = tmp_path / "probe.py"
    probe.write_text("from storage import Database, StorageError\n", encoding="utf-8")
    imported = _imported_modules(probe)
    assert "storage.db" in imported
    assert "storage.errors" in imported
