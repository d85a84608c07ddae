"""``wamd sandbox``: prints where it listens and the root key, writes root.pub, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp


async def test_wamd_sandbox_subcommand(tmp_path: Path) -> None:
    state = tmp_path / "cli-state"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon.cli",
        "sandbox",
        "--state-dir",
        str(state),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    printed: dict[str, str] = {}
    try:
        async with asyncio.timeout(20):
            while "root" not in printed:
                line = (await process.stdout.readline()).decode()
                assert line, "wamd sandbox exited early"
                key, _, value = line.partition(":")
                if key in ("ws", "admin", "root") and value.startswith(" "):
                    printed[key] = value.strip()
        assert printed["ws"].startswith("ws://127.0.0.1:") and printed["ws"].endswith("/ws/chat")
        assert (state / "root.pub").read_text().strip() == printed["root"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(printed["admin"] + "/info") as response,
        ):
            info = await response.json()
        assert info["root_public_key"] == printed["root"]
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
