"""What one idle connected session holds in the daemon: tasks, objects and allocations per session.

Run: .venv/bin/python bench/session_anatomy.py [--base 2] [--added 20] [--top 25]

A sandbox and a daemon (``start_daemon``, the daemon's own start-up path) run in this process.
``base`` sessions are paired and left to settle, the census is taken; ``added`` more are paired,
the daemon is restarted with all of them (as a long-running deployment holds its sessions), they
settle, and the census is taken again. Printed per added session: asyncio tasks by coroutine,
gc-tracked objects by type, and the traced allocations (tracemalloc) by the file and line that
made them, without the allocations of the sandbox (which runs in this process too).
The RSS figures are bench/sessions.py's and bench/vs_baileys.py's; this one says where the bytes
are, to decide what to shrink.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import tempfile  # noqa: E402
import tracemalloc  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import structlog  # noqa: E402
from daemon_harness import ADMIN_KEY, Api, write_config  # noqa: E402

from daemon.config import load  # noqa: E402
from daemon.service import Daemon, start_daemon  # noqa: E402
from sandbox.app import SandboxServer  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_sessions", ROOT / "bench" / "sessions.py")
assert _spec is not None and _spec.loader is not None
bench_sessions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_sessions)
connected, pair_many, wait_connected = (
    bench_sessions.connected,
    bench_sessions.pair_many,
    bench_sessions.wait_connected,
)

SETTLE_S = 8.0


@dataclass(frozen=True, slots=True)
class Census:
    tasks: collections.Counter[str]
    objects: collections.Counter[str]
    snapshot: tracemalloc.Snapshot


def task_name(task: asyncio.Task[object]) -> str:
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    where = f"{code.co_filename.removeprefix(str(ROOT) + '/')}:{code.co_qualname}" if code else "?"
    return where


def census() -> Census:
    gc.collect()
    tasks = collections.Counter(task_name(t) for t in asyncio.all_tasks())
    objects = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    return Census(tasks, objects, tracemalloc.take_snapshot())


async def start(sandbox: SandboxServer, state: Path) -> Daemon:
    config = state.parent / "wamd.toml"
    write_config(
        config,
        {
            "whatsapp": {
                "ws_url": sandbox.ws_url,
                "root_public_key": sandbox.root_public_key.hex(),
            },
            "storage": {"state_dir": str(state)},
            "http": {"host": "127.0.0.1", "port": 0, "api_key": ADMIN_KEY},
            "manager": {"startup_connects_per_s": 1000.0, "startup_burst": 1000},
        },
    )
    return await start_daemon(load(config, environ={}))


def per_session(after: collections.Counter[str], before: collections.Counter[str], n: int) -> None:
    rows = [(k, (after[k] - before[k]) / n) for k in after.keys() | before.keys()]
    for key, each in sorted(rows, key=lambda r: -abs(r[1]))[:TOP]:
        if abs(each) >= 0.05:
            print(f"  {each:8.2f}  {key}")


TOP = 25
FRAMES = 16
TRACEBACKS = 0


async def run(base: int, added: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wamd-anatomy-") as tmp:
        root = Path(tmp)
        async with SandboxServer(SandboxConfig(state_dir=root / "sandbox")) as sandbox:
            daemon = await start(sandbox, root / "daemon")
            api = Api(daemon.url, ADMIN_KEY)
            await pair_many(api, sandbox, range(base), concurrency=2)
            await wait_connected(api, base, timeout=60)
            await daemon.stop()
            daemon = await start(sandbox, root / "daemon")
            api = Api(daemon.url, ADMIN_KEY)
            await wait_connected(api, base, timeout=60)
            await asyncio.sleep(SETTLE_S)
            before = census()
            await pair_many(api, sandbox, range(base, base + added), concurrency=2)
            await wait_connected(api, base + added, timeout=120)
            await daemon.stop()
            daemon = await start(sandbox, root / "daemon")
            api = Api(daemon.url, ADMIN_KEY)
            await wait_connected(api, base + added, timeout=120)
            await asyncio.sleep(SETTLE_S)
            after = census()
            print(f"{await connected(api)} sessions connected; per added session:")
            print("asyncio tasks:")
            per_session(after.tasks, before.tasks, added)
            print("gc-tracked objects by type:")
            per_session(after.objects, before.objects, added)
            # The sandbox runs in this process and calls the daemon's codec: a trace with a
            # sandbox frame anywhere in its stack is the sandbox's.
            daemon_side = [
                tracemalloc.Filter(False, f"{ROOT}/sandbox/*", all_frames=True),
                tracemalloc.Filter(False, f"{ROOT}/bench/*", all_frames=True),
            ]
            now = after.snapshot.filter_traces(daemon_side)
            then = before.snapshot.filter_traces(daemon_side)
            for group in ("filename", "lineno"):
                stats = now.compare_to(then, group)
                total = sum(s.size_diff for s in stats)
                print(f"traced bytes by {group}, the daemon's side only (no sandbox frame):")
                print(f"  total {total / added / 1024:.1f} KiB per session")
                for stat in stats[:TOP]:
                    frame = stat.traceback[0]
                    name = frame.filename.removeprefix(str(ROOT) + "/")
                    line = f":{frame.lineno}" if group == "lineno" else ""
                    print(
                        f"  {stat.size_diff / added:9.0f} B {stat.count_diff / added:7.1f} blocks"
                        f"  {name}{line}"
                    )
            if TRACEBACKS:
                print("where the largest were allocated from:")
                for stat in now.compare_to(then, "traceback")[:TRACEBACKS]:
                    print(f"  {stat.size_diff / added:9.0f} B")
                    for line in stat.traceback.format(most_recent_first=True)[::2]:
                        print(f"      {line.strip().removeprefix('File ' + chr(34) + str(ROOT))}")
            await daemon.stop()


def main() -> None:
    global TOP, TRACEBACKS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=2)
    parser.add_argument("--added", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tracebacks", type=int, default=0, help="show the N largest's stacks")
    args = parser.parse_args()
    TOP, TRACEBACKS = args.top, args.tracebacks
    logging.disable(logging.CRITICAL)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
        cache_logger_on_first_use=False,
    )
    tracemalloc.start(FRAMES)
    asyncio.run(run(args.base, args.added))


if __name__ == "__main__":
    main()
