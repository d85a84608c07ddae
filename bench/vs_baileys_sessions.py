"""Many sessions side by side: one wamd daemon process against one node process of Baileys sockets.

Used by bench/vs_baileys.py (``--cases idle_memory,many_receive``) against its sandbox process.

- idle_memory: N paired, connected, idle sessions in one ``wamd run`` process against N Baileys
  sockets in one ``node --expose-gc`` process (bench/baileys_peer/many.mjs, a standard multi-file
  auth state per socket). Each side first connects one warm-up session (one-off costs: lazily
  imported modules, first-use caches, the first database pages), restarts, settles, and reads
  its baseline RSS; then sessions are added up to 1 + N, the process restarts with all of them
  (the daemon with its default start-up pacing, node opening every socket at once as an
  application does), settles, and its RSS is read again (``VmRSS`` from /proc for both; node
  runs ``global.gc()`` first, the daemon just idles through the settle period). Marginal KiB per
  idle session at N = (RSS at 1 + N - baseline) / N; the same right after pairing is kept too.
- many_receive: the same fleets (100 sessions by default); each session first writes to carol,
  so carol's messages are steady-state ``msg`` stanzas. Per run the client process stops, carol's
  phone queues M texts for every session (round robin), and the process starts again and drains
  them all at once. Total messages/s from the first to the last message handled across all
  sessions (wamd: rows committed before the ack, ``created_at``; Baileys: ``messages.upsert``),
  and the spread over sessions: when each session finished its backlog, and its own rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# Loaded by bench/vs_baileys.py before this module (bench/ is not on sys.path).
from vs_baileys_fleets import (
    CAROL,
    PHONE_SEND_CONCURRENCY,
    READINGS,
    SETTLE_S,
    BaileysFleet,
    Fleet,
    Sandbox,
    WamdFleet,
)

SESSIONS_CASES = ("idle_memory", "many_receive")
SESSIONS_NOTES = [
    "idle_memory: marginal KiB per idle connected session = (RSS at 1+N - RSS at 1) / N after a "
    f"restart, each the least of {READINGS} readings after {SETTLE_S:.0f} s idle (node after "
    "global.gc()); one daemon process (default start-up pacing) vs one node process of "
    "Baileys sockets, a multi-file auth state each",
    "many_receive: N sessions drain M queued texts each at once after a restart of their process; "
    "rate from the first to the last message across all sessions; session_finished_s is when "
    "each session had its last message, from the first message of the run",
]


async def idle_memory(fleets: list[Fleet], sizes: list[int]) -> dict[str, Any]:
    """Marginal RSS per idle session at each size, over a one-session warm baseline.

    Read twice per point: right after pairing (the pairing's transient allocations leave the
    heap fragmented) and after the process restarted with its sessions, as a long-running
    deployment holds them (the headline figure)."""
    out: dict[str, Any] = {"sizes": sizes, "settle_s": SETTLE_S}
    for fleet in fleets:
        started = time.monotonic()
        await fleet.grow(1)
        paired_baseline = await fleet.settled_rss_kib()
        await fleet.restart()
        baseline = await fleet.settled_rss_kib()
        points = []
        for size in sizes:
            began = time.monotonic()
            await fleet.grow(1 + size)
            pair_s = time.monotonic() - began
            paired = await fleet.settled_rss_kib()
            began = time.monotonic()
            await fleet.restart()
            reconnect_s = time.monotonic() - began
            rss = await fleet.settled_rss_kib()
            marginal = (rss - baseline) / size
            marginal_paired = (paired - paired_baseline) / size
            points.append(
                {
                    "sessions": size,
                    "rss_mib": round(rss / 1024, 1),
                    "marginal_kib_per_session": round(marginal, 1),
                    "after_pairing_rss_mib": round(paired / 1024, 1),
                    "after_pairing_marginal_kib_per_session": round(marginal_paired, 1),
                    "pairing_seconds": round(pair_s, 1),
                    "restart_seconds": round(reconnect_s, 1),
                }
            )
            print(
                f"idle_memory       {fleet.name:<8} {size:4d} sessions: {rss / 1024:7.1f} MiB RSS,"
                f" {marginal:8.1f} KiB per idle session after a restart"
                f" ({marginal_paired:.1f} right after pairing in {pair_s:.1f} s)",
                flush=True,
            )
        out[fleet.name] = {
            "baseline_rss_mib": round(baseline / 1024, 1),
            "after_pairing_baseline_rss_mib": round(paired_baseline / 1024, 1),
            "points": points,
            "seconds": round(time.monotonic() - started, 1),
        }
    for point_w, point_b in zip(out["wamd"]["points"], out["baileys"]["points"], strict=True):
        point_w["ratio_wamd_over_baileys"] = round(
            point_w["marginal_kib_per_session"] / max(point_b["marginal_kib_per_session"], 1e-3), 4
        )
    return out


async def phone_fan_out(sandbox: Sandbox, phones: list[str], per_session: int, label: str) -> None:
    """Carol's phone sends ``per_session`` texts to every phone, round robin."""
    gate = asyncio.Semaphore(PHONE_SEND_CONCURRENCY)
    jobs = [(phones[i % len(phones)], i) for i in range(per_session * len(phones))]

    async def one(phone: str, index: int) -> None:
        async with gate:
            body = {"to": f"{phone}@s.whatsapp.net", "text": f"{label} {index}"}
            await sandbox.admin("POST", f"/accounts/{CAROL}/messages", body)

    await asyncio.gather(*(one(phone, index) for phone, index in jobs))


async def many_receive(
    sandbox: Sandbox, fleets: list[Fleet], sessions: int, per_session: int, runs: int
) -> dict[str, Any]:
    """The last ``sessions`` sessions of each fleet drain a backlog at once; runs alternate
    between the sides."""
    already = len(await sandbox.admin("GET", f"/accounts/{CAROL}/messages"))
    for fleet in fleets:
        if fleet.size < sessions:
            await fleet.grow(sessions)
        await fleet.write_to_carol(range(fleet.size - sessions, fleet.size))
    wanted = already + sessions * len(fleets)
    deadline = time.monotonic() + 120
    while (have := len(await sandbox.admin("GET", f"/accounts/{CAROL}/messages"))) < wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"carol has {have - already} of {wanted - already} first messages")
        await asyncio.sleep(0.2)
    figures: dict[str, list[dict[str, Any]]] = {}
    for run_index in range(runs):
        for fleet in fleets:
            label = f"many {fleet.name} {run_index}"
            phones = [fleet.phone(i) for i in range(fleet.size - sessions, fleet.size)]
            drain = await fleet.drain(
                sessions,
                per_session,
                label,
                functools.partial(phone_fan_out, sandbox, phones, per_session, label),
            )
            figure = drain.figure()
            figures.setdefault(fleet.name, []).append(figure)
            print(
                f"many_receive      {fleet.name:<8} run {run_index}: {figure['rate']:8.1f}/s"
                f" across {figure['sessions']} sessions, cpu {figure['cpu_ms_per_msg']:.2f} ms/msg,"
                f" sessions done after {figure['session_finished_s']} s,"
                f" sandbox busy {figure['sandbox_busy']:.2f}"
                f"  load {figure['load1']:.2f}",
                flush=True,
            )
    out: dict[str, Any] = {"sessions": sessions, "per_session": per_session}
    for name, runs_ in figures.items():
        rates = [f["rate"] for f in runs_]
        out[name] = {
            "rate_min": min(rates),
            "rate_median": statistics.median(rates),
            "rate_max": max(rates),
            "cpu_ms_per_msg_median": statistics.median(f["cpu_ms_per_msg"] for f in runs_),
            "runs": runs_,
        }
    if "wamd" in out and "baileys" in out:
        out["ratio_wamd_over_baileys"] = round(
            out["wamd"]["rate_median"] / out["baileys"]["rate_median"], 3
        )
    return out


async def run_cases(
    sandbox: Sandbox,
    base: Path,
    cases: set[str],
    sizes: list[int],
    per_session: int,
    runs: int,
) -> dict[str, Any]:
    """The sessions cases in ``cases`` (idle_memory, many_receive) on fresh fleets; carol's
    account exists."""
    fleets: list[Fleet] = [WamdFleet(sandbox, base), BaileysFleet(sandbox, base)]
    report: dict[str, Any] = {}
    try:
        for fleet in fleets:
            await fleet.start()
        if "idle_memory" in cases:
            report["idle_memory"] = await idle_memory(fleets, sizes)
        if "many_receive" in cases:
            report["many_receive"] = await many_receive(
                sandbox, fleets, max(sizes), per_session, runs
            )
    finally:
        for fleet in fleets:
            with contextlib.suppress(Exception):
                await fleet.close()
    return report


if __name__ == "__main__":
    sys.exit("run bench/vs_baileys.py --cases idle_memory,many_receive")
