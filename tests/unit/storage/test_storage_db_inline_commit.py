"""Where a COMMIT runs: on the loop's own thread while commits are fast, on the worker thread
once they are slow (``CommitCost``)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from storage.db import COMMIT_COST_WEIGHT, CommitCost, Database


def commit_threads(db: Database) -> list[int]:
    """The thread of every COMMIT the connection runs from now on."""
    seen: list[int] = []
    conn = db._connection()

    def traced(statement: str) -> None:
        if statement == "COMMIT":
            seen.append(threading.get_ident())

    conn.set_trace_callback(traced)
    return seen


async def test_fast_commits_run_on_the_loops_thread(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "inline.db") as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        seen = commit_threads(db)
        for value in range(5):
            async with db.transaction():
                await db.execute("INSERT INTO t VALUES (?)", (value,))
        assert seen == [threading.get_ident()] * 5
    check = sqlite3.connect(tmp_path / "inline.db")
    try:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (5,)
    finally:
        check.close()


async def test_with_no_inline_budget_every_commit_goes_to_the_worker(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "worker.db", inline_commit_max_s=0) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        seen = commit_threads(db)
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES (1)")
        assert len(seen) == 1 and seen[0] != threading.get_ident()


def test_slow_commits_move_to_the_worker_until_they_are_fast_again() -> None:
    cost = CommitCost(limit=0.002)
    assert cost.inline
    cost.observe(0.0003)
    assert cost.inline
    for _ in range(3):
        cost.observe(0.02)  # a slow disk, a checkpoint
    assert not cost.inline
    fast = 0
    while not cost.inline:
        cost.observe(0.0004)
        fast += 1
    # The average forgets at COMMIT_COST_WEIGHT per commit: a few fast commits bring it back.
    assert 5 <= fast <= 20
    assert pytest.approx(0.2) == COMMIT_COST_WEIGHT
