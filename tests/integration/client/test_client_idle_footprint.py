"""What an idle connected session holds: its supervisor and its connection's reader and
dispatcher, and nothing per keepalive or per acknowledged message between them (issue 18: the
marginal memory of an idle session). Sandbox on loopback, keepalive every 1-1.5 s."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

from client_harness import pair_by_qr
from sandbox_clients import next_event

import daemon
from daemon.client.message_events import MessageReceived
from daemon.client.session import Session
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.phone.phone import SimulatedPhone

DAEMON_DIR = str(Path(daemon.__file__).parent)
IDLE_ALLOWED = {
    "Session._supervise": 1,
    "Connection._read": 1,
    "Connection._dispatch": 1,
    # The send path's receipt worker (daemon/client/receipt_handler.py), one per connection.
    "ReceiptHandler._work": 1,
}
"""Every daemon task an idle connected session may hold, and how many of each."""


def daemon_tasks() -> collections.Counter[str]:
    """The running tasks whose coroutine is the daemon's, by qualified name; a connection task
    is named by the coroutine its guard awaits."""
    names: collections.Counter[str] = collections.Counter()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        if code is None or not code.co_filename.startswith(DAEMON_DIR):
            continue
        if code.co_qualname == "Connection._guarded":
            inner = getattr(coro, "cr_await", None)
            code = getattr(inner, "cr_code", code)
        names[code.co_qualname] += 1
    return names


def is_idle_footprint(tasks: collections.Counter[str]) -> bool:
    return all(IDLE_ALLOWED.get(name, 0) >= count for name, count in tasks.items())


async def settled_tasks(timeout: float = 20.0) -> collections.Counter[str]:
    """The daemon's tasks once the login's own work (syncs, uploads) is over."""
    tasks = daemon_tasks()
    try:
        async with asyncio.timeout(timeout):
            while not is_idle_footprint(tasks):
                await asyncio.sleep(0.1)
                tasks = daemon_tasks()
    except TimeoutError:
        pass  # the assertion below shows what stayed
    return tasks


async def test_an_idle_connected_session_holds_only_its_reader_dispatcher_and_supervisor(
    sandbox: SandboxServer, session: Session, account: Account
) -> None:
    await pair_by_qr(sandbox, session, account)
    tasks = await settled_tasks()
    assert is_idle_footprint(tasks), tasks
    assert tasks["Connection._read"] == 1 and tasks["Session._supervise"] == 1

    # Keepalives go on without a task of their own between pings.
    first_pong = session.liveness.last_pong
    async with asyncio.timeout(15.0):
        while session.liveness.last_pong == first_pong:
            await asyncio.sleep(0.1)
    tasks = await settled_tasks()
    assert is_idle_footprint(tasks), tasks

    # A message received and acknowledged leaves no ack task behind.
    bob = await sandbox.network.create_account("15550002222", push_name="Bob")
    bob_phone = sandbox.network.phones[bob.phone_user]
    assert isinstance(bob_phone, SimulatedPhone)
    with session.events() as events:
        sent = await bob_phone.send_text(account.pn, "hello")
        await next_event(events, MessageReceived, lambda e: e.message.message_id == sent)
    receiver = session.messenger.receiver
    assert receiver is not None
    async with asyncio.timeout(10.0):
        while receiver.acks.acked < 1:
            await asyncio.sleep(0.05)
    tasks = await settled_tasks()
    assert is_idle_footprint(tasks), tasks
    assert not receiver.acks.running
