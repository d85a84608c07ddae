"""Start-up at scale with a real daemon and the sandbox: after a restart, 40 paired sessions
all connect, and the sandbox's record of their logins never shows more in any window than the
pacer allows.

The sandbox records a login before it answers ``<success>``, and the daemon counts a connect as
under way until it reads that answer, so every login recorded in a window ``[a, a + T]``
belongs to a connect under way at ``a`` (at most ``max_concurrent``) or started after ``a``
(at most ``burst + rate * T``). That bound holds however late handshakes are delivered on a busy
machine; unpaced, the 40 logins land within a second or two."""

from __future__ import annotations

import asyncio
import time

from daemon_harness import DaemonFactory, admin, create_account, pair

from daemon.startup_pacing import StartupRate, most_in_any_window
from sandbox.app import SandboxServer

SESSIONS = 40
RATE = StartupRate(connects_per_s=5.0, burst=2, max_concurrent=4, jitter=0.5)
PAIRING_CONCURRENCY = 8


async def test_a_restart_connects_every_session_at_the_configured_rate(
    sandbox: SandboxServer, daemon_factory: DaemonFactory
) -> None:
    phones = [f"1555009{index:04d}" for index in range(SESSIONS)]
    for index, phone in enumerate(phones):
        await create_account(sandbox, phone, f"Start {index}")
    daemon = await daemon_factory()
    api = daemon.api()
    gate = asyncio.Semaphore(PAIRING_CONCURRENCY)

    async def pair_one(index: int) -> None:
        async with gate:
            await pair(api, sandbox, f"s{index:02d}", phones[index])

    async with asyncio.TaskGroup() as group:
        for index in range(SESSIONS):
            group.create_task(pair_one(index))
    sessions = (await api.call("GET", "/sessions")).body["sessions"]
    devices = {session["jid"] for session in sessions}
    assert len(devices) == SESSIONS
    assert await daemon.stop() == 0

    restarted_at = time.time()
    paced = {
        "startup_connects_per_s": RATE.connects_per_s,
        "startup_burst": RATE.burst,
        "startup_max_concurrent": RATE.max_concurrent,
        "startup_jitter": RATE.jitter,
    }
    restarted = await daemon_factory(manager=paced)
    api = restarted.api()
    await api.wait_for(
        "/health", lambda health: health["sessions"]["connected"] == SESSIONS, timeout=120.0
    )
    started = restarted.matching("manager.started")[0]
    assert started["auto_connecting"] == SESSIONS and started["connects_per_s"] == 5.0

    logins = (await admin(sandbox, "GET", f"/logins?since={restarted_at}"))["logins"]
    assert {login["device"] for login in logins} == devices
    times = [login["at"] for login in logins]
    for window in (1.0, 4.0):  # at most 11 in a second, 26 in four
        assert most_in_any_window(times, window) <= RATE.max_starts_in(window) + RATE.max_concurrent
