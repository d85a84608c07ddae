"""The Baileys harness itself: the driver is the real npm client, and the Python side drives it.

These need no sandbox: a local websocket server stands in for the server side just long enough to
see what Baileys puts on the wire first."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from baileys_client import (
    BAILEYS_VERSION,
    BaileysClient,
    BaileysCommandError,
    ConnectionEvent,
    DisconnectReason,
    NodeSetup,
    post_scan_qr,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers

WA_ROOT_KEY = bytes.fromhex("142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b")
NOISE_WA_HEADER = bytes([0x57, 0x41, 0x06, 0x03])
UNUSED_URL = "ws://127.0.0.1:9/ws/chat"


async def test_driver_swaps_root_key_and_ends_cleanly(
    baileys_node: NodeSetup, baileys_auth_dir: Path
) -> None:
    sandbox_root = os.urandom(32)
    client = BaileysClient(
        ws_url=UNUSED_URL, auth_dir=baileys_auth_dir, root_key=sandbox_root, node=baileys_node.node
    )
    async with client as bc:
        assert bc.ready is not None
        assert bc.ready.raw["baileys"] == BAILEYS_VERSION
        assert await bc.get_root_key() == sandbox_root
        version = await bc.command("version")
        assert version["baileys"] == BAILEYS_VERSION
        assert await bc.me() is None
        code = await bc.end()
    assert code == 0
    kinds = [str(e.kind) for e in client.events]
    assert kinds == ["ready", "exit"]
    assert client.errors == []


async def test_driver_without_root_key_keeps_whatsapp_root(
    baileys_node: NodeSetup, baileys_auth_dir: Path
) -> None:
    async with BaileysClient(
        ws_url=UNUSED_URL, auth_dir=baileys_auth_dir, node=baileys_node.node
    ) as bc:
        assert await bc.get_root_key() == WA_ROOT_KEY


async def test_driver_rejects_bad_commands_with_clear_errors(
    baileys_node: NodeSetup, baileys_auth_dir: Path
) -> None:
    async with BaileysClient(
        ws_url=UNUSED_URL, auth_dir=baileys_auth_dir, node=baileys_node.node
    ) as bc:
        failures: dict[str, Callable[[], Awaitable[object]]] = {
            "send_text": lambda: bc.send_text("15550001111@s.whatsapp.net", "hi"),
            "connect": lambda: bc.connect(qrTimeoutTypo=5),
            "group_send": lambda: bc.group_send("15550001111@s.whatsapp.net", "hi"),
            "frobnicate": lambda: bc.command("frobnicate"),
        }
        messages = {}
        for name, call in failures.items():
            try:
                await call()
            except BaileysCommandError as err:
                messages[name] = err.error
            else:
                raise AssertionError(f"{name} unexpectedly succeeded")
        assert "not connected" in messages["send_text"]
        assert "qrTimeoutTypo" in messages["connect"]
        assert "not a group jid" in messages["group_send"]
        assert "unknown command" in messages["frobnicate"]
        # the driver is still alive and answering
        assert len(await bc.get_root_key()) == 32
    assert bc.returncode == 0


def _self_signed_tls(directory: Path) -> ssl.SSLContext:
    """A server context with a throwaway certificate for 127.0.0.1, as the sandbox will use."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wamd interop test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.mark.parametrize("scheme", ["ws", "wss"])
async def test_connect_opens_ws_chat_and_sends_noise_client_hello(
    baileys_node: NodeSetup, baileys_auth_dir: Path, tmp_path: Path, scheme: str
) -> None:
    loop = asyncio.get_running_loop()
    upgrade: asyncio.Future[tuple[str, Headers]] = loop.create_future()
    first_frame: asyncio.Future[bytes] = loop.create_future()

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        if not upgrade.done():
            upgrade.set_result((ws.request.path, ws.request.headers))
        frame = await ws.recv()
        if not first_frame.done():
            first_frame.set_result(frame if isinstance(frame, bytes) else frame.encode())
        await ws.wait_closed()

    tls = _self_signed_tls(tmp_path) if scheme == "wss" else None
    async with serve(handler, "127.0.0.1", 0, ssl=tls) as server:
        port = server.sockets[0].getsockname()[1]
        async with BaileysClient(
            ws_url=f"{scheme}://127.0.0.1:{port}/ws/chat",
            auth_dir=baileys_auth_dir,
            root_key=os.urandom(32),
            node=baileys_node.node,
        ) as bc:
            start = bc.mark()
            await bc.connect(connectTimeoutMs=10_000)
            path, headers = await asyncio.wait_for(upgrade, 10)
            frame = await asyncio.wait_for(first_frame, 10)

            assert path == "/ws/chat"
            assert headers["Origin"] == "https://web.whatsapp.com"

            # intro, then one length-prefixed HandshakeMessage{clientHello{ephemeral}}
            assert frame[:4] == NOISE_WA_HEADER
            length = int.from_bytes(frame[4:7], "big")
            body = frame[7:]
            assert length == len(body)
            assert body[0] == 0x12  # field 2 (clientHello), length-delimited
            assert body[1] == len(body) - 2  # one-byte varint: the hello is all that follows
            hello = body[2:]
            assert hello[:2] == bytes([0x0A, 0x20])  # field 1 (ephemeral), 32 bytes
            ephemeral = hello[2:]
            assert len(ephemeral) == 32
            assert ephemeral != bytes(32)

            server.close()
            await server.wait_closed()
            closed = await bc.wait_close(15, since=start)
            assert closed.status == DisconnectReason.CONNECTION_CLOSED
            assert closed.status_name == "connectionClosed"

            states = [
                e.connection
                for e in bc.events[start:]
                if isinstance(e, ConnectionEvent) and e.connection
            ]
            assert states[0] == "connecting"
            assert states[-1] == "close"
            assert bc.errors == []
            assert await bc.me() is None


async def test_post_scan_qr_sends_the_qr_as_the_body() -> None:
    received: list[tuple[str, str, bytes]] = []

    async def scan(request: web.Request) -> web.Response:
        received.append((request.method, request.path, await request.read()))
        return web.Response(text="scanned")

    app = web.Application()
    app.router.add_post("/admin/mock-phone/scan-qr", scan)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        qr = "2@REF,bm9pc2U=,aWRlbnRpdHk=,YWR2,1"
        body = await post_scan_qr(f"http://127.0.0.1:{port}/", qr)
        assert body == "scanned"
        assert received == [("POST", "/admin/mock-phone/scan-qr", qr.encode())]
    finally:
        await runner.cleanup()
