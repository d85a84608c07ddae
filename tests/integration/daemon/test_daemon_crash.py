"""``kill -9`` the daemon with 200 messages in the outbox and webhook deliveries pending:
after the restart every message reaches the recipient exactly once (by message id, as the
sandbox counts what its phone received) and every event is delivered at least once, under the
same id it had before the crash. The same on SQLite and on PostgreSQL (``storage.url``).

Sends are sequential per session, so at most one attempt can be in flight when the process
dies. Its outcome is unknown (the server may have taken it just before the kill): the restart
sends it again under the same message id and counts it in ``uncertainSends``. That one
message, and only it, may reach the phone twice with the same id; the phone, like every
WhatsApp client, shows a message once per id, so the count the sandbox reports is exact.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from daemon_harness import (
    WEBHOOK_SECRET,
    Api,
    DaemonFactory,
    Receiver,
    admin,
    create_account,
    pair,
)

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
MESSAGES = 200
IN_FLIGHT = 4
SETTINGS = {
    "outbox": {"rate_per_minute": 3000.0, "burst": 1, "max_in_flight": IN_FLIGHT},
    # Retries a second or two apart: on PostgreSQL every retry of every pending delivery is a
    # commit of its own, and a tighter loop only makes the test slower.
    "webhooks": {"max_attempts": 1000, "retry_base_s": 1.0, "retry_cap_s": 2.0},
}


async def received_ids(sandbox: SandboxServer) -> list[str]:
    got = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
    return [m["id"] for m in got if (m["text"] or "").startswith("bulk ")]


async def all_events(api: Api) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = (await api.call("GET", f"/sessions/alice/events?after={cursor}&limit=1000")).body
        events += page["events"]
        if not page["events"]:
            return events
        cursor = page["nextCursor"]


async def test_kill_9_loses_nothing(
    daemon_factory: DaemonFactory,
    sandbox: SandboxServer,
    receiver: Receiver,
    storage_environ: dict[str, str],
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    first = await daemon_factory(storage_environ, **SETTINGS)
    api = first.api()
    await pair(api, sandbox, "alice", OWNER)
    # A webhook gets the events appended after it exists. Pairing keeps appending events for
    # a while (history, contacts), so the cursor is read only once the webhook exists: every
    # event after it was appended after the webhook and must reach it.
    await api.call(
        "POST", "/sessions/alice/webhooks", {"url": receiver.url, "secret": WEBHOOK_SECRET}
    )
    subscribed_after = (await api.call("GET", "/sessions/alice/events?limit=1000")).body[
        "nextCursor"
    ]
    receiver.status = 503  # the CRM is down: every delivery stays pending

    # All at once: accepted one by one, a busy machine could take longer to post them than
    # the outbox takes to send them, and the kill would find nothing left to lose.
    async def accept(n: int) -> str:
        reply = await api.call(
            "POST",
            "/sessions/alice/messages",
            {"to": FRIEND, "text": f"bulk {n}"},
            headers={"Idempotency-Key": f"bulk-{n}"},
        )
        assert reply.status == 202
        return str(reply.body["id"])

    ids = await asyncio.gather(*(accept(n) for n in range(MESSAGES)))
    assert len(set(ids)) == MESSAGES
    async with asyncio.timeout(30):
        while len(await received_ids(sandbox)) < 40:
            await asyncio.sleep(0.02)
    await first.kill()  # SIGKILL: nothing flushed, nothing closed
    before_kill = set(receiver.attempts)
    assert before_kill, "some deliveries were attempted (and refused) before the kill"
    at_kill = len(await received_ids(sandbox))
    assert at_kill < MESSAGES, "the kill came before the outbox was drained"

    receiver.status = 200
    second = await daemon_factory(storage_environ, **SETTINGS)
    api = second.api()
    async with asyncio.timeout(60):
        while len(set(await received_ids(sandbox))) < MESSAGES:
            await asyncio.sleep(0.1)
    counts = Counter(await received_ids(sandbox))
    assert set(counts) == set(ids)
    repeated = {message_id for message_id, n in counts.items() if n > 1}
    uncertain = set()
    for message_id in ids:
        row = (await api.call("GET", f"/sessions/alice/messages/{message_id}")).body
        assert row["status"] in ("sent", "delivered", "read"), row
        if row["uncertainSends"]:
            uncertain.add(message_id)
    # Only sends that were in flight at the kill are uncertain: one at a time while each is
    # acked within the rate's 20 ms, more (up to the outbox's window) when a send takes
    # longer, as on PostgreSQL on a busy machine.
    assert len(uncertain) <= IN_FLIGHT
    # The uncertain send goes out again under the same id; the recipient shows it once.
    assert repeated == set()
    assert sum(counts.values()) == MESSAGES

    # Every event of the log reaches the receiver, with the id it had before the crash.
    events = await all_events(api)
    wanted = {e["id"] for e in events if e["seq"] > subscribed_after}
    assert len(wanted) > MESSAGES  # message statuses, chat updates, receipts, connection
    async with asyncio.timeout(60):
        while not wanted <= {e["id"] for e in receiver.deliveries}:
            await asyncio.sleep(0.1)
    assert before_kill <= {e["id"] for e in receiver.deliveries}
    assert receiver.bad_signatures == 0
    assert await second.stop() == 0
