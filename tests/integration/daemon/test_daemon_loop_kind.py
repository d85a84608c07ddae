"""A real daemon process reports the loop it runs on: uvloop unless configured otherwise."""

from __future__ import annotations

from daemon_harness import DaemonFactory, create_account, pair

from sandbox.app import SandboxServer


async def test_the_daemon_runs_on_uvloop_by_default_and_on_asyncio_when_asked(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, "15550001111", "Alice")
    daemon = await daemon_factory()
    assert daemon.matching("daemon.ready")[0]["event_loop"] == "uvloop"
    await pair(daemon.api(), sandbox, "alice", "15550001111")
    assert await daemon.stop() == 0
    again = await daemon_factory(runtime={"event_loop": "asyncio"})
    assert again.matching("daemon.ready")[0]["event_loop"] == "asyncio"
    # The stored session logs in again on the standard library's loop.
    health = await again.api().wait_for("/health", lambda h: h["sessions"]["connected"] == 1)
    assert health["status"] == "ok"
