"""The daemon against a ``--tls`` sandbox the way production runs: ``wss://`` and ``https://``
with certificate verification on. Trusting the sandbox's ``tls.crt`` through
``whatsapp.ca_file`` (or ``SSL_CERT_FILE``), it pairs, sends, uploads and downloads media; a
certificate it does not trust is a clear connect error, never an internal error or a downgrade.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, admin, create_account, pair
from test_daemon_media_send import png_bytes, upload

from sandbox.app import SandboxServer
from sandbox.certs import TLS_CERT_FILE, load_or_create_tls
from sandbox.config import SandboxConfig

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"
PHOTO = b"\xff\xd8\xff\xe0 a photo over https " * 300
IMAGE = png_bytes((20, 120, 40))


@pytest.fixture
async def tls_sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(SandboxConfig(state_dir=tmp_path / "sandbox", tls=True)) as server:
        yield server


@pytest.fixture
async def daemons() -> AsyncIterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for process in started:
        if process.process is not None and process.process.returncode is None:
            await process.kill()


async def start(
    started: list[DaemonProcess],
    sandbox: SandboxServer,
    state_dir: Path,
    ca_file: Path | None,
    environ: dict[str, str] | None = None,
) -> DaemonProcess:
    overrides: dict[str, dict[str, Any]] = {}
    if ca_file is not None:
        overrides["whatsapp"] = {"ca_file": str(ca_file)}
    process = DaemonProcess(sandbox, state_dir, overrides, environ or {})
    started.append(process)
    await process.start()
    return process


async def test_pair_message_and_media_over_verified_tls(
    tls_sandbox: SandboxServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    sandbox = tls_sandbox
    assert sandbox.ws_url.startswith("wss://")
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    daemon = await start(daemons, sandbox, tmp_path / "daemon", sandbox.state_dir / TLS_CERT_FILE)
    api = daemon.api()
    await pair(api, sandbox, "shop", OWNER)

    sent = await api.call("POST", "/sessions/shop/messages", {"to": FRIEND, "text": "hello"})
    assert sent.status == 202
    await api.wait_for(
        f"/sessions/shop/messages/{sent.body['id']}",
        lambda m: m["status"] in ("sent", "delivered", "read"),
    )
    got = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
    assert [m["id"] for m in got if m.get("text") == "hello"] == [sent.body["id"]]

    # A photo to the friend: the daemon uploads it to the media host over https.
    status, accepted = await upload(daemon.url, {"to": FRIEND, "type": "image"}, IMAGE, "a.png")
    assert status == 202, accepted
    await api.wait_for(
        f"/sessions/shop/messages/{accepted['id']}",
        lambda m: m["status"] in ("sent", "delivered", "read"),
    )
    got = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
    (photo,) = [m for m in got if m["id"] == accepted["id"]]
    assert photo["media"]["sha256"] == hashlib.sha256(IMAGE).hexdigest(), photo

    # The friend's photo: the daemon stores the message, then downloads the file over https.
    media = {
        "type": "image",
        "mimetype": "image/jpeg",
        "data_base64": base64.b64encode(PHOTO).decode(),
    }
    answer = await admin(
        sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "media": media}
    )
    photo_id = answer["id"]
    await api.wait_for(
        f"/sessions/shop/chats/{FRIEND_JID}/messages",
        lambda page: any(m["id"] == photo_id for m in page["messages"]),
    )
    download = await api.call("GET", f"/sessions/shop/messages/{photo_id}/media?chat={FRIEND_JID}")
    assert download.status == 200, download.body
    assert hashlib.sha256(download.body).digest() == hashlib.sha256(PHOTO).digest()
    assert await daemon.stop() == 0


async def connect_error(daemon: DaemonProcess) -> str:
    """Starts pairing and returns the session's lastError once the connect failed."""
    api = daemon.api()
    created = await api.call("POST", "/sessions", {"id": "shop", "name": "shop"})
    assert created.status == 201, created.body
    pairing = await api.call("POST", "/sessions/shop/pair?wait=1")
    assert pairing.status == 202, pairing.body
    session = await api.wait_for("/sessions/shop", lambda s: bool(s["lastError"]))
    error = str(session["lastError"])
    assert session["status"] in ("pairing", "backing_off"), session
    return error


@pytest.mark.parametrize("trust", ["system store", "another CA"])
async def test_an_untrusted_certificate_is_a_clear_connect_error(
    tls_sandbox: SandboxServer, daemons: list[DaemonProcess], tmp_path: Path, trust: str
) -> None:
    ca_file: Path | None = None
    if trust == "another CA":
        (tmp_path / "other-ca").mkdir()
        load_or_create_tls(tmp_path / "other-ca", "127.0.0.1")
        ca_file = tmp_path / "other-ca" / TLS_CERT_FILE
    daemon = await start(daemons, tls_sandbox, tmp_path / "daemon", ca_file)
    error = await connect_error(daemon)
    assert "TLS certificate" in error and "not trusted" in error, error
    decisions = daemon.matching("client.disconnect_decision")
    assert decisions and all("not trusted" in e["reason"] for e in decisions), decisions
    assert not [e for e in daemon.logs if "internal error" in str(e)]
    assert not daemon.matching("client.supervisor_crashed")
    assert await daemon.stop() == 0


async def test_the_system_store_honours_ssl_cert_file(
    tls_sandbox: SandboxServer, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    await create_account(tls_sandbox, OWNER, "Owner")
    environ = {"SSL_CERT_FILE": str(tls_sandbox.state_dir / TLS_CERT_FILE)}
    daemon = await start(daemons, tls_sandbox, tmp_path / "daemon", None, environ)
    await pair(daemon.api(), tls_sandbox, "shop", OWNER)
    assert await daemon.stop() == 0
