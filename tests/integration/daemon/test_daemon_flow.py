"""The whole flow through the HTTP API alone, against a real daemon process and the sandbox:
create a session, fetch its QR, the sandbox phone scans it, send a message, receive the reply by
a signed webhook, follow the event stream and resume it, page through the chat 20 at a time,
mark it read. The same on PostgreSQL (``storage.url``), where /health and /health/deep probe
the server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from daemon_harness import (
    ADMIN_KEY,
    WEBHOOK_SECRET,
    DaemonFactory,
    Receiver,
    admin,
    create_account,
)

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"


async def sse_events(url: str, key: str, want: int, last_id: str | None) -> list[dict[str, Any]]:
    headers = {"x-api-key": key, "Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    found: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/sessions/alice/events", headers=headers) as response,
    ):
        assert response.status == 200
        data = None
        async with asyncio.timeout(10):
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    data = json.loads(line[len("data: ") :])
                elif line == "" and data is not None:
                    found.append(data)
                    data = None
                    if len(found) == want:
                        break
    return found


async def test_the_whole_flow_through_the_api(
    daemon_factory: DaemonFactory,
    sandbox: SandboxServer,
    receiver: Receiver,
    storage_environ: dict[str, str],
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    await admin(sandbox, "POST", f"/accounts/{FRIEND}/auto-reply", {"enabled": True})
    daemon = await daemon_factory(storage_environ)
    api = daemon.api()

    created = await api.call("POST", "/sessions", {"id": "alice", "name": "Alice's shop"})
    assert created.status == 201
    key = created.body["apiKey"]["key"]
    scoped = daemon.api(key)
    hook = await scoped.call(
        "POST", "/sessions/alice/webhooks", {"url": receiver.url, "secret": WEBHOOK_SECRET}
    )
    assert hook.status == 201

    # Pairing: the QR from the API (JSON and PNG), scanned by the owner's sandbox phone.
    pairing = await scoped.call("POST", "/sessions/alice/pair")
    assert pairing.status == 200 and pairing.body["qr"].startswith("https://wa.me/")
    png = await scoped.call("GET", "/sessions/alice/qr?format=png")
    assert png.status == 200 and png.body[:4] == b"\x89PNG"
    await admin(sandbox, "POST", f"/accounts/{OWNER}/scan-qr", {"qr": pairing.body["qr"]})
    session = await scoped.wait_for("/sessions/alice", lambda s: s["status"] == "connected")
    assert session["phoneNumber"] == OWNER and session["socketAlive"] is True

    # The event stream so far, then resumed after the last one seen.
    first = await sse_events(daemon.url, key, 3, None)
    assert [e["seq"] for e in first] == [1, 2, 3]

    # Send; the same Idempotency-Key does not send twice.
    body = {"to": f"+{FRIEND}", "text": "hello"}
    sent = await scoped.call(
        "POST", "/sessions/alice/messages", body, headers={"Idempotency-Key": "greeting-1"}
    )
    assert sent.status == 202 and sent.body["status"] == "pending"
    again = await scoped.call(
        "POST", "/sessions/alice/messages", body, headers={"Idempotency-Key": "greeting-1"}
    )
    assert again.body["id"] == sent.body["id"]
    message_id = sent.body["id"]

    # The friend's phone got it once and answered; the answer arrives by a signed webhook.
    def replies() -> list[dict[str, Any]]:
        return [
            e["data"]["message"]
            for e in receiver.of_type("message.received")
            if e["data"]["message"]["chat"] == FRIEND_JID
        ]

    async with asyncio.timeout(20):
        while not replies():
            await asyncio.sleep(0.05)
    (reply,) = replies()
    assert reply["text"] == "echo: hello" and reply["chat"] == FRIEND_JID
    assert receiver.bad_signatures == 0
    got = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
    assert [m["id"] for m in got if m["text"] == "hello"] == [message_id]
    detail = await scoped.wait_for(
        f"/sessions/alice/messages/{message_id}",
        lambda m: m["status"] in ("delivered", "read") and m["receipts"],
    )
    assert detail["message"]["text"] == "hello" and detail["receipts"][0]["status"] == "delivered"

    resumed = await sse_events(daemon.url, key, 2, str(first[-1]["seq"]))
    assert [e["seq"] for e in resumed] == [4, 5]

    # 45 more from the friend, then page through the chat 20 at a time, newest first. (Server
    # timestamps have whole seconds: wait one, so these sort after our "hello".)
    await asyncio.sleep(1.1)
    for n in range(45):
        await admin(sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": f"n{n}"})
    chat_path = f"/sessions/alice/chats/{FRIEND_JID}/messages"
    await scoped.wait_for(
        f"{chat_path}?limit=100", lambda page: len(page["messages"]) == 47, timeout=30
    )
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        page = (await scoped.call("GET", chat_path + (f"?before={cursor}" if cursor else ""))).body
        pages.append(page["messages"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [20, 20, 7]
    texts = [m["text"] for p in pages for m in p]
    assert texts[:3] == ["n44", "n43", "n42"] and texts[-2:] == ["echo: hello", "hello"]
    assert len({m["id"] for p in pages for m in p}) == 47

    chats = (await scoped.call("GET", "/sessions/alice/chats")).body["chats"]
    (chat,) = [c for c in chats if c["jid"] == FRIEND_JID]
    assert chat["lastMessage"]["preview"] == "n44" and chat["unreadCount"] == 46
    read = await scoped.call("POST", f"/sessions/alice/chats/{FRIEND_JID}/read", {})
    assert read.status == 200 and read.body["read"] >= 46
    await scoped.wait_for(
        "/sessions/alice/chats",
        lambda page: next(c for c in page["chats"] if c["jid"] == FRIEND_JID)["unreadCount"] == 0,
    )
    # Every webhook delivery was signed, and each event arrived under its stable id.
    assert receiver.bad_signatures == 0
    assert len({e["id"] for e in receiver.deliveries}) == len(receiver.deliveries)
    health = await api.call("GET", "/health", key=None)
    assert health.status == 200 and health.body["status"] == "ok"
    deep = await api.call("GET", "/health/deep")
    assert deep.status == 200 and deep.body["database"]["connected"] is True
    assert await daemon.stop() == 0
    assert api.checked and ADMIN_KEY


async def test_pairing_by_code_through_the_api(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    daemon = await daemon_factory()
    api = daemon.api()
    assert (await api.call("POST", "/sessions", {"id": "bob"})).status == 201
    reply = await api.call("POST", "/sessions/bob/pair-code", {"phone": f"+{OWNER}"})
    assert reply.status == 200, reply.body
    assert reply.body["phone"] == OWNER and len(reply.body["code"]) == 9
    await admin(sandbox, "POST", f"/accounts/{OWNER}/pair-code", {"code": reply.body["code"]})
    session = await api.wait_for("/sessions/bob", lambda s: s["status"] == "connected")
    assert session["phoneNumber"] == OWNER
    events = (await api.call("GET", "/sessions/bob/events?types=pair.code,session.paired")).body
    assert [e["type"] for e in events["events"]] == ["pair.code", "session.paired"]
    assert await daemon.stop() == 0
