"""Baileys' vectors replay through daemon.vectors.binary (what `wamd vectors check` runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.vectors import binary as binary_vectors


@pytest.fixture(scope="module")
def doc(vectors_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((vectors_dir / "binary.json").read_text(encoding="utf-8"))
    return loaded


def test_every_vector_passes(doc: dict[str, Any]) -> None:
    results = binary_vectors.replay(doc)
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    assert failed == []


def test_every_vector_is_checked_both_ways(doc: dict[str, Any]) -> None:
    names = {r.name for r in binary_vectors.replay(doc)}
    assert "conventions" in names
    for vector in doc["vectors"]:
        assert f"{vector['name']}: decode" in names
        assert (f"{vector['name']}: encode" in names) != bool(vector.get("decode_only"))
        if vector.get("roundtrip_equal") and "encoded" in vector:
            assert f"{vector['name']}: re-encode" in names


def test_a_wrong_byte_fails_its_case(doc: dict[str, Any]) -> None:
    vector = dict(next(v for v in doc["vectors"] if v["name"] == "jid_ad_pn_device"))
    vector["encoded"] = vector["encoded"][:-2] + "00"
    results = binary_vectors.replay({"conventions": doc["conventions"], "vectors": [vector]})
    by_name = {r.name: r for r in results}
    assert not by_name["jid_ad_pn_device: encode"].ok
    assert "at byte" in by_name["jid_ad_pn_device: encode"].detail


def test_a_crash_inside_a_case_is_a_failed_case() -> None:
    vector = {"name": "broken", "encoded": "00ff", "node": {"tag": "iq", "attrs": {}}}
    results = binary_vectors.replay({"conventions": {}, "vectors": [vector]})
    by_name = {r.name: r for r in results}
    assert not by_name["broken: decode"].ok
    assert "DecodeError" in by_name["broken: decode"].detail


def test_changed_conventions_are_reported(doc: dict[str, Any]) -> None:
    conventions = json.loads(json.dumps(doc["conventions"]))
    conventions["tags"]["AD_JID"] = 1
    results = binary_vectors.replay({"conventions": conventions, "vectors": []})
    assert [(r.name, r.ok) for r in results] == [("conventions", False)]
