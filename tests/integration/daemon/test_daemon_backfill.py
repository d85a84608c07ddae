"""A real daemon process: after a disconnection longer than ``sync.backfill_after_offline_s``
the session asks its phone for the recent history of its most active chats, stores only
what it did not have, and reports progress as ``backfill.progress`` events."""

from __future__ import annotations

import asyncio
from typing import Any

from daemon_harness import Api, DaemonFactory, admin, create_account, pair

from sandbox.app import SandboxServer

ALICE = "15550001111"
BOB_CHAT = "15550002222@s.whatsapp.net"
CAROL_CHAT = "15550003333@s.whatsapp.net"


def conversation(jid: str, count: int, start: int) -> dict[str, Any]:
    return {
        "jid": jid,
        "messages": [
            {"id": f"{jid[:4]}HIST{n:04d}", "timestamp": start + n * 60, "text": f"old {n}"}
            for n in range(count)
        ],
    }


# Pairing brings only the newest two messages of each chat (bootstrap); the rest is what the
# backfill has to fetch.
SEED = {
    "conversations": [
        conversation(BOB_CHAT, 6, 1_760_000_000),
        conversation(CAROL_CHAT, 4, 1_750_000_000),
    ],
    "plan": {
        "bootstrap_messages_per_chat": 2,
        "recent_messages_per_chat": 0,
        "full_history": False,
    },
}


async def thread_size(api: Api, chat: str) -> int:
    page = await api.call("GET", f"/sessions/alice/chats/{chat}/messages?limit=100")
    return len(page.body["messages"])


async def backfill_events(api: Api) -> list[dict[str, Any]]:
    page = await api.call("GET", "/sessions/alice/events?types=backfill.progress&limit=100")
    return [e["data"] for e in page.body["events"]]


async def test_a_long_disconnection_is_followed_by_a_backfill(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, ALICE, "Alice")
    await admin(sandbox, "POST", f"/accounts/{ALICE}/history", SEED)
    daemon = await daemon_factory(
        sync={"backfill_after_offline_s": 2.0, "backfill_threads": 50, "backfill_count": 100}
    )
    api = daemon.api()
    await pair(api, sandbox, "alice", ALICE)
    async with asyncio.timeout(20):
        while await thread_size(api, BOB_CHAT) < 2 or await thread_size(api, CAROL_CHAT) < 2:
            await asyncio.sleep(0.1)
    assert (await thread_size(api, BOB_CHAT), await thread_size(api, CAROL_CHAT)) == (2, 2)
    assert await backfill_events(api) == []  # pairing is not a reconnect

    # A short disconnection does not backfill... (the threshold is 2 s)
    await api.call("POST", "/sessions/alice/disconnect")
    await api.call("POST", "/sessions/alice/connect")
    await api.wait_for("/sessions/alice", lambda s: s["status"] == "connected")
    # ...a long one does.
    await api.call("POST", "/sessions/alice/disconnect")
    await asyncio.sleep(2.5)
    await api.call("POST", "/sessions/alice/connect")
    async with asyncio.timeout(30):
        while not any(e["state"] == "finished" for e in await backfill_events(api)):
            await asyncio.sleep(0.1)
    events = await backfill_events(api)
    assert [e["state"] for e in events] == ["started", "chat", "chat", "finished"]
    assert events[0]["chats"] == 2 and events[0]["countPerChat"] == 100
    per_chat = {e["chat"]: (e["received"], e["stored"]) for e in events[1:3]}
    # Everything the phone has comes back; only what was missing is stored (de-duplicated).
    assert per_chat == {BOB_CHAT: (6, 4), CAROL_CHAT: (4, 2)}
    assert (events[3]["received"], events[3]["stored"], events[3]["failed"]) == (10, 6, 0)
    assert (await thread_size(api, BOB_CHAT), await thread_size(api, CAROL_CHAT)) == (6, 4)
    assert await daemon.stop() == 0
