"""The 2026 service through the HTTP API alone: a real daemon against the sandbox in enforcing
mode — LID-first DMs with privacy tokens, a 463 that fails one message and nothing else, and a
reachout time-lock that holds only new chats and is shown on the session."""

from __future__ import annotations

import asyncio
from typing import Any

from daemon_harness import DaemonFactory, admin, create_account, pair

from daemon.binary import JID
from sandbox.app import SandboxServer
from sandbox.service_rules import Timelock

OWNER = "15550007001"
BOB = "15550007002"
CARL = "15550007003"
DAVE = "15550007004"


def accepted_with(rules: dict[str, Any], phone: str) -> str | None:
    found = rules["accepted_with"].get(phone)
    return None if found is None else str(found)


async def test_tokens_463_and_restrictions_through_the_api(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    for phone, name in ((OWNER, "Owner"), (BOB, "Bob"), (CARL, "Carl"), (DAVE, "Dave")):
        await create_account(sandbox, phone, name)
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "shop", OWNER)
    session_jid = (await api.call("GET", "/sessions/shop")).body["jid"]
    # The history bootstrap carries our NCT salt (the key of our cstokens).
    await api.wait_for(
        "/sessions/shop/events?types=history.progress",
        lambda page: any(e["data"]["syncType"] == "INITIAL_BOOTSTRAP" for e in page["events"]),
        timeout=30,
    )

    async def send(to: str, text: str) -> str:
        sent = await api.call("POST", "/sessions/shop/messages", {"to": f"+{to}", "text": text})
        assert sent.status == 202, sent.body
        return str(sent.body["id"])

    async def delivered(message_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await api.wait_for(
            f"/sessions/shop/messages/{message_id}",
            lambda m: m["status"] in ("delivered", "read"),
            timeout=30,
        )
        return found

    # A first message to someone who never wrote to us: delivered on a cstoken.
    first = await send(BOB, "hello Bob")
    await delivered(first)
    rules = await admin(sandbox, "GET", f"/accounts/{OWNER}/rules")
    assert accepted_with(rules, BOB) == "cstoken"

    # Bob writes back; from then on our messages carry his token.
    await admin(sandbox, "POST", f"/accounts/{BOB}/messages", {"to": OWNER, "text": "hi shop"})
    await api.wait_for(
        "/sessions/shop/chats", lambda page: any(c["unreadCount"] for c in page["chats"])
    )
    chats = (await api.call("GET", "/sessions/shop/chats")).body["chats"]
    [bob_chat] = [c for c in chats if c["jid"] == f"{BOB}@s.whatsapp.net"]
    assert bob_chat["lid"] and bob_chat["lid"].endswith("@lid")  # one chat, both names
    by_lid = await api.call("GET", f"/sessions/shop/chats/{bob_chat['lid']}/messages")
    assert by_lid.status == 200 and len(by_lid.body["messages"]) == 2

    # The daemon keeps Bob's token before it acks the privacy_token notification.
    network = sandbox.network
    device = network.directory.to_pn(JID.parse(session_jid))
    assert device is not None

    async def token_acked() -> bool:
        told = [n for n in network.delivery_log.get(device, ()) if n.tag == "notification"]
        pending = await network.offline.pending(device)
        return any(n.attr_str("type") == "privacy_token" for n in told) and not any(
            n.attr_str("type") == "privacy_token" for n in pending
        )

    async with asyncio.timeout(30):
        while not await token_acked():
            await asyncio.sleep(0.05)
    reply = await send(BOB, "thanks")
    await delivered(reply)
    rules = await admin(sandbox, "GET", f"/accounts/{OWNER}/rules")
    assert accepted_with(rules, BOB) == "tctoken"

    # The service starts refusing new chats without telling us first: the message to Carl
    # fails with the reason, Bob's chat keeps flowing, nothing pauses.
    sandbox.network.rules.timelocks[OWNER] = Timelock(True, "DEFAULT", sandbox.network.now() + 600)
    to_carl = await send(CARL, "cold outreach")
    to_bob = await send(BOB, "still here")
    failed = await api.wait_for(
        f"/sessions/shop/messages/{to_carl}", lambda m: m["status"] == "failed", timeout=30
    )
    assert "463" in failed["error"] and "contact" in failed["error"]
    await delivered(to_bob)
    outbox = (await api.call("GET", "/sessions/shop/outbox")).body
    assert outbox["paused"] is None

    # The service announces a time-lock: shown on the session and in /health/deep, raised as
    # an alert; a new chat (Dave) is held until it ends while Bob's chat flows on.
    status = await admin(
        sandbox,
        "POST",
        f"/accounts/{OWNER}/reachout-timelock",
        {"active": True, "enforcement_type": "BIZ_QUALITY", "seconds": 3600},
    )
    assert status["notified"] == 1
    session = await api.wait_for("/sessions/shop", lambda s: bool(s["restrictions"]))
    [lock] = session["restrictions"]
    assert lock["kind"] == "reachout_timelock" and lock["blocksNewChats"] is True
    assert lock["detail"] == "BIZ_QUALITY" and lock["until"]
    deep = (await api.call("GET", "/health/deep")).body
    [entry] = [s for s in deep["sessions"] if s["sessionId"] == "shop"]
    assert entry["restrictions"][0]["kind"] == "reachout_timelock"
    alerts = (await api.call("GET", "/sessions/shop/events?types=alert")).body["events"]
    assert any(e["data"]["kind"] == "account_restricted" for e in alerts)
    to_dave = await send(DAVE, "new lead")
    again = await send(BOB, "and another")
    await delivered(again)
    held = await api.wait_for(
        f"/sessions/shop/messages/{to_dave}", lambda m: "held" in (m["error"] or ""), timeout=30
    )
    assert held["status"] == "pending" and held["nextAttemptAt"]
    got = await admin(sandbox, "GET", f"/accounts/{DAVE}/messages")
    assert got == []
