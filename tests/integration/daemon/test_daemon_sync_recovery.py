"""Sync recovery paths through a real daemon: a history chunk whose blob expired is reported
back and arrives again (``history.progress`` failed, then done, every message stored once); an
app-state collection the server keeps serving broken is recovered from the phone's own copy."""

from __future__ import annotations

import asyncio
import sqlite3

from daemon_harness import DaemonFactory, DaemonProcess, admin, create_account, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15557770000@s.whatsapp.net"
SEED = {
    "conversations": [
        {
            "jid": FRIEND,
            "name": "Friend",
            "messages": [
                {"id": f"FR{i}", "timestamp": 1_700_000_000 + i, "text": f"#{i}"} for i in range(8)
            ],
        }
    ],
    "plan": {"bootstrap_messages_per_chat": 2, "recent_messages_per_chat": 3, "inline": False},
}


def _query(daemon: DaemonProcess, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{daemon.database}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


async def test_history_reupload_and_app_state_recovery(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await admin(sandbox, "POST", f"/accounts/{OWNER}/history", SEED)
    await admin(sandbox, "POST", "/media/expire-next", {"count": 1})
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "crm", OWNER)

    def stored() -> int:
        rows = _query(daemon, f"SELECT COUNT(*) FROM messages WHERE chat_jid = '{FRIEND}'")
        return int(str(rows[0][0]))

    body = await api.wait_for(
        "/sessions/crm/events?types=history.progress",
        lambda b: any(e["data"]["status"] == "failed" for e in b["events"]) and stored() == 8,
    )
    failed = [e["data"] for e in body["events"] if e["data"]["status"] == "failed"]
    assert len(failed) == 1 and "upload it again" in failed[0]["reason"]
    await daemon.wait_log("client.history_reupload_requested")

    # A patch the server serves broken even in a full resync: the phone's copy brings it.
    await admin(
        sandbox,
        "POST",
        f"/accounts/{OWNER}/app-state",
        {"action": "archive", "chat": FRIEND, "tamper": "patch"},
    )
    await daemon.wait_log("client.app_state_recovered", collection="regular_low")
    async with asyncio.timeout(10):
        while _query(daemon, f"SELECT archived FROM chats WHERE jid = '{FRIEND}'") != [(1,)]:
            await asyncio.sleep(0.1)
    assert await daemon.stop() == 0
