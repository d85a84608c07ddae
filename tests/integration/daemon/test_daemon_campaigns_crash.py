"""``kill -9`` the daemon in the middle of a campaign: after the restart every recipient's phone
has the message exactly once (as the sandbox counts what each phone received), the counts are
right, and the pace held (by the sandbox's timestamps).

Each recipient is a sandbox account with its own phone, and a first message to a person costs a
device lookup, a prekey fetch and a Signal session: the default run uses 200 recipients so the
suite stays fast on a shared 2-core machine; ``WAMD_CAMPAIGN_CRASH_RECIPIENTS=2000`` runs the
full-size campaign (a few minutes there).

Every recipient is handed to the outbox under the idempotency key derived from the campaign and
the recipient, in one transaction with its ``queued`` mark, so a crash leaves it either pending
(handed over once, after the restart) or queued (its outbox row is sent once). At most the one
send the outbox had in flight is repeated, under the same message id, which a phone shows once.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from daemon_harness import Api, DaemonFactory, create_account, pair

from sandbox.app import SandboxServer
from sandbox.config import SandboxConfig
from sandbox.phone.phone import PhoneSettings, phone_factory

OWNER = "15550001111"
RECIPIENTS = int(os.environ.get("WAMD_CAMPAIGN_CRASH_RECIPIENTS", "200"))
RATE = 6000
SETTINGS = {"outbox": {"rate_per_minute": 60000.0, "burst": 50}}
TEXT = "Sale starts today, {{name}}"
WAIT_S = 60 + RECIPIENTS * 0.2
"""Generous bounds for a loaded machine (a wait, never a timing assertion)."""


def phone(n: int) -> str:
    return f"1666{n:07d}"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxServer]:
    """Phones that upload one prekey: each receives one first message, and 2,000 of them
    start in a fraction of the default's time."""
    settings = PhoneSettings(prekey_batch=1, min_prekeys=1)
    async with SandboxServer(
        SandboxConfig(state_dir=tmp_path / "sandbox"), phone_factory=phone_factory(settings)
    ) as server:
        yield server


def received(sandbox: SandboxServer) -> list[tuple[str, int]]:
    """(message id, timestamp) of every campaign message the phones received (each phone's
    own record)."""
    return [
        (message.id, message.timestamp)
        for n in range(RECIPIENTS)
        for message in sandbox.network.phones[phone(n)].messages_received
        if (message.text or "").startswith("Sale starts today")
    ]


def received_counts(sandbox: SandboxServer) -> Counter[str]:
    return Counter(message_id for message_id, _at in received(sandbox))


def max_in_any_minute(times: list[int]) -> int:
    ordered = sorted(times)
    return max((bisect_left(ordered, t + 60) - i for i, t in enumerate(ordered)), default=0)


async def campaign_of(api: Api, path: str) -> dict[str, object]:
    reply = await api.call("GET", path)
    assert reply.status == 200
    return dict(reply.body)


async def test_kill_9_mid_campaign_sends_each_recipient_once(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    for n in range(RECIPIENTS):
        await sandbox.network.create_account(phone(n), push_name=f"P{n}")
    first = await daemon_factory(**SETTINGS)
    api = first.api()
    await pair(api, sandbox, "alice", OWNER)
    created = await api.call(
        "POST",
        "/sessions/alice/campaigns",
        {"name": "sale", "content": {"type": "text", "text": TEXT}, "ratePerMinute": RATE},
    )
    path = f"/sessions/alice/campaigns/{created.body['id']}"
    recipients = [{"to": f"+{phone(n)}", "variables": {"name": f"P{n}"}} for n in range(RECIPIENTS)]
    added = await api.call("POST", f"{path}/recipients", {"recipients": recipients})
    assert added.body["added"] == RECIPIENTS
    assert (await api.call("POST", f"{path}/start")).body["status"] == "processing"

    async with asyncio.timeout(WAIT_S):
        while sum(received_counts(sandbox).values()) < RECIPIENTS // 4:
            await asyncio.sleep(0.5)
    await first.kill()  # SIGKILL: nothing flushed, nothing closed
    at_kill = sum(received_counts(sandbox).values())
    assert at_kill < RECIPIENTS, "the kill came before the campaign was done"

    second = await daemon_factory(**SETTINGS)
    api = second.api()
    done = await api.wait_for(path, lambda c: c["status"] == "completed", timeout=WAIT_S)
    # Completed at the server's acks; the last phones may record their message a moment later.
    async with asyncio.timeout(30):
        while len(received_counts(sandbox)) < RECIPIENTS:
            await asyncio.sleep(0.2)
    counts = received_counts(sandbox)
    assert len(counts) == RECIPIENTS
    assert set(counts.values()) == {1}, "a phone showed a campaign message twice"
    assert done["counts"]["total"] == RECIPIENTS
    assert done["counts"]["failed"] == 0 and done["counts"]["pending"] == 0
    assert done["counts"]["queued"] == 0
    # Every recipient's message id is the one its phone received.
    ids: set[str] = set()
    cursor = "0"
    while cursor:
        page = (await api.call("GET", f"{path}/recipients?limit=100&cursor={cursor}")).body
        ids |= {r["messageId"] for r in page["recipients"]}
        cursor = page["nextCursor"]
    assert ids == set(counts)
    # The pace held across the restart, by the sandbox's own timestamps.
    assert max_in_any_minute([at for _id, at in received(sandbox)]) <= RATE
    assert await second.stop() == 0
