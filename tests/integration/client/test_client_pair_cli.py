"""``wamd pair``: the terminal QR (refreshed per ref) and the phone-code flow, end to end."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from pathlib import Path

from daemon.client.pair_cli import pair_session
from daemon.client.qr import QrPayload
from daemon.config import Config, StorageConfig, WhatsAppConfig
from sandbox.app import SandboxServer
from sandbox.connection import Connection as SandboxConnection
from sandbox.directory import Account
from sandbox.pairing import PairingFailed
from storage.sqlite import SqliteStore

UPPER_HALF, LOWER_HALF, FULL = "▀", "▄", "█"


def cli_config(sandbox: SandboxServer, state_dir: Path) -> Config:
    return Config(
        whatsapp=WhatsAppConfig(
            ws_url=sandbox.ws_url, root_public_key=sandbox.root_public_key.hex()
        ),
        storage=StorageConfig(state_dir=str(state_dir)),
    )


async def scan_when_shown(sandbox: SandboxServer, account: Account, db_path: Path) -> None:
    """Plays the person holding the phone: reads the QR's parts where a camera would see them
    (the refs on the sandbox's registration socket, the keys from the client's database)."""
    async with asyncio.timeout(10):
        while True:
            sockets = [s for s in sandbox.network.sockets if isinstance(s, SandboxConnection)]
            registering = [s.registration for s in sockets if s.registration is not None]
            if registering and registering[0].refs:
                break
            await asyncio.sleep(0.01)
    registration = registering[0]
    async with await SqliteStore.open(db_path) as store:
        credentials = await store.credentials.load("cli")
    assert credentials is not None
    qr = QrPayload(
        registration.refs[0],
        registration.noise_public,
        registration.identity_public,
        credentials.keys.adv_secret,
    )
    await sandbox.network.phones[account.phone_user].scan_qr(qr.to_string())


async def test_pair_prints_a_terminal_qr_and_returns_once_logged_in(
    sandbox: SandboxServer, account: Account, tmp_path: Path
) -> None:
    config = cli_config(sandbox, tmp_path / "state")
    out = io.StringIO()
    scanner = asyncio.create_task(scan_when_shown(sandbox, account, config.storage.database_path))
    code = await asyncio.wait_for(pair_session(config, "cli", None, out=out), 20)
    await scanner
    printed = out.getvalue()
    assert code == 0
    assert "Scan with WhatsApp > Linked devices (QR 1)." in printed
    assert any(block in printed for block in (UPPER_HALF, LOWER_HALF, FULL))
    assert f"Paired and logged in as {account.phone_user}:1@s.whatsapp.net" in printed
    assert "\x1b[2J" not in printed  # not a terminal: no screen clearing

    # Pairing again reports the paired identity instead of replacing it.
    again = io.StringIO()
    assert await pair_session(config, "cli", None, out=again) == 1


async def test_wamd_pair_with_phone_shows_the_code_and_exits_zero(
    sandbox: SandboxServer, account: Account, tmp_path: Path
) -> None:
    config_file = tmp_path / "wamd.toml"
    config_file.write_text(
        "[whatsapp]\n"
        f'ws_url = "{sandbox.ws_url}"\n'
        f'root_public_key = "{sandbox.root_public_key.hex()}"\n'
        "[storage]\n"
        f'state_dir = "{tmp_path / "state"}"\n'
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon.cli",
        "pair",
        "phone-session",
        "--phone",
        f"+{account.phone_user}",
        "--config",
        str(config_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        async for raw in process.stdout:
            line = raw.decode()
            lines.append(line)
            if line.startswith("Pairing code for"):
                code = line.rsplit(" ", 1)[1].strip()
                await sandbox.network.phones[account.phone_user].confirm_pair_code(code)
        assert await process.wait() == 0, lines
    assert any(line.startswith("Paired and logged in as") for line in lines)


async def test_pair_says_when_the_account_requires_a_passkey(
    sandbox: SandboxServer, account: Account, tmp_path: Path
) -> None:
    """No silent stall: the terminal says the account wants a passkey and what to do."""
    sandbox.network.passkeys.set(account.phone_user, True)
    config = cli_config(sandbox, tmp_path / "state")
    out = io.StringIO()

    async def scan() -> None:
        # The phone cannot finish the link: the service wants a passkey.
        with contextlib.suppress(PairingFailed):
            await scan_when_shown(sandbox, account, config.storage.database_path)

    scanner = asyncio.create_task(scan())
    code = await asyncio.wait_for(pair_session(config, "cli", None, out=out), 20)
    await scanner
    text = out.getvalue()
    assert code == 1
    assert "passkey_required:" in text and "Settings > Account > Passkeys" in text
    assert "Pairing ended (passkey_required)" in text
