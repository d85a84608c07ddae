"""An ad lead the service shows linked devices only as ``<unavailable>``, through a real daemon:
the daemon asks the phone for it, and the CRM gets the message like any other (an event marked
recovered, the message in the chat), once."""

from __future__ import annotations

from daemon_harness import DaemonFactory, admin, create_account, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
LEAD = "15550005555"


async def test_an_unavailable_message_reaches_the_crm(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, LEAD, "Lead")
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "crm", OWNER)

    sent = await admin(
        sandbox, "POST", f"/accounts/{OWNER}/unavailable", {"from": LEAD, "text": "I saw your ad"}
    )
    body = await api.wait_for(
        "/sessions/crm/events?types=message.received",
        lambda b: any(e["data"]["message"]["id"] == sent["id"] for e in b["events"]),
    )
    received = [e for e in body["events"] if e["data"]["message"]["id"] == sent["id"]]
    assert len(received) == 1
    assert received[0]["data"]["recovered"] is True
    assert received[0]["data"]["message"]["text"] == "I saw your ad"
    waiting = await api.call("GET", "/sessions/crm/events?types=message.undecryptable")
    assert [e["data"]["state"] for e in waiting.body["events"]] == ["waiting"]
    assert waiting.body["events"][0]["data"]["reason"].startswith("unavailable")
    page = await api.call("GET", f"/sessions/crm/chats/{LEAD}@s.whatsapp.net/messages")
    assert page.status == 200, page.body
    texts = [m["text"] for m in page.body["messages"] if m["id"] == sent["id"]]
    assert texts == ["I saw your ad"]
    assert await daemon.stop() == 0
