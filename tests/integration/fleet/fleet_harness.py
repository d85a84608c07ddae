"""Several real ``wamd run`` processes on one PostgreSQL database and one sandbox.

Each daemon has its own state directory and API port and a fleet heartbeat short enough for
tests (leases expire a few seconds after a daemon stops renewing them). What the fleet did is
read from three places: the daemons' APIs (any daemon answers for every session), the sandbox
(what phones received, every login), and the database itself (leases, stored messages,
events), through a direct connection.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

_DAEMON_TESTS = str(Path(__file__).resolve().parents[1] / "daemon")
if _DAEMON_TESTS not in sys.path:
    sys.path.insert(0, _DAEMON_TESTS)

from daemon_harness import Api, DaemonProcess, admin, create_account  # noqa: E402

from daemon.fleet.roles import is_role  # noqa: E402
from sandbox.app import SandboxServer  # noqa: E402

__all__ = [
    "CUSTOMER",
    "LEASE_TTL_S",
    "Fleet",
    "admin",
    "counts",
    "create_account",
    "customer_sends",
    "eventually_equal",
    "pair_sessions",
    "session_phone",
    "wait_until",
]

HEARTBEAT_S = 0.5
LEASE_TTL_S = 3.0
CUSTOMER = "15559990000"

FLEET_SETTINGS: dict[str, dict[str, Any]] = {
    "fleet": {"heartbeat_s": HEARTBEAT_S, "lease_ttl_s": LEASE_TTL_S, "handoffs_per_round": 2},
}


def session_phone(index: int) -> str:
    return f"1555100{index:04d}"


@dataclass
class Fleet:
    sandbox: SandboxServer
    root: Path
    url: str
    settings: dict[str, Any] = field(default_factory=lambda: dict(FLEET_SETTINGS["fleet"]))
    """The ``[fleet]`` settings of every daemon (short test timings by default)."""
    daemons: dict[str, DaemonProcess] = field(default_factory=dict)

    async def start(self, name: str) -> DaemonProcess:
        overrides = {"fleet": {**self.settings, "node_id": name}}
        daemon = DaemonProcess(
            self.sandbox, self.root / name, overrides, {"WAMD_STORAGE_URL": self.url}
        )
        await daemon.start()
        self.daemons[name] = daemon
        return daemon

    def api(self, name: str) -> Api:
        return self.daemons[name].api()

    async def owners(self) -> dict[str, str]:
        """Session -> daemon, from the live leases (roles left out)."""
        conn = await asyncpg.connect(self.url)
        try:
            rows = await conn.fetch(
                "SELECT resource, owner FROM leases WHERE owner IS NOT NULL "
                "AND expires_at > CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
            )
        finally:
            await conn.close()
        return {
            str(r["resource"]): str(r["owner"]) for r in rows if not is_role(str(r["resource"]))
        }

    async def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def wait_owners(
        self, predicate: Any, *, timeout: float = 60.0, interval: float = 0.25
    ) -> dict[str, str]:
        last: dict[str, str] = {}
        try:
            async with asyncio.timeout(timeout):
                while True:
                    last = await self.owners()
                    if predicate(last):
                        return last
                    await asyncio.sleep(interval)
        except TimeoutError:
            raise AssertionError(f"the leases never settled as expected: {last}") from None

    def report(self) -> None:
        """Prints each daemon's warnings, errors and fleet moves (pytest shows them when a
        test fails)."""
        for name, daemon in self.daemons.items():
            for entry in daemon.logs:
                event = str(entry.get("event", ""))
                if entry.get("level") in ("warning", "error", "critical") or event.startswith(
                    ("fleet.", "manager.session_")
                ):
                    print(name, {k: v for k, v in entry.items() if k != "timestamp"})

    async def stop_all(self) -> None:
        for daemon in self.daemons.values():
            if daemon.process is not None and daemon.process.returncode is None:
                await daemon.kill()


def counts(owners: dict[str, str], names: list[str]) -> dict[str, int]:
    return {name: sum(1 for owner in owners.values() if owner == name) for name in names}


async def pair_sessions(api: Api, sandbox: SandboxServer, count: int) -> list[str]:
    """Creates and pairs ``count`` sessions through one daemon's API, a few at a time (each
    scanned by its own sandbox phone); returns their ids."""
    gate = asyncio.Semaphore(6)

    async def one(index: int) -> str:
        session_id = f"s{index:02d}"
        phone = session_phone(index)
        async with gate:
            await create_account(sandbox, phone, f"Shop {index}")
            created = await api.call("POST", "/sessions", {"id": session_id, "name": session_id})
            assert created.status == 201, created.body
            qr = await api.call("POST", f"/sessions/{session_id}/pair")
            assert qr.status == 200, qr.body
            await admin(sandbox, "POST", f"/accounts/{phone}/scan-qr", {"qr": qr.body["qr"]})
            await api.wait_for(
                f"/sessions/{session_id}", lambda s: s["status"] == "connected", timeout=60
            )
        return session_id

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def customer_sends(sandbox: SandboxServer, index: int, text: str) -> None:
    await admin(
        sandbox,
        "POST",
        f"/accounts/{CUSTOMER}/messages",
        {"to": session_phone(index), "text": text},
    )


async def eventually_equal(read: Any, expected: Any, *, timeout: float) -> None:
    """Waits until ``await read()`` equals ``expected``; fails showing the last difference."""
    deadline = time.monotonic() + timeout
    while True:
        got = await read()
        if got == expected:
            return
        if time.monotonic() > deadline:
            if isinstance(got, Counter) and isinstance(expected, Counter):
                raise AssertionError(
                    f"missing {dict(expected - got)}, unexpected {dict(got - expected)}"
                )
            assert got == expected
        await asyncio.sleep(0.25)


async def wait_until(check: Any, *, timeout: float, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(interval)
