"""``wamd demo``: a sandbox and a daemon in one process, with one session already paired.

Nothing here reaches WhatsApp: a local sandbox plays the server and a simulated phone (which
answers every text with ``echo: …``). The daemon runs exactly as ``wamd run`` would, against the
sandbox, and the session is paired through the daemon's own HTTP API (create, pair, the owner's
sandbox phone scans the QR), so what a newcomer sees is the real thing. A second sandbox account,
the "friend", answers every text with ``echo: …``. State is kept in ``--state-dir``: a
second run finds the session paired and connects it.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import sys
from pathlib import Path
from typing import TextIO

import aiohttp

from daemon.config import (
    Config,
    HttpConfig,
    LogConfig,
    ManagerConfig,
    StorageConfig,
    WhatsAppConfig,
)
from daemon.service import Daemon, start_daemon
from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.directory import Account

DEMO_SESSION = "demo"
OWNER_NUMBER = "15550100001"
"""The account the demo session is a linked device of (its sandbox phone scans the QR)."""
FRIEND_NUMBER = "15550100002"
"""Another account whose sandbox phone answers every text with ``echo: …``."""
CONNECT_TIMEOUT_S = 30.0


async def _account(sandbox: SandboxServer, number: str, name: str) -> Account:
    found = sandbox.network.directory.find_account(number)
    if found is not None:
        return found
    return await sandbox.network.create_account(number, push_name=name)


def demo_config(sandbox: SandboxServer, state_dir: Path, port: int, api_key: str) -> Config:
    return Config(
        whatsapp=WhatsAppConfig(
            ws_url=sandbox.ws_url,
            root_public_key=sandbox.root_public_key.hex(),
            push_name="wamd demo",
        ),
        storage=StorageConfig(state_dir=str(state_dir)),
        http=HttpConfig(host="127.0.0.1", port=port, api_key=api_key),
        log=LogConfig(),
        manager=ManagerConfig(),
    )


async def _api(
    http: aiohttp.ClientSession, daemon: Daemon, method: str, path: str
) -> tuple[int, dict[str, object]]:
    async with http.request(method, daemon.url + path) as response:
        payload = await response.json(content_type=None)
        return response.status, payload if isinstance(payload, dict) else {}


async def pair_demo_session(daemon: Daemon, sandbox: SandboxServer, account: Account) -> str:
    """Creates and pairs the demo session through the HTTP API; returns its status."""
    key = daemon.config.http.api_key
    async with aiohttp.ClientSession(headers={"x-api-key": key}) as http:
        status, session = await _api(http, daemon, "GET", f"/sessions/{DEMO_SESSION}")
        if status == 404:
            await http.post(
                daemon.url + "/sessions", json={"id": DEMO_SESSION, "name": "demo session"}
            )
            status, session = await _api(http, daemon, "GET", f"/sessions/{DEMO_SESSION}")
        if session.get("phoneNumber") is None:
            _status, qr = await _api(http, daemon, "POST", f"/sessions/{DEMO_SESSION}/pair")
            code = qr.get("qr")
            if not isinstance(code, str):
                raise RuntimeError(f"no QR from the daemon: {qr}")
            await sandbox.network.phones[account.phone_user].scan_qr(code)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_TIMEOUT_S
        while loop.time() < deadline:
            _status, session = await _api(http, daemon, "GET", f"/sessions/{DEMO_SESSION}")
            if session.get("status") == "connected":
                return "connected"
            await asyncio.sleep(0.2)
        return str(session.get("status"))


def banner(
    daemon: Daemon,
    sandbox_admin: str,
    owner: Account,
    friend: Account,
    status: str,
    out: TextIO,
) -> None:
    key = daemon.config.http.api_key
    url = daemon.url
    out.write(
        f"""
wamd demo — a daemon and a local WhatsApp sandbox, nothing leaves this machine.

  API          {url}        (OpenAPI: {url}/openapi.json)
  console      {url}/        (sign in with the admin key)
  admin key    {key}
  session      {DEMO_SESSION} ({status}), a linked device of the sandbox account +{owner.phone_user}
  friend       +{friend.phone_user}, a sandbox phone that answers every text with "echo: <text>"

Try:
  curl -s {url}/health
  curl -s -H 'x-api-key: {key}' {url}/sessions/{DEMO_SESSION}
  curl -s -H 'x-api-key: {key}' -H 'content-type: application/json' \\
       -d '{{"to": "+{friend.phone_user}", "text": "hello"}}' \\
       {url}/sessions/{DEMO_SESSION}/messages
  curl -sN -H 'x-api-key: {key}' -H 'accept: text/event-stream' \\
       {url}/sessions/{DEMO_SESSION}/events

Be the phones (the sandbox's admin API, {sandbox_admin}):
  # the friend writes to the demo session
  curl -s -H 'content-type: application/json' -d '{{"to": "+{owner.phone_user}", "text": "hi"}}' \\
       {sandbox_admin}/accounts/{friend.phone_user}/messages
  # what the friend's phone received
  curl -s {sandbox_admin}/accounts/{friend.phone_user}/messages
  # link a second session: print its QR payload...
  wamd pair second --url {url} --api-key {key} --print-payload
  # ...and scan that payload with the owner's phone
  curl -s -H 'content-type: application/json' -d '{{"qr": "<the payload>"}}' \\
       {sandbox_admin}/accounts/{owner.phone_user}/scan-qr

Ctrl-C stops both.
"""
    )
    out.flush()


async def run_demo(state_dir: Path, port: int, out: TextIO = sys.stdout) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    key_file = state_dir / "demo-api-key"
    if key_file.exists():
        api_key = key_file.read_text(encoding="utf-8").strip()
    else:
        api_key = "demo_" + secrets.token_urlsafe(24)
        key_file.write_text(api_key + "\n", encoding="utf-8")
        key_file.chmod(0o600)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with SandboxServer(SandboxConfig(state_dir=state_dir / "sandbox")) as sandbox:
        owner = await _account(sandbox, OWNER_NUMBER, "Demo Owner")
        friend = await _account(sandbox, FRIEND_NUMBER, "Demo Friend")
        phone = sandbox.network.phones.get(friend.phone_user)
        if phone is not None:
            phone.auto_reply = True
        daemon = await start_daemon(demo_config(sandbox, state_dir / "daemon", port, api_key))
        try:
            status = await pair_demo_session(daemon, sandbox, owner)
            banner(daemon, sandbox.admin_url, owner, friend, status, out)
            await stop.wait()
        finally:
            await daemon.stop()
    return 0


__all__ = ["DEMO_SESSION", "demo_config", "pair_demo_session", "run_demo"]
