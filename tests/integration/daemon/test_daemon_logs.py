"""What the daemon writes over a whole run (pairing, sends, a failed send, receiving, request
errors, a failing webhook, a dropped connection, shutdown): every line is one JSON object, and no
line carries the admin key, a message text or an unmasked phone number."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from daemon_harness import (
    ADMIN_KEY,
    WEBHOOK_SECRET,
    DaemonFactory,
    DaemonProcess,
    Receiver,
    admin,
    create_account,
    device_jid,
    pair,
)

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
STRANGER = "15550009999"
"""Not on WhatsApp: a send to it fails with a reason naming the number."""
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"
TEXTS = ("meet me at the harbour", "the door code is 4711", "see you at noon")
NUMBERS = (OWNER, FRIEND, STRANGER)


async def nested_body(url: str, depth: int) -> int:
    """A body nested ``depth`` deep carrying a text and a number, with the admin key."""
    head = json.dumps({"to": f"+{FRIEND}", "text": TEXTS[1]})[:-1]
    body = f'{head}, "x": {"[" * depth}{"]" * depth}}}'
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/sessions/alice/messages",
            data=body,
            headers={"x-api-key": ADMIN_KEY, "Content-Type": "application/json"},
        ) as response,
    ):
        return response.status


async def a_whole_run(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, receiver: Receiver
) -> DaemonProcess:
    for phone, name in ((OWNER, "Owner"), (FRIEND, "Friend")):
        await create_account(sandbox, phone, name)
    receiver.status = 500  # every delivery fails and is retried
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "alice", OWNER)
    session = (await api.call("GET", "/sessions/alice")).body
    hook = {"url": receiver.url, "secret": WEBHOOK_SECRET}
    assert (await api.call("POST", "/sessions/alice/webhooks", hook)).status == 201

    sent = await api.call("POST", "/sessions/alice/messages", {"to": FRIEND, "text": TEXTS[0]})
    failing = await api.call(
        "POST", "/sessions/alice/messages", {"to": f"+{STRANGER}", "text": TEXTS[1]}
    )
    for reply in (sent, failing):
        assert reply.status == 202, reply.body
    await api.wait_for(
        f"/sessions/alice/messages/{sent.body['id']}", lambda m: m["status"] != "pending"
    )
    await api.wait_for(
        f"/sessions/alice/messages/{failing.body['id']}", lambda m: m["status"] == "failed"
    )
    await admin(sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": TEXTS[2]})
    await api.wait_for(
        f"/sessions/alice/chats/{FRIEND_JID}/messages",
        lambda page: any(m["text"] == TEXTS[2] for m in page["messages"]),
    )

    # Request errors: a wrong key on a path with a number, a body nested too deep to parse.
    wrong = await api.call("GET", f"/sessions/alice/chats/{FRIEND_JID}/messages", key="nope")
    assert wrong.status == 401
    assert await nested_body(daemon.url, 100_000) in (400, 413, 500)
    # The connection drops; the session reconnects.
    await admin(sandbox, "POST", "/faults/drop", {"device": device_jid(session)})
    await daemon.wait_log("client.disconnect_decision")
    await api.wait_for("/sessions/alice", lambda s: s["status"] == "connected")
    async with asyncio.timeout(20):
        while len(receiver.attempts) < 3:
            await asyncio.sleep(0.05)
    assert await daemon.stop() == 0
    return daemon


async def test_every_line_of_a_whole_run_is_one_json_object(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, receiver: Receiver
) -> None:
    daemon = await a_whole_run(daemon_factory, sandbox, receiver)
    assert len(daemon.lines) > 20
    for line in daemon.lines:
        entry = json.loads(line)
        assert isinstance(entry, dict) and isinstance(entry.get("event"), str), line
        assert "\n" not in line.rstrip("\n")


async def test_no_line_carries_the_admin_key_a_text_or_a_phone_number(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, receiver: Receiver
) -> None:
    daemon = await a_whole_run(daemon_factory, sandbox, receiver)
    output = "".join(daemon.lines)
    assert daemon.matching("outbox.failed") and daemon.matching("http.bad_api_key")
    leaks = [secret for secret in (ADMIN_KEY, WEBHOOK_SECRET, *TEXTS, *NUMBERS) if secret in output]
    lines = [line for line in daemon.lines if any(secret in line for secret in leaks)]
    assert not leaks, "\n".join(lines[:10])
