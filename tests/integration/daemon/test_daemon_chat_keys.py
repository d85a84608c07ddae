"""Chat permissions on session keys, through a real daemon and the sandbox: an admin session
makes two groups; a key restricted to the "claims" employee group posts there and is refused
everywhere else, sees only that group in chats, groups, messages, events and its own webhook;
a read-only key may read but not send; changing the key's chats applies to an open event
stream at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from daemon_harness import (
    TIMEOUT,
    WEBHOOK_SECRET,
    Api,
    DaemonFactory,
    Receiver,
    create_account,
    pair,
)

from sandbox.app import SandboxServer

OWNER = "15550001111"
ANN = "15550002222"
BOB = "15550003333"
BOB_JID = f"{BOB}@s.whatsapp.net"


async def make_group(api: Api, subject: str, members: list[str]) -> str:
    created = await api.call(
        "POST", "/sessions/office/groups", {"subject": subject, "participants": members}
    )
    assert created.status == 201, created.body
    return str(created.body["jid"])


async def send(api: Api, to: str, text: str) -> Any:
    return await api.call("POST", "/sessions/office/messages", {"to": to, "text": text})


def chat_of(event: dict[str, Any]) -> str | None:
    data = event["data"]
    if isinstance(data.get("message"), dict):
        return str(data["message"]["chat"])
    chat = data.get("chat")
    if isinstance(chat, dict):
        return str(chat["jid"])
    if isinstance(data.get("group"), dict):
        return str(data["group"]["jid"])
    return chat if isinstance(chat, str) else None


async def test_a_key_restricted_to_one_group(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, receiver: Receiver
) -> None:
    for phone, name in ((OWNER, "Owner"), (ANN, "Ann"), (BOB, "Bob")):
        await create_account(sandbox, phone, name)
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "office", OWNER)
    claims = await make_group(api, "Claims", [ANN, BOB])
    sales = await make_group(api, "Sales", [ANN])
    assert (await send(api, sales, "sales only")).status == 202

    issued = await api.call(
        "POST",
        "/sessions/office/api-keys",
        {"label": "claims team", "chats": [claims], "createdBy": "crm:ops@example.com"},
    )
    assert issued.status == 201, issued.body
    assert issued.body["chats"] == [claims] and issued.body["canSend"]
    assert issued.body["createdBy"] == "crm:ops@example.com"
    team = daemon.api(issued.body["key"])
    reader_key = await api.call(
        "POST", "/sessions/office/api-keys", {"chats": [claims], "canSend": False}
    )
    reader = daemon.api(reader_key.body["key"])
    bad = await api.call("POST", "/sessions/office/api-keys", {"chats": ["nope"]})
    assert bad.status == 400

    # Sending: only into the claims group, and not with the read-only key.
    posted = await send(team, claims, "from the claims team")
    assert posted.status == 202, posted.body
    for elsewhere in (sales, BOB_JID):
        refused = await send(team, elsewhere, "not here")
        assert refused.status == 403 and refused.body["type"].endswith("/chat-not-allowed")
    read_only = await send(reader, claims, "may I?")
    assert read_only.status == 403 and read_only.body["type"].endswith("/send-not-allowed")
    assert (await team.call("POST", "/sessions/office/groups", {"subject": "x"})).status == 403
    # Whole-session operations are not for a restricted key.
    for method, path in (
        ("POST", "/sessions/office/logout"),
        ("POST", "/sessions/office/disconnect"),
        ("GET", "/sessions/office/qr"),
        ("POST", "/sessions/office/presence"),
    ):
        denied = await team.call(method, path, {"state": "available"})
        assert denied.status == 403, (method, path, denied.body)
    assert (await api.call("GET", "/sessions/office")).body["status"] == "connected"

    # Reading: only the claims group, everywhere.
    groups = await team.call("GET", "/sessions/office/groups")
    assert [g["jid"] for g in groups.body["groups"]] == [claims]
    assert (await team.call("GET", f"/sessions/office/groups/{sales}")).status == 403
    chats = await team.call("GET", "/sessions/office/chats")
    assert [c["jid"] for c in chats.body["chats"]] == [claims]
    assert (await team.call("GET", f"/sessions/office/chats/{sales}/messages")).status == 403
    own = await reader.wait_for(
        f"/sessions/office/chats/{claims}/messages",
        lambda page: "from the claims team" in [m["text"] for m in page["messages"]],
    )
    assert own["messages"]
    outbox = await team.call("GET", "/sessions/office/outbox")
    assert {m["to"] for m in outbox.body["messages"]} == {claims}
    events = await team.call("GET", "/sessions/office/events?limit=1000")
    assert {chat_of(e) for e in events.body["events"]} <= {claims, None}
    everything = await api.call("GET", "/sessions/office/events?limit=1000")
    assert sales in {chat_of(e) for e in everything.body["events"]}

    # The team's webhook gets only the claims group's events.
    hook = await team.call(
        "POST", "/sessions/office/webhooks", {"url": receiver.url, "secret": WEBHOOK_SECRET}
    )
    assert hook.status == 201 and hook.body["chats"] == [claims]
    assert (await send(api, sales, "sales again")).status == 202
    last = await send(team, claims, "claims again")
    await wait_delivered(receiver, last.body["id"])
    delivered = {chat_of(e) for e in receiver.deliveries}
    assert claims in delivered and sales not in delivered

    # Re-scoping the key applies at once to an open stream and to the webhook.
    cursor = (await api.call("GET", "/sessions/office/events?limit=1000")).body["nextCursor"]
    async with EventStream(daemon.url, issued.body["key"], cursor) as events_seen:
        changed = await api.call(
            "PATCH", f"/sessions/office/api-keys/{issued.body['id']}", {"chats": [sales]}
        )
        assert changed.status == 200 and changed.body["chats"] == [sales]
        hidden = await send(api, claims, "claims, now hidden")
        shown = await send(api, sales, "sales, now shown")
        seen = await events_seen.until(lambda e: mentions(e, shown.body["id"]))
        assert not any(mentions(e, hidden.body["id"]) for e in seen)
    webhook = await api.call("GET", f"/webhooks/{hook.body['id']}")
    assert webhook.body["chats"] == [sales]
    assert (await send(team, sales, "now allowed")).status == 202
    assert (await send(team, claims, "now refused")).status == 403


def mentions(event: dict[str, Any], message_id: str) -> bool:
    data = event["data"]
    return (
        data.get("id") == message_id
        or message_id in data.get("ids", [])
        or (isinstance(data.get("message"), dict) and data["message"].get("id") == message_id)
    )


async def wait_delivered(receiver: Receiver, message_id: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not any(mentions(e, message_id) for e in receiver.deliveries):
            await asyncio.sleep(0.1)


class _Stream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def until(self, done: Any) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(TIMEOUT):
            async for raw in self._response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    event = json.loads(line[len("data: ") :])
                    seen.append(event)
                    if done(event):
                        return seen
        raise AssertionError(f"the stream ended first; saw {seen}")


class EventStream:
    """An SSE stream of the session's events for ``key`` from ``cursor``."""

    def __init__(self, url: str, key: str, cursor: int) -> None:
        self._url, self._key, self._cursor = url, key, cursor
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> _Stream:
        self._http = aiohttp.ClientSession()
        response = await self._http.get(
            f"{self._url}/sessions/office/events?after={self._cursor}",
            headers={"x-api-key": self._key, "Accept": "text/event-stream"},
        )
        assert response.status == 200
        # The stream is open (its first line arrives) before anything changes.
        assert (await response.content.readline()).startswith(b"retry:")
        return _Stream(response)

    async def __aexit__(self, *exc: object) -> None:
        assert self._http is not None
        await self._http.close()
