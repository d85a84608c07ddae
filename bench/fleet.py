"""A fleet of daemons on one PostgreSQL: how sessions spread, and how long a takeover takes.

Run: .venv/bin/python bench/fleet.py [--sessions 30] [--daemons 3]

A throwaway PostgreSQL cluster (tests/postgres_server.py), a sandbox in this process and
``--daemons`` real ``wamd run`` processes with the default fleet timings (heartbeat 2 s, lease
10 s). ``--sessions`` sessions are paired through the first daemon; the fleet spreads them.
Then one daemon is killed (SIGKILL) and the clock runs until every session it owned is
connected on another daemon (lease expiry + the next round + login), and again when it comes
back until the fleet is even (its share handed back a few sessions per heartbeat). Figures:
sessions per daemon after spreading, takeover seconds, rebalance seconds, and the most logins
the sandbox saw in any one second during the rebalance. Results go to bench/results/fleet.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "fleet"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any  # noqa: E402

import structlog  # noqa: E402
from fleet_harness import CUSTOMER, Fleet, admin, counts, create_account  # noqa: E402
from postgres_server import running_server  # noqa: E402

from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fleet.json"
DEFAULT_FLEET = {"heartbeat_s": 2.0, "lease_ttl_s": 10.0, "handoffs_per_round": 2}


async def connected(fleet: Fleet, via: str, ids: list[str]) -> bool:
    reply = await fleet.api(via).call("GET", "/sessions")
    if reply.status != 200:
        return False
    statuses = {s["id"]: s["status"] for s in reply.body["sessions"]}
    return all(statuses.get(s) == "connected" for s in ids)


async def until(check: Any, timeout: float) -> float:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the fleet did not get there")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def run(sessions: int, daemons: int) -> dict[str, Any]:
    from fleet_harness import pair_sessions

    names = [chr(ord("a") + i) for i in range(daemons)]
    with running_server() as server, tempfile.TemporaryDirectory() as tmp:
        url = await server.migrated_database()
        root = Path(tmp)
        async with SandboxServer(SandboxConfig(state_dir=root / "sandbox")) as sandbox:
            await create_account(sandbox, CUSTOMER, "Customer")
            fleet = Fleet(sandbox, root, url, settings=DEFAULT_FLEET)
            try:
                for name in names:
                    await fleet.start(name)
                ids = await pair_sessions(fleet.api(names[0]), sandbox, sessions)
                share = -(-sessions // daemons)
                spread_s = await until(lambda: _even(fleet, names, sessions, share), timeout=180)
                owners = await fleet.owners()
                spread = counts(owners, names)
                await until(lambda: connected(fleet, names[0], ids), timeout=120)
                victim = names[-1]
                moved = sorted(s for s, o in owners.items() if o == victim)
                await fleet.daemons[victim].kill()
                takeover_s = await until(
                    lambda: _moved_and_connected(fleet, names[0], moved, victim), timeout=120
                )
                back_at = time.time()
                await fleet.start(victim)
                rebalance_s = await until(lambda: _even(fleet, names, sessions, share), timeout=300)
                await until(lambda: connected(fleet, names[0], ids), timeout=120)
                logins = await admin(sandbox, "GET", f"/logins?since={back_at}")
                per_second = Counter(int(login["at"]) for login in logins["logins"])
            finally:
                await fleet.stop_all()
    return {
        "sessions": sessions,
        "daemons": daemons,
        "fleet": DEFAULT_FLEET,
        "spread_seconds": round(spread_s, 1),
        "sessions_per_daemon": spread,
        "killed_daemon_sessions": len(moved),
        "takeover_seconds": round(takeover_s, 1),
        "rebalance_seconds": round(rebalance_s, 1),
        "max_logins_in_one_second_during_rebalance": max(per_second.values(), default=0),
    }


async def _even(fleet: Fleet, names: list[str], sessions: int, share: int) -> bool:
    owners = await fleet.owners()
    spread = counts(owners, names)
    return len(owners) == sessions and all(n <= share + 1 for n in spread.values())


async def _moved_and_connected(fleet: Fleet, via: str, moved: list[str], victim: str) -> bool:
    owners = await fleet.owners()
    if any(owners.get(s) in (None, victim) for s in moved):
        return False
    return await connected(fleet, via, moved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--daemons", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "runs": [asyncio.run(run(args.sessions, n)) for n in args.daemons],
    }
    for entry in results["runs"]:
        print(json.dumps(entry))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
