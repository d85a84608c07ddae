"""Pin, mute, star and unarchive through the HTTP API of a real daemon: each goes up as an
app-state patch, and the account's sandbox phone (another device of the same account) applies
it, as WhatsApp's apps do."""

from __future__ import annotations

import asyncio
from typing import Any

from daemon_harness import TIMEOUT, Api, DaemonFactory, Reply, admin, create_account, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"


async def phone_records(sandbox: SandboxServer) -> dict[tuple[str, ...], dict[str, Any]]:
    state = await admin(sandbox, "GET", f"/accounts/{OWNER}/app-state")
    return {
        tuple(record["index"]): record["value"]
        for collection in state["collections"]
        for record in collection["phone_records"]
    }


async def phone_has(sandbox: SandboxServer, index: tuple[str, ...], want: Any) -> None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            value = (await phone_records(sandbox)).get(index)
            if value is not None and want(value):
                return
            await asyncio.sleep(0.1)


async def until_ok(api: Api, path: str, body: dict[str, Any]) -> Reply:
    """The first patch waits for the app-state key the phone shares after pairing."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            reply = await api.call("POST", path, body)
            if reply.status != 502:
                return reply
            await asyncio.sleep(0.2)


async def test_pin_mute_star_and_unarchive_reach_the_phone(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "desk", OWNER)
    sent = await admin(sandbox, "POST", f"/accounts/{FRIEND}/messages", {"to": OWNER, "text": "hi"})
    await api.wait_for(
        f"/sessions/desk/chats/{FRIEND_JID}/messages",
        lambda page: [m["id"] for m in page["messages"]] == [sent["id"]],
    )

    pinned = await until_ok(api, f"/sessions/desk/chats/{FRIEND_JID}/pin", {"pinned": True})
    assert pinned.status == 200 and pinned.body == {"chat": FRIEND_JID, "pinned": True}
    await phone_has(sandbox, ("pin_v1", FRIEND_JID), lambda v: v["pinAction"]["pinned"])

    muted = await api.call(
        "POST",
        f"/sessions/desk/chats/{FRIEND_JID}/mute",
        {"muted": True, "until": "2030-01-01T00:00:00Z"},
    )
    assert muted.status == 200 and muted.body["until"] == "2030-01-01T00:00:00Z"
    await phone_has(
        sandbox,
        ("mute", FRIEND_JID),
        lambda v: (
            v["muteAction"]["muted"]
            and int(v["muteAction"]["muteEndTimestamp"]) == 1_893_456_000_000
        ),
    )
    no_zone = await api.call(
        "POST", f"/sessions/desk/chats/{FRIEND_JID}/mute", {"muted": True, "until": "2030-01-01"}
    )
    assert no_zone.status == 400

    starred = await api.call(
        "POST",
        f"/sessions/desk/messages/{sent['id']}/star",
        {"chat": FRIEND_JID, "starred": True},
    )
    assert starred.status == 200, starred.body
    await phone_has(
        sandbox, ("star", FRIEND_JID, sent["id"], "0", "0"), lambda v: v["starAction"]["starred"]
    )
    missing = await api.call(
        "POST", "/sessions/desk/messages/NOPE/star", {"chat": FRIEND_JID, "starred": True}
    )
    assert missing.status == 404

    archived = await api.call(
        "POST", f"/sessions/desk/chats/{FRIEND_JID}/archive", {"archived": True}
    )
    assert archived.status == 200
    await phone_has(sandbox, ("archive", FRIEND_JID), lambda v: v["archiveChatAction"]["archived"])
    unarchived = await api.call(
        "POST", f"/sessions/desk/chats/{FRIEND_JID}/archive", {"archived": False}
    )
    assert unarchived.status == 200
    await phone_has(
        sandbox,
        ("archive", FRIEND_JID),
        lambda v: not v["archiveChatAction"].get("archived", False),
    )
