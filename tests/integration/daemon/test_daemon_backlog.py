"""Start-up with a backlog: after a kill -9, hundreds of messages wait on the server. Draining
them is progress, not a failed connect: the first attempt is never aborted while frames flow,
and every message is stored once."""

from __future__ import annotations

import asyncio
from typing import Any

from daemon_harness import Api, DaemonFactory, admin, create_account, device_jid, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"
BACKLOG = 300


async def chat_ids(api: Api) -> list[str]:
    ids: list[str] = []
    path = f"/sessions/alice/chats/{FRIEND_JID}/messages?limit=100"
    cursor = None
    while True:
        page = (await api.call("GET", path + (f"&before={cursor}" if cursor else ""))).body
        ids += [m["id"] for m in page["messages"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return ids


async def test_draining_the_offline_backlog_is_not_a_failed_connect(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    # A start-up attempt that must reach the server and log in quickly, but may take as long as
    # the backlog needs while frames keep arriving.
    settings: dict[str, dict[str, Any]] = {"manager": {"startup_attempt_timeout_s": 1.0}}
    daemon = await daemon_factory(**settings)
    await pair(daemon.api(), sandbox, "alice", OWNER)
    jid = device_jid((await daemon.api().call("GET", "/sessions/alice")).body)
    await daemon.kill()

    sent: list[str] = []
    for first in range(0, BACKLOG, 25):
        answers = await asyncio.gather(
            *(
                admin(
                    sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": f"m{n}"}
                )
                for n in range(first, first + 25)
            )
        )
        sent += [answer["id"] for answer in answers]
    assert len(await admin(sandbox, "GET", f"/devices/{jid}/queue")) >= BACKLOG

    daemon = await daemon_factory(**settings)
    api = daemon.api()
    await daemon.wait_log("manager.startup_connected", timeout=120)
    async with asyncio.timeout(120):
        while len(await chat_ids(api)) < BACKLOG:
            await asyncio.sleep(0.2)
    ids = await chat_ids(api)
    assert sorted(ids) == sorted(sent) and len(ids) == len(set(ids))
    assert not daemon.matching("manager.startup_attempt_failed")
    assert not daemon.matching("manager.startup_retry_scheduled")
    assert daemon.matching("manager.startup_connected")[0]["attempt"] == 1
    async with asyncio.timeout(30):  # every one acked: the server keeps nothing for us
        while await admin(sandbox, "GET", f"/devices/{jid}/queue"):
            await asyncio.sleep(0.1)
    assert await daemon.stop() == 0
