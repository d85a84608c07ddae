"""The two fleets bench/vs_baileys_sessions.py compares: many sessions in one process each.

- WamdFleet: one real ``wamd run`` process; sessions w0..wN-1 paired through its HTTP API (the
  sandbox phone of a fresh account scans the QR); a drain counts rows committed before the ack.
- BaileysFleet: one ``node --expose-gc`` process of unmodified Baileys sockets
  (bench/baileys_peer/many.mjs), a standard multi-file auth state each, paired from their ``qr``
  events; a drain counts ``messages.upsert``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from daemon_harness import ADMIN_KEY, DaemonProcess, merged

ROOT = Path(__file__).resolve().parent.parent
MANY = ROOT / "bench" / "baileys_peer" / "many.mjs"
CAROL = "15550003333"
PAIR_CONCURRENCY = 8
PHONE_SEND_CONCURRENCY = 8
SETTLE_S = 10.0
READINGS, READING_GAP_S = 3, 2.0
"""RSS is the least of a few readings after the settle period: V8 gives pages back lazily."""
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Production timings (keepalive every 20-30 s, as an idle session really runs; sessions
# connecting 2 s apart on start, the default) and a send rate the ban-safety limiter does not
# hold back.
FLEET_SETTINGS: dict[str, dict[str, Any]] = {
    "whatsapp": {"connect_timeout_s": 30.0, "iq_timeout_s": 30.0},
    "client": {"keepalive_min_s": 20.0, "keepalive_max_s": 30.0, "keepalive_timeout_s": 10.0},
    "recovery": {"check_interval_s": 30.0, "dead_after_s": 90.0},
    "manager": {"startup_attempt_timeout_s": 60.0, "shutdown_timeout_s": 30.0},
    "outbox": {"rate_per_minute": 600_000.0, "burst": 1000},
    "log": {"format": "json", "level": "info"},
}
AS_SHIPPED: dict[str, dict[str, Any]] = {
    "manager": {"startup_connects_per_s": 20.0, "startup_burst": 5, "startup_max_concurrent": 32}
}
"""The daemon's default start-up pacing, set explicitly (the harness's test settings differ): the
idle figure is the daemon as shipped. How many logins overlap matters for it: their transient
allocations leave pymalloc's arenas fragmented. Measured at 100 sessions with the old fixed
spacing: about 140-190 KiB per idle session with logins 0 or 0.05 s apart, about 93-103 KiB
with 0.5 or 2 s."""
ALL_AT_ONCE: dict[str, dict[str, Any]] = {
    "manager": {
        "startup_connects_per_s": 1000.0,
        "startup_burst": 1000,
        "startup_max_concurrent": 1000,
    }
}
"""many_receive starts every session at once: they are to receive at once."""


class Sandbox(Protocol):
    """The sandbox process vs_baileys.py runs: its addresses and its admin API."""

    ws_url: str
    admin_url: str
    root_public_key: bytes

    @property
    def pid(self) -> int: ...

    async def admin(self, method: str, path: str, body: Any = None) -> Any: ...


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def bounded(indexes: Iterable[int], one: Callable[[int], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(PAIR_CONCURRENCY)

    async def run(index: int) -> None:
        async with gate:
            await one(index)

    await asyncio.gather(*(run(i) for i in indexes))


async def create_account(sandbox: Sandbox, phone: str, name: str) -> None:
    await sandbox.admin("POST", "/accounts", {"phone": phone, "push_name": name})


@dataclass(frozen=True, slots=True)
class SessionSpan:
    """One session's share of a drain: its message count and first/last times (ms)."""

    count: int
    first_ms: float
    last_ms: float


@dataclass
class Drain:
    """A drain across many sessions: every session's span and the process's CPU time."""

    spans: list[SessionSpan]
    cpu_s: float
    sandbox_busy: float = 0.0
    """The sandbox process's CPU seconds per wall second from the client's start to the last
    message: near 1 means the sandbox (one core) was the limit, not the client."""
    load1: float = field(default_factory=lambda: os.getloadavg()[0])

    def figure(self) -> dict[str, Any]:
        total = sum(s.count for s in self.spans)
        start = min(s.first_ms for s in self.spans)
        end = max(s.last_ms for s in self.spans)
        finish = [(s.last_ms - start) / 1000 for s in self.spans]
        own = [(s.count - 1) / max((s.last_ms - s.first_ms) / 1000, 1e-3) for s in self.spans]
        return {
            "rate": (total - 1) / max((end - start) / 1000, 1e-3),
            "messages": total,
            "sessions": len(self.spans),
            "cpu_ms_per_msg": 1000 * self.cpu_s / max(total, 1),
            "session_finished_s": spread(finish),
            "session_rate": spread(own),
            "sandbox_busy": round(self.sandbox_busy, 2),
            "load1": round(self.load1, 2),
        }


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
    }


class SandboxBusy:
    """The sandbox's CPU seconds per wall second since this was made."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.pid = sandbox.pid
        self.wall0, self.cpu0 = time.monotonic(), cpu_seconds(self.pid)

    def share(self) -> float:
        wall = time.monotonic() - self.wall0
        return (cpu_seconds(self.pid) - self.cpu0) / max(wall, 1e-3)


# wamd: one daemon process, sessions w0..wN-1 --------------------------------------------------


class WamdFleet:
    name = "wamd"

    def __init__(self, sandbox: Sandbox, base: Path) -> None:
        self.sandbox = sandbox
        self.daemon = DaemonProcess(sandbox, base / "wamd-fleet", overrides=FLEET_SETTINGS)  # type: ignore[arg-type]
        self.http: aiohttp.ClientSession | None = None
        self.size = 0

    @staticmethod
    def phone(index: int) -> str:
        return f"1556{index:07d}"

    @staticmethod
    def session_id(index: int) -> str:
        return f"w{index}"

    async def start(self, *, all_at_once: bool = False) -> None:
        self.daemon.overrides = merged(FLEET_SETTINGS, ALL_AT_ONCE if all_at_once else AS_SHIPPED)
        self.daemon.logs.clear()
        self.daemon.lines.clear()
        await self.daemon.start()
        if self.http is None:
            self.http = aiohttp.ClientSession(headers={"X-API-Key": ADMIN_KEY})

    async def stop(self) -> None:
        if self.daemon.process is not None and self.daemon.process.returncode is None:
            await self.daemon.stop(timeout=60)

    async def close(self) -> None:
        await self.stop()
        if self.http is not None:
            await self.http.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        assert self.http is not None
        async with self.http.request(method, self.daemon.url + path, json=body) as response:
            payload = await response.json()
            if response.status >= 300:
                raise RuntimeError(f"wamd {method} {path}: {response.status} {payload}")
            return payload

    async def grow(self, size: int) -> None:
        """Pairs sessions up to ``size`` and waits until every one is connected."""

        async def pair(index: int) -> None:
            phone, session_id = self.phone(index), self.session_id(index)
            await create_account(self.sandbox, phone, f"Wamd {index}")
            await self.call("POST", "/sessions", {"id": session_id})
            qr = await self.call("POST", f"/sessions/{session_id}/pair?wait=30")
            await self.sandbox.admin("POST", f"/accounts/{phone}/scan-qr", {"qr": qr["qr"]})

        await bounded(range(self.size, size), pair)
        self.size = size
        await self.wait_connected()

    async def wait_connected(self) -> None:
        assert self.http is not None
        async with asyncio.timeout(120 + 2 * self.size):
            while True:
                # /health answers 503 while any session is still connecting.
                async with self.http.get(self.daemon.url + "/health") as response:
                    health = await response.json()
                if health["sessions"]["connected"] >= self.size:
                    return
                await asyncio.sleep(0.2)

    async def restart(self) -> None:
        await self.stop()
        await self.start()
        await self.wait_connected()

    def rss_kib(self) -> int:
        return rss_kib(self.daemon.pid)

    async def settled_rss_kib(self) -> int:
        await asyncio.sleep(SETTLE_S)
        readings = []
        for _ in range(READINGS):
            readings.append(self.rss_kib())
            await asyncio.sleep(READING_GAP_S)
        return min(readings)

    async def write_to_carol(self, indexes: range) -> None:
        async def one(index: int) -> None:
            body = {"to": f"{CAROL}@s.whatsapp.net", "text": "hi"}
            await self.call("POST", f"/sessions/{self.session_id(index)}/messages", body)

        await bounded(indexes, one)

    def spans(self, label: str) -> list[SessionSpan]:
        uri = f"file:{self.daemon.database}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute(
                "SELECT count(*), min(created_at), max(created_at) FROM messages"
                " WHERE from_me = 0 AND text LIKE ? GROUP BY session_id",
                (f"{label} %",),
            ).fetchall()
        return [SessionSpan(int(n), float(first), float(last)) for n, first, last in rows]

    async def drain(
        self, sessions: int, per_session: int, label: str, produce: Callable[[], Awaitable[None]]
    ) -> Drain:
        await self.stop()
        await produce()
        busy = SandboxBusy(self.sandbox)
        await self.start(all_at_once=True)
        pid = self.daemon.pid
        total = per_session * sessions
        async with asyncio.timeout(600):
            while not self.spans(label):
                await asyncio.sleep(0.005)
            cpu0 = cpu_seconds(pid)
            while True:
                spans = self.spans(label)
                if sum(span.count for span in spans) >= total:
                    break
                await asyncio.sleep(0.05)
        drain = Drain(spans, cpu_seconds(pid) - cpu0, busy.share())
        await self.wait_connected()
        return drain


# Baileys: one node process, sockets 0..N-1 ------------------------------------------------------


class BaileysFleet:
    name = "baileys"

    def __init__(self, sandbox: Sandbox, base: Path) -> None:
        self.sandbox = sandbox
        self.auth_root = base / "baileys-fleet"
        self.process: asyncio.subprocess.Process | None = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.opened: dict[int, asyncio.Future[None]] = {}
        self.sent: dict[int, asyncio.Future[None]] = {}
        self.scans: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self.size = 0

    @staticmethod
    def phone(index: int) -> str:
        return f"1557{index:07d}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "node",
            "--expose-gc",
            str(MANY),
            self.sandbox.ws_url,
            self.sandbox.root_public_key.hex(),
            str(self.auth_root),
            cwd=MANY.parent,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024,
        )
        self.events = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            with contextlib.suppress(json.JSONDecodeError):
                self._route(json.loads(line))

    def _route(self, event: dict[str, Any]) -> None:
        kind, index = event["event"], event.get("index")
        if kind == "qr" and index is not None:
            body = {"qr": event["qr"]}
            task = asyncio.create_task(
                self.sandbox.admin("POST", f"/accounts/{self.phone(index)}/scan-qr", body)
            )
            self.scans.add(task)
            task.add_done_callback(self.scans.discard)
        elif kind == "open" and index in self.opened:
            if not self.opened[index].done():
                self.opened[index].set_result(None)
        elif kind == "sent" and index in self.sent:
            self.sent[index].set_result(None)
        else:
            self.events.put_nowait(event)

    async def command(self, command: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def expect(self, kind: str, timeout: float = 600) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while (event := await self.events.get())["event"] != kind:
                if event["event"] == "error":
                    raise RuntimeError(f"baileys: {event}")
        return event

    async def open(self, index: int) -> None:
        self.opened[index] = asyncio.get_running_loop().create_future()
        await self.command({"cmd": "open", "index": index})
        async with asyncio.timeout(120):
            await self.opened[index]

    async def grow(self, size: int) -> None:
        async def pair(index: int) -> None:
            phone = self.phone(index)
            await create_account(self.sandbox, phone, f"Baileys {index}")
            # Baileys 7.0.0-rc14 sends no cstoken: an account held to the 2026 rules would have
            # its first message to carol refused (463), as vs_baileys.py does for bob.
            await self.sandbox.admin("POST", f"/accounts/{phone}/rules", {"enforcing": False})
            await self.open(index)

        await bounded(range(self.size, size), pair)
        self.size = size

    async def restart(self) -> None:
        await self.stop()
        await self.start()
        await asyncio.gather(*(self.open(index) for index in range(self.size)))

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self.command({"cmd": "quit"})
            async with asyncio.timeout(60):
                await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()

    async def close(self) -> None:
        await self.stop()

    def rss_kib(self) -> int:
        assert self.process is not None
        return rss_kib(self.process.pid)

    async def settled_rss_kib(self) -> int:
        await asyncio.sleep(SETTLE_S)
        readings = []
        for _ in range(READINGS):
            await self.command({"cmd": "mem"})
            await self.expect("mem")
            readings.append(self.rss_kib())
            await asyncio.sleep(READING_GAP_S)
        return min(readings)

    async def write_to_carol(self, indexes: range) -> None:
        async def one(index: int) -> None:
            self.sent[index] = asyncio.get_running_loop().create_future()
            await self.command({"cmd": "send", "index": index, "to": f"{CAROL}@s.whatsapp.net"})
            async with asyncio.timeout(60):
                await self.sent[index]

        await bounded(indexes, one)

    async def drain(
        self, sessions: int, per_session: int, label: str, produce: Callable[[], Awaitable[None]]
    ) -> Drain:
        await self.stop()
        await produce()
        busy = SandboxBusy(self.sandbox)
        await self.start()
        await self.command(
            {"cmd": "expect", "count": per_session, "prefix": f"{label} ", "sockets": sessions}
        )
        await self.expect("expecting")
        # Every socket opens at once, as an application starting its accounts does.
        await asyncio.gather(*(self.open(index) for index in range(self.size)))
        event = await self.expect("received")
        share = busy.share()
        cpu = (event["cpu_last_us"] - event["cpu_first_us"]) / 1e6
        spans = [SessionSpan(int(n), first, last) for n, first, last in event["sockets"]]
        return Drain(spans, cpu, share)


Fleet = WamdFleet | BaileysFleet
