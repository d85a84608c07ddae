"""`wamd vectors check` as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "vectors", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_all_shared_vectors_pass(vectors_dir: Path) -> None:
    files = [vectors_dir / name for name in ("binary.json", "noise.json", "signal.json")]
    result = _run(*map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    passed, failed = last.split(" passed, ")
    assert int(passed) > 50
    assert failed == "0 failed"


def test_unknown_file_kind_fails(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"hello": 1}))
    result = _run(str(bogus))
    assert result.returncode != 0
    assert "cannot replay" in result.stderr
    assert result.stdout.strip().endswith("0 passed, 1 failed")


def test_tampered_vector_is_reported(tmp_path: Path, vectors_dir: Path) -> None:
    doc = json.loads((vectors_dir / "binary.json").read_text())
    first = doc["vectors"][0]
    first["encoded"] = first["encoded"][:-2] + ("00" if first["encoded"][-2:] != "00" else "01")
    tampered = tmp_path / "binary.json"
    tampered.write_text(json.dumps(doc))
    result = _run(str(tampered))
    assert result.returncode == 1
    assert "FAIL" in result.stdout
