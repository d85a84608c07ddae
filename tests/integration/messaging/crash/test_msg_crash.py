"""kill -9 in the middle of an inbound burst: after a restart every message is stored exactly
once and the sessions still work both ways (persist before ack, principle 3), on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
from pathlib import Path

from backends import ClientDatabase, OpenEngine
from messaging_harness import Client, open_session, paired_client, phone_got
from sandbox_clients import next_event, phone

from daemon.client.events import Connected
from daemon.client.message_content import Text
from daemon.client.message_events import MessageReceived
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.engine import Dialect
from storage.message_values import ContentType

WORKER = Path(__file__).with_name("msg_crash_worker.py")
# Each inbound message is its own transaction; on PostgreSQL each costs round trips to the
# server, so its burst is smaller (the kill still lands a fifth to seven tenths of the way in).
BURSTS = {Dialect.SQLITE: 1000, Dialect.POSTGRESQL: 200}
RNG = random.Random()


async def _start_worker(
    sandbox: SandboxServer, where: ClientDatabase, kill_after: int, jitter: float
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        str(where.path),
        sandbox.ws_url,
        sandbox.root_public_key.hex(),
        str(kill_after),
        f"{jitter:.4f}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=str(WORKER.parent),
        env=where.environ(),
    )


async def _wait_line(process: asyncio.subprocess.Process, key: str) -> dict[str, object]:
    assert process.stdout is not None
    async with asyncio.timeout(30):
        async for raw in process.stdout:
            line = json.loads(raw)
            if key in line:
                return dict(line)
    raise AssertionError(f"the worker ended before printing {key!r}")


async def test_kill_mid_burst_loses_and_duplicates_nothing(
    sandbox: SandboxServer, alice: Account, bob: Account, backend: Dialect, open_engine: OpenEngine
) -> None:
    burst_size = BURSTS[backend]
    where = await open_engine.where("alice")
    first = await paired_client(sandbox, alice, where)
    await first.close()

    kill_after = RNG.randint(burst_size // 5, burst_size * 7 // 10)
    jitter = RNG.uniform(0.0, 0.05)
    worker = await _start_worker(sandbox, where, kill_after, jitter)
    await _wait_line(worker, "connected")
    bob_phone = phone(sandbox, bob)
    texts = [f"burst {i}" for i in range(burst_size)]

    async def burst() -> list[str]:
        return [await bob_phone.send_text(alice.pn, text) for text in texts]

    sending = asyncio.create_task(burst())
    async with asyncio.timeout(60):
        returncode = await worker.wait()
    assert returncode == -signal.SIGKILL, f"worker ended with {returncode}, not by SIGKILL"
    sent_ids = await sending

    session, db = await open_session(sandbox, where)
    client = Client(session, db, alice)
    try:
        store = session.messenger.store
        with session.events() as events:
            await session.connect()
            await next_event(events, Connected)
            async with asyncio.timeout(60):
                while await store.messages.count(session.session_id, str(bob.pn)) < burst_size:
                    await asyncio.sleep(0.1)
            # Every message once, with its own text; the redelivered ones were recognised.
            rows = await store.messages.page(session.session_id, str(bob.pn), limit=burst_size + 10)
            assert len(rows) == burst_size
            assert {r.message_id for r in rows} == set(sent_ids)
            assert sorted(r.text or "" for r in rows) == sorted(texts)
            assert all(r.content_type is ContentType.TEXT for r in rows)
            # The kill really was mid-burst: each process stored part of it.
            receiver = session.messenger.receiver
            assert receiver is not None and 0 < receiver.stored < burst_size

            # The Signal sessions survived the kill: both directions still decrypt.
            after = await bob_phone.send_text(alice.pn, "still there?")
            got = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == after, timeout=30
            )
            assert got.message.text == "still there?"
        reply = await session.send(OutgoingMessage(bob.pn, Text("yes")))
        seen = await phone_got(sandbox, bob, lambda m: m.id == reply.message_id)
        assert seen.text == "yes"
    finally:
        await client.close()
