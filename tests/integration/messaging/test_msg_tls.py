"""A client configured like production, only with ``whatsapp.ca_file`` naming the ``--tls``
sandbox's certificate: the websocket and the media upload go over verified TLS with nothing but
the configuration (no hand-made SSL context, no custom dialer)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from messaging_harness import pair_by_qr, phone_got
from sandbox_clients import FAST, client_config

from daemon.client.media_message import MediaKind, OutgoingMedia
from daemon.client.session import Session
from sandbox.app import SandboxServer
from sandbox.certs import TLS_CERT_FILE
from sandbox.config import SandboxConfig
from storage.db import Database
from storage.sqlite.stores import SqliteStores

PHOTO = b"\x89PNG\r\n\x1a\n uploaded over verified https " * 400


@pytest.fixture
async def tls_sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox", tls=True)) as server:
        yield server


async def test_media_upload_trusts_the_configured_ca(
    tls_sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox = tls_sandbox
    alice = await sandbox.network.create_account("15550001111", push_name="Alice")
    bob = await sandbox.network.create_account("15550002222", push_name="Bob")
    config = dataclasses.replace(
        client_config(sandbox), ca_file=str(sandbox.state_dir / TLS_CERT_FILE)
    )
    db = await Database.open(tmp_path / "alice.db")
    session = await Session.open(SqliteStores(db), "main", config, options=FAST)
    try:
        await pair_by_qr(sandbox, alice, session)
        sent = await session.send_media(
            bob.pn, OutgoingMedia(MediaKind.IMAGE, "image/png", data=PHOTO)
        )
        got = await phone_got(sandbox, bob, lambda m: m.id == sent.result.message_id)
        assert got.media is not None and got.media.error == ""
        assert got.media.sha256 == hashlib.sha256(PHOTO).hexdigest()
    finally:
        await session.close()
        await db.close()
