"""Start-up at scale: how long after a daemon restart until every paired session is connected,
and the most logins the server saw in any second.

Run: .venv/bin/python bench/startup.py [--sessions 500] [--rate R --burst B --max-concurrent C]
                                      [--keep DIR]

One real daemon process (``wamd run``) against a sandbox running in this process. The sessions
are paired once through the daemon's HTTP API (create, pair, the sandbox phone of a fresh
account scans the QR, as ``bench/sessions.py`` does), then the daemon stops (SIGTERM) and starts
again over the same state directory with the start-up pacing under test (the config defaults
unless given). The clock runs from launching the new process until ``/health`` counts every
session connected. The sandbox's login record (``GET /admin/logins``) gives the logins after
the launch: the most in any one-second window is compared with what the pacer allows
(``startup_connects_per_s + startup_burst``). The sandbox records a login before it answers
``<success>``, and a connect counts as under way until it reads that answer, so the record can
also hold up to ``startup_max_concurrent`` connects started before the window opened and
finished late: the hard bound is the sum. Aim: all 500 connected within 60 s, no second above
the rate plus the burst. Results go to bench/results/startup.json.

Pairing 500 sessions takes a minute or more; ``--keep DIR`` keeps both state directories in
``DIR`` so that later runs skip it (only the restart is measured), and a run that could not
pair every session resumes where it stopped.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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

from bench.sessions import ADMIN_KEY, Api, Daemon, admin, connected, wait_connected  # noqa: E402
from daemon.config import ManagerConfig  # noqa: E402
from daemon.startup_pacing import configured_rate, most_in_any_window  # noqa: E402
from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "startup.json"
PAIR_CONCURRENCY = 8
PAIRING_PASSES = 4
PAIRED_MARK = "bench-paired"
"""Written once every session is paired: ``--keep`` reuses such a state directory."""
AIM_S = 60.0
POLL_S = 0.5
"""How often ``/health`` is read while waiting: each read takes the database's write lock for a
probe, which the logins being measured need too."""


async def pair_one(api: Api, sandbox: SandboxServer, index: int) -> None:
    """Pairs session ``bench<index>`` with the phone of account ``1555<index>`` (made if
    missing), as ``bench/sessions.py`` does."""
    phone = f"1555{index:07d}"
    if sandbox.network.directory.find_account(phone) is None:
        await sandbox.network.create_account(phone, push_name=f"Bench {index}")
    session_id = f"bench{index}"
    created = await api.call("POST", "/sessions", {"id": session_id})
    assert created.status == 201, created.body
    qr = await api.call("POST", f"/sessions/{session_id}/pair?wait=30")
    assert qr.status == 200, qr.body
    await admin(sandbox, "POST", f"/accounts/{phone}/scan-qr", {"qr": qr.body["qr"]})


async def unpaired(api: Api, sessions: int) -> list[int]:
    """The sessions still to pair; one left half made by an earlier pass is deleted."""
    listed = (await api.call("GET", "/sessions")).body["sessions"]
    paired = {s["id"] for s in listed if s.get("jid")}
    for session in listed:
        if session["id"] not in paired:
            await api.call("DELETE", f"/sessions/{session['id']}")
    return [index for index in range(sessions) if f"bench{index}" not in paired]


async def pair_all(sandbox: SandboxServer, state: Path, sessions: int) -> None:
    """Pairs every session through the API. On a busy machine a request can time out: the
    pass ends, and the next one pairs what is left (at most :data:`PAIRING_PASSES`)."""
    daemon = Daemon(sandbox, state, {})
    await daemon.start()
    try:
        began = time.monotonic()
        api = Api(daemon.url, ADMIN_KEY)
        gate = asyncio.Semaphore(PAIR_CONCURRENCY)

        async def one(index: int) -> None:
            async with gate:
                await pair_one(api, sandbox, index)

        for _ in range(PAIRING_PASSES):
            todo = await unpaired(api, sessions)
            if not todo:
                break
            print(f"pairing {len(todo)} sessions", flush=True)
            results = await asyncio.gather(*(one(i) for i in todo), return_exceptions=True)
            failed = [r for r in results if isinstance(r, Exception)]
            if failed:
                print(f"{len(failed)} pairings failed (first: {failed[0]!r})", flush=True)
        if await unpaired(api, sessions):
            raise SystemExit("could not pair every session")
        await wait_connected(api, sessions, timeout=60 + sessions)
        print(f"{sessions} sessions paired in {time.monotonic() - began:.1f} s", flush=True)
    finally:
        await daemon.stop()
    (state / PAIRED_MARK).write_text(f"{sessions}\n")


def paired_before(state: Path, sessions: int) -> bool:
    mark = state / PAIRED_MARK
    return mark.is_file() and mark.read_text().strip() == str(sessions)


async def run(sessions: int, manager: dict[str, Any], keep: Path | None) -> dict[str, Any]:
    rate = configured_rate(ManagerConfig(**manager))
    with contextlib.ExitStack() as stack:
        if keep is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wamd-startup-")))
        else:
            root = keep
        config = SandboxConfig(state_dir=root / "sandbox")
        async with SandboxServer(config) as sandbox:
            if paired_before(root / "daemon", sessions):
                print(f"reusing the {sessions} sessions paired in {root}", flush=True)
            else:
                await pair_all(sandbox, root / "daemon", sessions)

            restarted = Daemon(sandbox, root / "daemon", manager)
            launched_at, launched = time.time(), time.monotonic()
            try:
                await restarted.start()
                ready_s = time.monotonic() - launched
                api = Api(restarted.url, ADMIN_KEY)
                async with asyncio.timeout(600):
                    while await connected(api) < sessions:
                        await asyncio.sleep(POLL_S)
                all_connected_s = time.monotonic() - launched
            finally:
                await restarted.stop()
            times = [login.at for login in sandbox.logins.since(launched_at)]
    most = most_in_any_window(times, 1.0)
    first = min(times)
    per_second = [0] * (int(max(times) - first) + 1)
    for at in times:
        per_second[int(at - first)] += 1
    allowed = rate.max_starts_in(1.0)
    spread = max(times) - min(times)
    print(f"logins per second: {per_second}", flush=True)
    print(
        f"all {sessions} connected {all_connected_s:.1f} s after the restart "
        f"(ready after {ready_s:.1f} s; logins spread over {spread:.1f} s)\n"
        f"most logins in any second: {most} (pacer: {rate.connects_per_s:g}/s + burst "
        f"{rate.burst} = {allowed}; with the {rate.max_concurrent} under way: "
        f"{allowed + rate.max_concurrent})",
        flush=True,
    )
    return {
        "benchmark": "startup",
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}"
        ),
        "load_average_1m_after": round(os.getloadavg()[0], 1),
        "sessions": sessions,
        "connects_per_s": rate.connects_per_s,
        "burst": rate.burst,
        "max_concurrent": rate.max_concurrent,
        "jitter": rate.jitter,
        "ready_seconds": round(ready_s, 1),
        "all_connected_seconds": round(all_connected_s, 1),
        "logins": len(times),
        "logins_spread_seconds": round(spread, 1),
        "most_logins_in_any_second": most,
        "logins_per_second": per_second,
        "allowed_in_any_second": allowed,
        "hard_bound_in_any_second": allowed + rate.max_concurrent,
        "aim_all_connected_seconds": AIM_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--rate", type=float, help="startup_connects_per_s (default: config's)")
    parser.add_argument("--burst", type=int, help="startup_burst (default: config's)")
    parser.add_argument("--max-concurrent", type=int, help="startup_max_concurrent")
    parser.add_argument(
        "--keep",
        type=Path,
        help="state directory kept between runs: the sessions paired there are reused",
    )
    args = parser.parse_args()
    manager: dict[str, Any] = {}
    if args.rate is not None:
        manager["startup_connects_per_s"] = args.rate
    if args.burst is not None:
        manager["startup_burst"] = args.burst
    if args.max_concurrent is not None:
        manager["startup_max_concurrent"] = args.max_concurrent
    logging.disable(logging.CRITICAL)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
        cache_logger_on_first_use=False,
    )
    result = asyncio.run(run(args.sessions, manager, args.keep))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
