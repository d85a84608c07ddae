"""Media between wamd and the unmodified npm ``baileys`` (7.0.0-rc14) through a TLS sandbox: an
image, a voice note and a document each way, and the bytes each side downloads are the bytes the
other side sent.

Baileys builds its upload URLs with a hard-coded ``https://`` and downloads with Node's fetch,
which ignores the https Agent it is given, so the sandbox serves TLS and the driver runs with
NODE_TLS_REJECT_UNAUTHORIZED=0. wamd trusts the sandbox's self-signed certificate explicitly,
for its websocket and its media client alike."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
import ssl
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from baileys_client import BaileysClient, MessageEvent, NodeSetup
from messaging_harness import Client
from sandbox_clients import FAST, client_config, next_event, phone

from daemon.binary import JID
from daemon.client.connection import transport_dialer
from daemon.client.events import Connected, QrCode
from daemon.client.media_http import MediaHttpOptions
from daemon.client.media_message import MediaKind, OutgoingMedia
from daemon.client.message_events import MessageReceived
from daemon.client.session import Session, default_transport
from daemon.client.sync_services import SyncOptions
from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import Account
from storage.db import Database
from storage.message_values import ContentType
from storage.sqlite.stores import SqliteStores

TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class SampleFile:
    kind: MediaKind
    baileys_type: str
    content_type: ContentType
    mimetype: str
    data: bytes
    file_name: str = ""
    caption: str = ""

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()


def _bytes(seed: int, size: int, header: bytes) -> bytes:
    return header + random.Random(seed).randbytes(size - len(header))


def _png(seed: int, side: int) -> bytes:
    """A real RGB PNG of noise, so Baileys' thumbnailer (sharp) has a picture to read."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body)
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sample_files(seed: int) -> tuple[SampleFile, ...]:
    """Distinct bytes per direction (``seed``); the audio and document sizes are not multiples of
    the AES block."""
    return (
        SampleFile(
            MediaKind.IMAGE,
            "image",
            ContentType.IMAGE,
            "image/png",
            _png(seed, 48),
            caption="a picture",
        ),
        SampleFile(
            MediaKind.VOICE,
            "audio",
            ContentType.AUDIO,
            "audio/ogg; codecs=opus",
            _bytes(seed + 1, 9_871, b"OggS"),
        ),
        SampleFile(
            MediaKind.DOCUMENT,
            "document",
            ContentType.DOCUMENT,
            "application/pdf",
            _bytes(seed + 2, 31_003, b"%PDF-1.4\n"),
            file_name="report.pdf",
        ),
    )


def incoming(message_id: str) -> Callable[[MessageEvent], bool]:
    return lambda m: m.key.id == message_id and not m.key.from_me


def stored_as(message_id: str) -> Callable[[MessageReceived], bool]:
    return lambda e: e.message.message_id == message_id


@pytest.fixture
async def tls_sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox", tls=True)) as server:
        yield server


def sandbox_trust(server: SandboxServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.state_dir / "tls.crt"))


async def tls_paired_client(server: SandboxServer, account: Account, path: Path) -> Client:
    """A wamd session paired with ``account``'s phone, trusting the sandbox's certificate on
    its websocket and for media."""
    trust = sandbox_trust(server)
    config = client_config(server)
    transport = dataclasses.replace(default_transport(config), ssl_context=trust)
    db = await Database.open(path)
    session = await Session.open(
        SqliteStores(db),
        "main",
        config,
        options=FAST,
        dialer=transport_dialer(transport, time.time),
        sync_options=SyncOptions(media_http=MediaHttpOptions(scheme="https", ssl_context=trust)),
    )
    with session.events() as events:
        await session.pair()
        qr = await next_event(events, QrCode)
        scan = asyncio.create_task(phone(server, account).scan_qr(qr.code))
        await next_event(events, Connected)
        await scan
    return Client(session, db, account)


async def test_media_both_ways_between_wamd_and_baileys(
    tls_sandbox: SandboxServer, baileys_node: NodeSetup, tmp_path: Path
) -> None:
    sandbox = tls_sandbox
    alice = await sandbox.network.create_account("15550001111", push_name="Alice")
    wamd = await tls_paired_client(sandbox, alice, tmp_path / "alice.db")
    baileys = BaileysClient(
        ws_url=sandbox.ws_url,
        auth_dir=tmp_path / "baileys-auth",
        root_key=sandbox.root_public_key,
        push_name="Interop Baileys",
        extra_env={"NODE_TLS_REJECT_UNAUTHORIZED": "0"},
    )
    try:
        await baileys.start()
        me = await baileys.pair(sandbox.origin, timeout=TIMEOUT)
        baileys_jid = JID.parse(me.id).to_non_ad()
        session = wamd.session

        # wamd → Baileys: Baileys sees what was announced and downloads the same bytes.
        for sample in sample_files(seed=1):
            mark = baileys.mark()
            sent = await session.send_media(
                baileys_jid,
                OutgoingMedia(
                    kind=sample.kind,
                    mimetype=sample.mimetype,
                    data=sample.data,
                    caption=sample.caption,
                    file_name=sample.file_name,
                ),
            )
            message_id = sent.result.message_id
            got = await baileys.wait_message(incoming(message_id), TIMEOUT, since=mark)
            assert got.media is not None, got.content_types
            assert got.media.kind == sample.baileys_type
            assert got.media.mimetype == sample.mimetype
            assert got.media.file_sha256 == sample.sha256
            if sample.kind is MediaKind.VOICE:
                assert got.media.ptt is True
            if sample.file_name:
                assert got.media.file_name == sample.file_name
            downloaded = await baileys.download(message_id)
            assert downloaded.sha256 == sample.sha256
            assert downloaded.data == sample.data

        # Baileys → wamd: wamd stores the message and downloads the same bytes.
        with session.events() as events:
            for sample in sample_files(seed=100):
                key = await baileys.send_media(
                    str(alice.pn),
                    sample.baileys_type,
                    sample.data,
                    sample.mimetype,
                    ptt=sample.kind is MediaKind.VOICE,
                    file_name=sample.file_name or None,
                    caption=sample.caption or None,
                )
                received = await next_event(events, MessageReceived, stored_as(key.id), TIMEOUT)
                assert received.message.content_type is sample.content_type
                stored = await session.download_media(baileys_jid, key.id)
                assert stored.record.sha256 == sample.sha256
                assert stored.path.read_bytes() == sample.data
        assert baileys.errors == []
    finally:
        await baileys.close()
        await wamd.close()
