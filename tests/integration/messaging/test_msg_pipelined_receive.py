"""One session draining an offline backlog: consecutive messages share commits (pipelined
receive), every one is stored once and acked only once durable (nothing stays queued on the
server), and they are published in arrival order."""

from __future__ import annotations

import asyncio

from messaging_harness import Client, events_until
from sandbox_clients import phone

from daemon.binary import JID
from daemon.client.message_events import MessageReceived
from sandbox.app import SandboxServer
from sandbox.directory import Account

BACKLOG = 60


async def test_a_backlog_drains_in_fewer_commits_than_messages(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    session, db = alice_wamd.session, alice_wamd.db
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    device = JID.parse(credentials.pn_jid)
    bob_phone = phone(sandbox, bob)
    await session.disconnect()
    sent = [await bob_phone.send_text(alice_wamd.jid, f"m{n}") for n in range(BACKLOG)]
    assert len(await sandbox.network.offline.pending(device)) >= BACKLOG

    commits, units = db.commit_count, db.unit_count
    with session.events() as events:
        await session.connect()
        received = await events_until(
            events, MessageReceived, lambda e: e.message.message_id in sent, BACKLOG, timeout=60
        )
    async with asyncio.timeout(30):  # every one acked: the server keeps nothing for us
        while await sandbox.network.offline.pending(device):
            await asyncio.sleep(0.05)

    assert [e.message.message_id for e in received] == sent
    store = session.messenger.store
    assert await store.messages.count(session.session_id, str(bob.pn)) == BACKLOG
    assert db.unit_count - units >= BACKLOG
    # Without pipelining each message (and the login's own writes) would be a commit.
    assert db.commit_count - commits < BACKLOG
