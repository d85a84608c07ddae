"""Memory per idle connected session, and time for every session to reconnect after the server
restarts.

Run: .venv/bin/python bench/sessions.py [--sizes 10,100,500]

One real daemon process (``wamd run``) against a sandbox running in this process. Sessions are
paired through the daemon's HTTP API (create, pair, the sandbox phone of a fresh account scans
the QR) and then left idle with the protocol's own timings (keepalive every 20–30 s). The
daemon's resident memory (``VmRSS`` of its process, read once it has settled) is the marginal
cost of a session: the baseline is the daemon with one warm-up session connected, so one-off
costs (modules imported on first use, first-use caches) are not divided among the sessions, and
the figure at N is (RSS with 1 + N sessions - baseline) / N; ``between_kib_per_session`` is the
growth from the previous size. The RSS with no session at all is reported too. With
``--restart`` each size is read a second time the way bench/vs_baileys.py's ``idle_memory`` case
reads it (the side-by-side figure against Baileys): the daemon restarted with all its sessions
and the start-up pacing as shipped, the least of three readings after a settle period, over a
baseline read the same way; that is the figure a long-running deployment sees. Then the
sandbox restarts (every socket drops) and the clock runs until ``/health`` counts every session
connected again (the clients' own full-jitter backoff, base 1 s).

Results go to bench/results/sessions.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import structlog  # noqa: E402
from daemon_harness import ADMIN_KEY, Api, admin, write_config  # noqa: E402

from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sessions.json"
PAIR_CONCURRENCY = 8
SETTLE_S = 3.0
RESTART_SETTLE_S, READINGS, READING_GAP_S = 10.0, 3, 2.0
"""As bench/vs_baileys_fleets.py reads an idle process."""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


UNPACED = {"startup_connects_per_s": 1000.0, "startup_burst": 50}
"""Start-up pacing out of the way: this benchmark measures memory and server restarts."""
RESTART_PACING: dict[str, Any] = {}
"""The start-up pacing of the after-restart readings: the daemon's defaults unless
``--startup`` sets some (to compare pacings)."""


class Daemon:
    def __init__(
        self, sandbox: SandboxServer, state: Path, manager: dict[str, Any] | None = None
    ) -> None:
        self.sandbox = sandbox
        self.state = state
        self.manager = UNPACED if manager is None else manager
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = self.state.parent / "wamd.toml"
        write_config(
            config,
            {
                "whatsapp": {
                    "ws_url": self.sandbox.ws_url,
                    "root_public_key": self.sandbox.root_public_key.hex(),
                    "connect_timeout_s": 20.0,
                    "iq_timeout_s": 30.0,
                },
                "storage": {"state_dir": str(self.state)},
                "http": {"host": "127.0.0.1", "port": 0, "api_key": ADMIN_KEY},
                "log": {"format": "json", "level": "info"},
                "manager": self.manager,
            },
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "daemon.cli",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(60):
            await self._wait_ready()
        self._drain = asyncio.create_task(self._discard())

    async def _wait_ready(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise RuntimeError("the daemon exited before it was ready")
            with contextlib.suppress(json.JSONDecodeError):
                entry = json.loads(line)
                if entry.get("event") == "daemon.ready":
                    self.url = entry["http_url"]
                    return

    async def _discard(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while await self.process.stdout.readline():
            pass

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def pair_one(api: Api, sandbox: SandboxServer, index: int) -> None:
    phone = f"1555{index:07d}"
    await admin(sandbox, "POST", "/accounts", {"phone": phone, "push_name": f"Bench {index}"})
    session_id = f"bench{index}"
    created = await api.call("POST", "/sessions", {"id": session_id})
    assert created.status == 201, created.body
    qr = await api.call("POST", f"/sessions/{session_id}/pair?wait=30")
    assert qr.status == 200, qr.body
    await admin(sandbox, "POST", f"/accounts/{phone}/scan-qr", {"qr": qr.body["qr"]})


async def pair_many(
    api: Api, sandbox: SandboxServer, indexes: range, concurrency: int = PAIR_CONCURRENCY
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            await pair_one(api, sandbox, index)

    await asyncio.gather(*(one(i) for i in indexes))


async def connected(api: Api) -> int:
    health = await api.call("GET", "/health", key=None)
    return int(health.body["sessions"]["connected"])


async def wait_connected(api: Api, count: int, timeout: float) -> float:
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while await connected(api) < count:
            await asyncio.sleep(0.2)
    return time.monotonic() - started


async def restarted_rss_kib(daemon: Daemon, sessions: int) -> tuple[Daemon, int]:
    """Restarts the daemon at the restart pacing (as shipped unless ``--startup`` says); its
    settled RSS once every session is back."""
    await daemon.stop()
    restarted = Daemon(daemon.sandbox, daemon.state, RESTART_PACING)
    await restarted.start()
    await wait_connected(Api(restarted.url, ADMIN_KEY), sessions, timeout=120 + sessions)
    await asyncio.sleep(RESTART_SETTLE_S)
    readings = []
    for _ in range(READINGS):
        readings.append(rss_kib(restarted.pid))
        await asyncio.sleep(READING_GAP_S)
    return restarted, min(readings)


async def run(sizes: list[int], restart: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wamd-bench-sessions-") as tmp:
        root = Path(tmp)
        async with SandboxServer(SandboxConfig(state_dir=root / "sandbox")) as sandbox:
            daemon = Daemon(sandbox, root / "daemon")
            await daemon.start()
            api = Api(daemon.url, ADMIN_KEY)
            await asyncio.sleep(SETTLE_S)
            empty = rss_kib(daemon.pid)
            print(f"daemon with no session: {empty / 1024:.1f} MiB RSS", flush=True)
            points = []
            paired = 1
            try:
                await pair_many(api, sandbox, range(paired))
                await wait_connected(api, paired, timeout=60)
                await asyncio.sleep(SETTLE_S)
                baseline = previous = rss_kib(daemon.pid)
                print(f"daemon with one session: {baseline / 1024:.1f} MiB RSS", flush=True)
                restarted_baseline = 0
                if restart:
                    daemon, restarted_baseline = await restarted_rss_kib(daemon, paired)
                    api = Api(daemon.url, ADMIN_KEY)
                    print(
                        f"daemon with one session after a restart: "
                        f"{restarted_baseline / 1024:.1f} MiB RSS",
                        flush=True,
                    )
                for size in sizes:
                    started = time.monotonic()
                    await pair_many(api, sandbox, range(paired, 1 + size))
                    await wait_connected(api, 1 + size, timeout=60 + size)
                    pair_s = time.monotonic() - started
                    await asyncio.sleep(SETTLE_S)
                    rss = rss_kib(daemon.pid)
                    marginal = (rss - baseline) / size
                    between = (rss - previous) / (1 + size - paired)
                    paired, previous = 1 + size, rss
                    point = {
                        "sessions": size,
                        "rss_mib": round(rss / 1024, 1),
                        "marginal_kib_per_session": round(marginal, 1),
                        "between_kib_per_session": round(between, 1),
                        "pairing_seconds": round(pair_s, 1),
                    }
                    points.append(point)
                    print(
                        f"{size:4d} sessions: {rss / 1024:7.1f} MiB RSS, "
                        f"{marginal:7.1f} KiB per session ({between:.1f} since the last size; "
                        f"paired in {pair_s:.1f} s)",
                        flush=True,
                    )
                    if restart:
                        daemon, rss = await restarted_rss_kib(daemon, paired)
                        api = Api(daemon.url, ADMIN_KEY)
                        marginal = (rss - restarted_baseline) / size
                        point["after_restart_rss_mib"] = round(rss / 1024, 1)
                        point["after_restart_marginal_kib_per_session"] = round(marginal, 1)
                        print(
                            f"{size:4d} sessions after a restart: {rss / 1024:7.1f} MiB RSS, "
                            f"{marginal:7.1f} KiB per session",
                            flush=True,
                        )
                await admin(sandbox, "POST", "/restart")
                await asyncio.sleep(0.5)
                # Everyone lost the socket; the clock runs from the restart.
                reconnect_s = await wait_connected(api, paired, timeout=600) + 0.5
                print(f"all {paired} sessions reconnected {reconnect_s:.1f} s after the restart")
            finally:
                await daemon.stop()
    return {
        "benchmark": "sessions",
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}"
        ),
        "empty_rss_mib": round(empty / 1024, 1),
        "baseline_rss_mib": round(baseline / 1024, 1),
        "baseline_sessions": 1,
        "after_restart_baseline_rss_mib": round(restarted_baseline / 1024, 1) if restart else None,
        "restart_pacing": RESTART_PACING or "as shipped",
        "points": points,
        "reconnect_after_server_restart_seconds": round(reconnect_s, 1),
        "reconnect_sessions": paired,
        "aim_per_session_kib": 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,500", help="comma-separated session counts")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="read each size again after a restart at the shipped start-up pacing",
    )
    parser.add_argument(
        "--startup",
        default="",
        help="manager start-up settings for the restarts, e.g. "
        "startup_connects_per_s=5,startup_burst=1,startup_max_concurrent=4",
    )
    args = parser.parse_args()
    for setting in filter(None, args.startup.split(",")):
        key, _, value = setting.partition("=")
        RESTART_PACING[key.strip()] = float(value) if "." in value else int(value)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    logging.disable(logging.CRITICAL)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
        cache_logger_on_first_use=False,
    )
    result = asyncio.run(run(sizes, args.restart))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
