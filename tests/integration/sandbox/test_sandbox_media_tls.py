"""The media host (upload with a checked token, download by direct path) and the TLS mode."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import aiohttp
from helpers import client_ssl_context, login, pair_directly

from daemon.binary import Node
from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig


def token_for(body: bytes, *, padded: bool) -> str:
    token = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()
    return token if padded else token.rstrip("=")


async def upload_and_download(server: SandboxServer, auth: str) -> None:
    body = b"\x00encrypted media blob" * 100
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(server) or False)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Baileys strips the base64 padding of the token, whatsmeow keeps it: both work.
        for padded in (False, True):
            token = token_for(body, padded=padded)
            url = f"{server.origin}/mms/image/{token}?auth={auth}&token={token}"
            async with session.post(
                url, data=body, headers={"Origin": "https://web.whatsapp.com"}
            ) as r:
                assert r.status == 200
                answer = await r.json()
            direct_path = answer["direct_path"]
            assert "?" in direct_path and answer["url"].startswith(server.origin)
            # whatsmeow appends its own query with '&'.
            async with session.get(
                f"{server.origin}{direct_path}&hash={token}&mms-type=image"
            ) as r:
                assert r.status == 200 and await r.read() == body
            async with session.get(answer["url"]) as r:
                assert await r.read() == body

        wrong = token_for(b"other", padded=False)
        async with session.post(
            f"{server.origin}/mms/image/{wrong}?auth={auth}&token={wrong}", data=body
        ) as r:
            assert r.status == 400
        token = token_for(body, padded=False)
        async with session.post(
            f"{server.origin}/mms/image/{token}?auth=nope&token={token}", data=body
        ) as r:
            assert r.status == 401
        async with session.get(f"{server.origin}/v/t62.7118-24/{'0' * 32}.enc?ccb=1") as r:
            assert r.status == 404


async def media_auth(server: SandboxServer) -> str:
    account = await server.network.create_account("15550040001")
    companion = await pair_directly(server, account)
    client = await login(server, companion)
    answer = await client.iq("w:m", "set", [Node("media_conn")])
    await client.close()
    return answer.child("media_conn").attr_str("auth") or ""  # type: ignore[union-attr]


async def test_media_upload_and_download(bare_sandbox: SandboxServer) -> None:
    await upload_and_download(bare_sandbox, await media_auth(bare_sandbox))


async def test_tls_serves_wss_and_https_with_the_kept_certificate(tmp_path: Path) -> None:
    config = SandboxConfig(state_dir=tmp_path / "tls-state", tls=True)
    async with SandboxServer(config, use_default_phone=False) as server:
        assert server.ws_url.startswith("wss://127.0.0.1:") and server.ws_url.endswith("/ws/chat")
        await upload_and_download(server, await media_auth(server))
        certificate = (tmp_path / "tls-state" / "tls.crt").read_bytes()
    async with SandboxServer(config, use_default_phone=False) as server:
        assert (tmp_path / "tls-state" / "tls.crt").read_bytes() == certificate
        account = server.network.directory.account("15550040001")
        assert [d.device_id for d in server.network.directory.devices(account.phone_user)] == [0, 1]
