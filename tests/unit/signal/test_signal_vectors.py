"""The libsignal vector file replays completely; damage to it shows as failed cases."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.vectors import signal as signal_vectors


@pytest.fixture(scope="module")
def doc(vectors_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((vectors_dir / "signal.json").read_text())
    return loaded


def test_every_case_passes(doc: dict[str, Any]) -> None:
    results = signal_vectors.replay(doc)
    failed = [result for result in results if not result.ok]
    assert failed == []
    names = {result.name for result in results}
    assert len(names) == len(results) >= 50
    assert any("re-encrypt byte-exact" in name for name in names)
    assert "pairwise through the store-backed ciphers: byte-exact both ways" in names


def _flip_hex(text: str, position: int) -> str:
    nibble = int(text[position], 16) ^ 1
    return text[:position] + format(nibble, "x") + text[position + 1 :]


def test_a_tampered_ciphertext_fails_its_cases(doc: dict[str, Any]) -> None:
    damaged = copy.deepcopy(doc)
    message = damaged["pairwise_messages"][3]
    message["ciphertext"] = _flip_hex(message["ciphertext"], len(message["ciphertext"]) - 1)
    results = {result.name: result for result in signal_vectors.replay(damaged)}
    assert not results["pairwise[3] bob->alice msg: re-encrypt byte-exact"].ok
    decrypt = results["pairwise[3] bob->alice msg: alice decrypts"]
    assert not decrypt.ok and "InvalidMacError" in decrypt.detail


def test_a_wrong_key_draw_fails_without_crashing(doc: dict[str, Any]) -> None:
    damaged = copy.deepcopy(doc)
    damaged["generated_keypairs"][6]["private"] = damaged["generated_keypairs"][7]["private"]
    results = signal_vectors.replay(damaged)
    assert any(not result.ok for result in results)
    assert any(result.ok for result in results)


def test_a_malformed_file_is_one_failed_case() -> None:
    results = signal_vectors.replay({"generated_keypairs": []})
    assert len(results) == 1 and not results[0].ok
