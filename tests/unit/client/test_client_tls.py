"""Whom the client trusts: always a verifying context; a CA file replaces the system store."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from daemon.client.tls import TrustError, trust_context
from sandbox.certs import TLS_CERT_FILE, load_or_create_tls


def test_the_default_verifies_with_the_system_store() -> None:
    context = trust_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert trust_context("") is context  # made once, shared


def test_a_ca_file_is_the_only_trust(tmp_path: Path) -> None:
    load_or_create_tls(tmp_path, "127.0.0.1")
    context = trust_context(str(tmp_path / TLS_CERT_FILE))
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    (only,) = context.get_ca_certs()
    assert ("commonName", "127.0.0.1") in [pair for rdn in only["subject"] for pair in rdn]


def test_an_unusable_ca_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="cannot load"):
        trust_context(str(tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TrustError):
        trust_context(str(garbage))
