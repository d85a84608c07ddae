"""CPU per HTTP send in the real daemon, per thread, with an optional cProfile of its main thread.

Run: .venv/bin/python bench/send_profile.py [--sends 500] [--inflight 1] [--profile out.pstats]

The daemon (`wamd run`, production settings as in bench/vs_baileys.py) and the sandbox each run in
their own process; session "alice" is paired through the HTTP API and writes carol first, so every
measured send is a steady-state `msg` to one phone. Each send is `POST /sessions/alice/messages`
until its `sent` event (or a later status) arrives on the event stream, exactly as
bench/vs_baileys.py times it. Printed: sends/s, CPU ms per send of the daemon process and of each
of its threads (user and system, from /proc), p50/p99 latency. Nothing is written to
bench/results/: this is the tool for finding where a send's time goes, not a figure for the README.

With ``--profile FILE`` the daemon starts with a small `sitecustomize` on its path that turns
cProfile on for its main thread on SIGUSR1 and writes the stats to FILE on SIGUSR2; only the
measured sends are profiled (cProfile roughly doubles the CPU figure, so read the two runs
separately). Inspect with ``python -m pstats FILE``. The same hook also reads the database
engine's counters (``SqlEngine.counters``) around the measured sends: statements and commits per
send are printed too.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from types import ModuleType  # noqa: E402

from daemon import event_loop  # noqa: E402
from daemon.event_loop import EventLoopKind  # noqa: E402

SITECUSTOMIZE = """\
import gc, json, os, signal, sys, cProfile
_profile = cProfile.Profile() if os.environ.get("WAMD_BENCH_PROFILE") else None
_counters = []
def _engine_counters():
    engines = sys.modules.get("storage.db")
    found = [o for o in gc.get_objects() if engines and isinstance(o, engines.Database)]
    return [(o.counters.statements, o.counters.commits) for o in found]
def _start(*_):
    _counters[:] = _engine_counters()
    if _profile is not None:
        _profile.enable()
def _stop(*_):
    if _profile is not None:
        _profile.disable()
        _profile.dump_stats(os.environ["WAMD_BENCH_PROFILE"])
    after = _engine_counters()
    delta = [[a - b for a, b in zip(x, y)] for x, y in zip(after, _counters)]
    with open(os.environ["WAMD_BENCH_COUNTERS"], "w") as out:
        json.dump(delta, out)
signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)
"""


def load_vs_baileys() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vs_baileys", ROOT / "bench" / "vs_baileys.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["vs_baileys"] = module
    spec.loader.exec_module(module)
    return module


def thread_ticks(pid: int) -> dict[str, tuple[str, int, int]]:
    ticks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        name = stat.split("(", 1)[1].rsplit(")", 1)[0]
        fields = stat.rsplit(")", 1)[1].split()
        ticks[tid] = (name, int(fields[11]), int(fields[12]))
    return ticks


async def measure(args: argparse.Namespace) -> None:
    bench = load_vs_baileys()
    clk_tck = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="wamd-send-profile-") as tmp:
        base = Path(tmp)
        site = base / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(site), os.environ.get("PYTHONPATH")])
        )
        counters_file = base / "engine-counters.json"
        os.environ["WAMD_BENCH_COUNTERS"] = str(counters_file)
        if args.profile:
            os.environ["WAMD_BENCH_PROFILE"] = str(Path(args.profile).resolve())
        sandbox = bench.SandboxProcess(base / "sandbox")
        await sandbox.start()
        try:
            for phone, name in ((bench.ALICE, "Alice"), (bench.CAROL, "Carol")):
                await sandbox.admin("POST", "/accounts", {"phone": phone, "push_name": name})
            wamd = bench.WamdSide(sandbox, base)
            await wamd.start()
            try:
                await wamd.pair()
                carol = f"{bench.CAROL}@s.whatsapp.net"
                await wamd.call("POST", "/sessions/alice/messages", {"to": carol, "text": "hi"})
                await wamd.send(50, args.inflight)
                pid = wamd.daemon.pid
                os.kill(pid, signal.SIGUSR1)
                assert sandbox.process is not None
                sandbox_pid = sandbox.process.pid
                sandbox0, client0 = bench.cpu_seconds(sandbox_pid), time.process_time()
                before = thread_ticks(pid)
                figure = await wamd.send(args.sends, args.inflight)
                after = thread_ticks(pid)
                sandbox_cpu = bench.cpu_seconds(sandbox_pid) - sandbox0
                client_cpu = time.process_time() - client0
                os.kill(pid, signal.SIGUSR2)
                async with asyncio.timeout(30):
                    while not counters_file.exists():
                        await asyncio.sleep(0.1)
                await asyncio.sleep(2 if args.profile else 0.2)
                counters = json.loads(counters_file.read_text())
            finally:
                await wamd.stop()
        finally:
            await sandbox.stop()
    print(
        f"{args.sends} sends, {args.inflight} in flight: {figure.rate:.1f}/s,"
        f" cpu {figure.cpu_ms_per_msg:.2f} ms/send, p50 {figure.p50_ms:.2f} ms,"
        f" p99 {figure.p99_ms:.2f} ms, load {figure.load1:.2f}"
    )
    for tid, (name, user, system) in sorted(after.items()):
        _, user0, system0 = before.get(tid, (name, 0, 0))
        spent = (user - user0) + (system - system0)
        if spent:
            per_send = 1000 / clk_tck / args.sends
            print(
                f"  thread {tid} {name}: user {(user - user0) * per_send:.2f}"
                f" + sys {(system - system0) * per_send:.2f} ms/send"
            )
    print(
        f"  sandbox process: {1000 * sandbox_cpu / args.sends:.2f} ms/send;"
        f" this process (HTTP client, event stream): {1000 * client_cpu / args.sends:.2f} ms/send"
    )
    for statements, commits in counters:
        print(
            f"  database: {statements / args.sends:.1f} statements"
            f" and {commits / args.sends:.2f} commits per send"
        )
    if args.profile:
        print(f"profile of the main thread: {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--inflight", type=int, default=1)
    parser.add_argument("--profile", help="write a cProfile of the daemon's main thread here")
    event_loop.run(measure(parser.parse_args()), EventLoopKind.UVLOOP)


if __name__ == "__main__":
    main()
