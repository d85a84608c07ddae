"""``wamd demo`` as a newcomer runs it: the banner names the API, the key and the sandbox's
admin URL, and the phone commands it prints work as printed (the friend writes to the demo
session; ``wamd pair --print-payload`` plus a scan links a second session)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import signal
import sys
from pathlib import Path

import aiohttp
from daemon_harness import REPO

FRIEND = "15550100002"


async def read_banner(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(60):
        while not lines or "Ctrl-C stops both." not in lines[-1]:
            line = await process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line.decode())
    return "".join(lines)


def command_after(banner: str, comment: str) -> str:
    """The (possibly continued) command printed under ``# comment``."""
    lines = banner.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# {comment}") + 1
    parts = []
    for line in lines[start:]:
        parts.append(line.strip().removesuffix("\\").strip())
        if not line.rstrip().endswith("\\"):
            break
    return " ".join(parts)


async def curl(command: str) -> str:
    """Does what a printed ``curl -s [-H ...] [-d ...] URL`` line does (with aiohttp, so the
    test needs no curl binary): POST with the data when ``-d`` is given, else GET."""
    argv = shlex.split(command)
    assert argv[0] == "curl", command
    headers: dict[str, str] = {}
    data: str | None = None
    url = ""
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            data = next(rest)
        elif arg.startswith("http"):
            url = arg
    async with (
        aiohttp.ClientSession() as http,
        http.request("POST" if data else "GET", url, data=data, headers=headers) as response,
    ):
        assert response.status < 300, (command, await response.text())
        return await response.text()


async def test_demo_prints_the_sandbox_admin_url_and_working_phone_commands(
    tmp_path: Path,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon.cli",
        "demo",
        "--state-dir",
        str(tmp_path / "demo"),
        "--port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        banner = await read_banner(process)
        url = re.search(r"API\s+(http://\S+)", banner)
        key = re.search(r"admin key\s+(\S+)", banner)
        sandbox_admin = re.search(r"sandbox's admin API, (http://\S+)\):", banner)
        assert url and key and sandbox_admin, banner
        api, headers = url.group(1), {"x-api-key": key.group(1)}

        await curl(command_after(banner, "the friend writes to the demo session"))
        async with aiohttp.ClientSession(headers=headers) as http:
            path = f"{api}/sessions/demo/chats/{FRIEND}@s.whatsapp.net/messages"
            async with asyncio.timeout(20):
                while True:
                    async with http.get(path) as response:
                        messages = (await response.json())["messages"]
                    if any(m["text"] == "hi" and not m["fromMe"] for m in messages):
                        break
                    await asyncio.sleep(0.2)
        assert (await curl(command_after(banner, "what the friend's phone received"))).startswith(
            "["
        )

        # Link a second session with the printed commands.
        argv = shlex.split(command_after(banner, "link a second session: print its QR payload..."))
        assert argv[0] == "wamd"
        pairing = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "daemon.cli", *argv[1:], cwd=REPO, stdout=asyncio.subprocess.PIPE
        )
        assert pairing.stdout is not None
        async with asyncio.timeout(20):
            payload = (await pairing.stdout.readline()).decode().strip()
        scan = command_after(banner, "...and scan that payload with the owner's phone")
        await curl(scan.replace("<the payload>", payload))
        async with asyncio.timeout(30):
            await pairing.wait()
        assert pairing.returncode == 0
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(20):
                    await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0
