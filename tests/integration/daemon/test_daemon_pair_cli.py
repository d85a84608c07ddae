"""``wamd pair`` beside a running daemon goes through the daemon's API: the session is
created, paired and listed by the daemon itself, and a live session is left alone.
``--print-payload`` prints the QR payload string a script (here: the sandbox phone) scans.
Where the daemon cannot be reached, the CLI refuses instead of writing its database."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from urllib.parse import urlsplit

from daemon_harness import ADMIN_KEY, REPO, DaemonFactory, admin, create_account, paired_daemon

from sandbox.app import SandboxServer

ALICE = "15550001111"
BOB = "15550002222"
CAROL = "15550003333"


async def test_pair_beside_a_running_daemon_goes_through_its_api(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    paired = await paired_daemon(daemon_factory, sandbox, ALICE, contacts=(BOB,))
    daemon, api = paired.daemon, paired.api

    # The same configuration the daemon runs with, naming the port it listens on: the CLI
    # finds the daemon by itself (no --url).
    port = urlsplit(daemon.url).port
    config = daemon.config_path.with_name("cli.toml")
    text = daemon.config_path.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^port = 0$", f"port = {port}", text), encoding="utf-8")

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon.cli",
        "pair",
        "bob",
        "--config",
        str(config),
        "--print-payload",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            payload = (await process.stdout.readline()).decode().strip()
        # The payload alone, not a drawing: ref, noise key, identity key, adv secret...
        assert "," in payload and "\u2580" not in payload and " " not in payload, payload
        await admin(sandbox, "POST", f"/accounts/{BOB}/scan-qr", {"qr": payload})
        async with asyncio.timeout(30):
            rest, errors = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, (rest, errors)

    # Where the daemon does not answer (its file names port 0), the CLI does not write the
    # database the daemon owns: it refuses, naming the daemon's URL. So does a second daemon.
    for argv in (["pair", "dave"], ["run"]):
        refused = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "daemon.cli",
            *argv,
            "--config",
            str(daemon.config_path),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            _out, why = await refused.communicate()
        assert refused.returncode in (1, 2), (argv, why)
        assert f"pid {daemon.pid}" in why.decode() and daemon.url in why.decode(), why

    # By phone number, with --url: the code alone is printed, typed on the phone.
    await create_account(sandbox, CAROL, "Carol")
    by_code = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon.cli",
        "pair",
        "carol",
        "--url",
        daemon.url,
        "--api-key",
        ADMIN_KEY,
        "--phone",
        f"+{CAROL}",
        "--print-payload",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert by_code.stdout is not None
    async with asyncio.timeout(30):
        code = (await by_code.stdout.readline()).decode().strip()
        assert len(code) == 9 and code[4] == "-", code
        await admin(sandbox, "POST", f"/accounts/{CAROL}/pair-code", {"code": code})
        await by_code.wait()
    assert by_code.returncode == 0

    listed = {s["id"]: s for s in (await api.call("GET", "/sessions")).body["sessions"]}
    assert {sid: s["status"] for sid, s in listed.items()} == {
        "alice": "connected",
        "bob": "connected",
        "carol": "connected",
    }
    with sqlite3.connect(str(daemon.database)) as db:
        stored = dict(db.execute("SELECT id, status FROM sessions").fetchall())
    assert stored == {"alice": "connected", "bob": "connected", "carol": "connected"}
    assert await daemon.stop() == 0
