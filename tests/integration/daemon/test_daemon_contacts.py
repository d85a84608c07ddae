"""Contacts, lookups and presence through the HTTP API of a real daemon and the sandbox: the
number check finds the sandbox accounts (and rejects what is not a number), PN ↔ LID both
ways, a profile picture set on a phone is served (its URL downloads the same bytes), our
presence and typing reach a phone, and a phone's presence and typing arrive as events."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import aiohttp
from daemon_harness import TIMEOUT, Api, DaemonFactory, admin, create_account, pair
from PIL import Image

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"
FRIEND_JID = f"{FRIEND}@s.whatsapp.net"
STRANGER = "15559990000"


async def phone_presence(sandbox: SandboxServer, want: Any) -> list[dict[str, Any]]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            seen = await admin(sandbox, "GET", f"/accounts/{FRIEND}/presence")
            if any(want(node) for node in seen):
                return list(seen)
            await asyncio.sleep(0.1)


async def event_matching(api: Api, kind: str, want: Any) -> dict[str, Any]:
    found = await api.wait_for(
        f"/sessions/desk/events?types={kind}&limit=1000",
        lambda page: any(want(e["data"]) for e in page["events"]),
    )
    return next(e for e in found["events"] if want(e["data"]))


async def test_contacts_lookups_and_presence(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    accounts = {a["phone"]: a for a in await admin(sandbox, "GET", "/accounts")}
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "desk", OWNER)

    # Number check: the sandbox account is on WhatsApp (with its LID), a stranger is not,
    # and anything that is not a number is refused before asking the server.
    checked = await api.call(
        "POST", "/sessions/desk/contacts/check", {"numbers": [f"+{FRIEND}", STRANGER]}
    )
    assert checked.status == 200, checked.body
    friend, stranger = checked.body["results"]
    assert friend == {
        "number": FRIEND,
        "onWhatsApp": True,
        "jid": FRIEND_JID,
        "lid": accounts[FRIEND]["lid"],
        "businessName": None,
    }
    assert stranger["number"] == STRANGER and not stranger["onWhatsApp"]
    assert stranger["jid"] is None
    refused = await api.call(
        "POST", "/sessions/desk/contacts/check", {"numbers": [FRIEND, "call me", "0123"]}
    )
    assert refused.status == 400 and refused.body["invalid"] == ["call me", "0123"]

    # PN ↔ LID, both ways; the contact list has the friend under both names.
    lid = accounts[FRIEND]["lid"]
    forward = await api.call("GET", f"/sessions/desk/lids/{FRIEND_JID}")
    backward = await api.call("GET", f"/sessions/desk/lids/{lid}")
    assert forward.body == backward.body == {"pn": FRIEND_JID, "lid": lid}
    unknown = await api.call("GET", "/sessions/desk/lids/999999999@lid")
    assert unknown.status == 404
    contacts = await api.call("GET", "/sessions/desk/contacts")
    assert {"phoneNumber": FRIEND_JID, "lid": lid} in [
        {"phoneNumber": c["phoneNumber"], "lid": c["lid"]} for c in contacts.body["contacts"]
    ]

    # Profile picture: none yet, then the one the friend sets on their phone.
    assert (await api.call("GET", f"/sessions/desk/contacts/{FRIEND}/picture")).status == 404
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 10)).save(image, "JPEG")
    await admin(
        sandbox,
        "POST",
        f"/accounts/{FRIEND}/picture",
        {"data_base64": base64.b64encode(image.getvalue()).decode()},
    )
    # The earlier "none" is cached; the phone's number as a fresh key is not.
    picture = await api.call("GET", f"/sessions/desk/contacts/{lid}/picture")
    assert picture.status == 200, picture.body
    async with aiohttp.ClientSession() as http, http.get(picture.body["url"]) as response:
        assert await response.read() == image.getvalue()
    again = await api.call("GET", f"/sessions/desk/contacts/{lid}/picture")
    assert again.body == picture.body

    # Our presence and typing reach the friend's phone.
    await admin(sandbox, "POST", f"/accounts/{FRIEND}/presence", {"subscribe": OWNER})
    online = await api.call("POST", "/sessions/desk/presence", {"state": "available"})
    assert online.status == 200
    typing = await api.call(
        "POST", f"/sessions/desk/chats/{FRIEND_JID}/presence", {"state": "recording"}
    )
    assert typing.status == 200
    bad_state = await api.call(
        "POST", f"/sessions/desk/chats/{FRIEND_JID}/presence", {"state": "dancing"}
    )
    assert bad_state.status == 400
    seen = await phone_presence(
        sandbox,
        lambda n: n["tag"] == "chatstate" and n["content"][0]["attrs"].get("media") == "audio",
    )
    assert any(n["tag"] == "presence" and n["attrs"].get("type") != "unavailable" for n in seen)

    # The friend's presence and typing arrive as events once we subscribe.
    subscribed = await api.call("POST", f"/sessions/desk/contacts/{FRIEND}/subscribe")
    assert subscribed.status == 202
    await admin(sandbox, "POST", f"/accounts/{FRIEND}/presence", {"state": "available"})
    update = await event_matching(
        api, "presence.updated", lambda d: d["chat"] == FRIEND_JID and d["available"]
    )
    assert update["data"]["lastSeen"] is None
    await admin(
        sandbox, "POST", f"/accounts/{FRIEND}/presence", {"to": OWNER, "chatstate": "composing"}
    )
    state = await event_matching(api, "chatstate.updated", lambda d: d["chat"] == FRIEND_JID)
    assert state["data"]["state"] == "composing" and state["data"]["sender"] == FRIEND_JID
