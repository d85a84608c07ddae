"""Calls and status stanzas through a real daemon: every ``call`` and ``status`` stanza is acked
(nothing stays queued on the server to come back on the next reconnect), calls become
``call.offered`` / ``call.ended`` events, and with ``calls.auto_reject`` the daemon declines the
call with a reject stanza the caller's side sees."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from daemon_harness import Api, DaemonFactory, admin, create_account, device_jid, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
CALLER = "15550004444"


async def _events(api: Api, types: str, count: int) -> list[dict[str, Any]]:
    body = await api.wait_for(
        f"/sessions/crm/events?types={types}", lambda b: len(b["events"]) >= count
    )
    events: list[dict[str, Any]] = body["events"]
    return events


async def _queue_empty(sandbox: SandboxServer, device: str) -> bool:
    queue = await admin(sandbox, "GET", f"/devices/{device}/queue")
    return not queue


async def test_calls_are_reported_acked_and_auto_rejected(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, CALLER, "Caller")
    daemon = await daemon_factory(calls={"auto_reject": True})
    api = daemon.api()
    await pair(api, sandbox, "crm", OWNER)
    session = (await api.call("GET", "/sessions/crm")).body
    device = device_jid(session)

    call = await admin(sandbox, "POST", f"/accounts/{CALLER}/calls", {"to": OWNER})
    events = await _events(api, "call.offered,call.ended", 2)
    offered, ended = events[0], events[1]
    assert offered["type"] == "call.offered" and ended["type"] == "call.ended"
    assert offered["data"]["callId"] == call["callId"] == ended["data"]["callId"]
    assert offered["data"]["caller"] == f"{CALLER}@s.whatsapp.net"
    assert offered["data"]["autoRejected"] is True and offered["data"]["video"] is False
    assert ended["data"]["reason"] == "rejected"

    async def rejected() -> bool:
        calls = await admin(sandbox, "GET", "/calls")
        return bool(calls[0]["state"] == "rejected" and calls[0]["endedBy"] == device)

    await _wait(rejected)
    await _wait(lambda: _queue_empty(sandbox, device))

    # A status stanza is acked as well: nothing waits in the device's queue afterwards.
    pushed = await admin(sandbox, "POST", f"/devices/{device}/status", {})
    assert pushed["id"]
    await _wait(lambda: _queue_empty(sandbox, device))
    assert await daemon.stop() == 0


async def test_calls_ring_and_end_without_auto_reject(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, CALLER, "Caller")
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "crm", OWNER)
    device = device_jid((await api.call("GET", "/sessions/crm")).body)

    call = await admin(sandbox, "POST", f"/accounts/{CALLER}/calls", {"to": OWNER, "video": True})
    offered = (await _events(api, "call.offered", 1))[0]
    assert offered["data"]["autoRejected"] is False and offered["data"]["video"] is True
    calls = await admin(sandbox, "GET", "/calls")
    assert calls[0]["state"] == "ringing"
    await admin(sandbox, "POST", f"/calls/{call['callId']}/end")
    ended = (await _events(api, "call.ended", 1))[0]
    assert ended["data"]["callId"] == call["callId"] and ended["data"]["reason"] == "timeout"
    await _wait(lambda: _queue_empty(sandbox, device))
    assert await daemon.stop() == 0


async def _wait(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)
