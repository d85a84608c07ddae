"""Groups through the HTTP API of a real daemon against the sandbox: an admin session creates a
group with two phones, the group is stored keyed by its JID with every participant's PN, LID and
role, it is changed (subject, description, admins, invite link), a phone removes the session
and the group turns read-only (a send is 409 before anything is queued), the session joins
again by invite code, and a group a phone creates appears."""

from __future__ import annotations

import asyncio

from daemon_harness import TIMEOUT, Api, DaemonFactory, admin, create_account, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
ANN = "15550002222"
BOB = "15550003333"


def pn(phone: str) -> str:
    return f"{phone}@s.whatsapp.net"


async def phone_texts(sandbox: SandboxServer, phone: str, chat: str) -> list[str]:
    received = await admin(sandbox, "GET", f"/accounts/{phone}/messages")
    return [m["text"] for m in received if m["chat"] == chat and m["text"]]


async def wait_phone_text(sandbox: SandboxServer, phone: str, chat: str, text: str) -> None:
    """Waits until the phone shows ``text`` in ``chat``."""
    async with asyncio.timeout(TIMEOUT):
        while text not in await phone_texts(sandbox, phone, chat):
            await asyncio.sleep(0.1)


async def outbox_total(api: Api, session: str) -> int:
    reply = await api.call("GET", f"/sessions/{session}/outbox")
    assert reply.status == 200
    return sum(reply.body["counts"].values())


async def test_groups_through_the_api(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    for phone, name in ((OWNER, "Owner"), (ANN, "Ann"), (BOB, "Bob")):
        await create_account(sandbox, phone, name)
    accounts = {a["phone"]: a for a in await admin(sandbox, "GET", "/accounts")}
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "office", OWNER)

    # Create: participants keyed by JID, with PN, LID and role.
    bad = await api.call(
        "POST", "/sessions/office/groups", {"subject": "x", "participants": ["not a number"]}
    )
    assert bad.status == 400
    created = await api.call(
        "POST", "/sessions/office/groups", {"subject": "Claims", "participants": [ANN, pn(BOB)]}
    )
    assert created.status == 201, created.body
    group = created.body
    jid = group["jid"]
    assert jid.endswith("@g.us") and created.headers["Location"].endswith(jid)
    members = {p["jid"]: p for p in group["participants"]}
    assert set(members) == {pn(OWNER), pn(ANN), pn(BOB)}
    assert members[pn(OWNER)]["role"] == "superadmin" and members[pn(ANN)]["role"] == "member"
    assert members[pn(ANN)]["lid"] == accounts[ANN]["lid"]
    assert members[pn(ANN)]["phoneNumber"] == pn(ANN)
    assert group["isMember"] and group["isAdmin"] and not group["readOnly"]
    assert group["lastSyncedAt"] is not None

    listed = await api.call("GET", "/sessions/office/groups?member=true")
    assert [g["jid"] for g in listed.body["groups"]] == [jid]
    bare = await api.call("GET", f"/sessions/office/groups/{jid.split('@')[0]}")
    assert bare.status == 200 and bare.body["subject"] == "Claims"
    missing = await api.call("GET", "/sessions/office/groups/120363000000000000@g.us")
    assert missing.status == 404

    # A message to the group reaches both phones.
    sent = await api.call("POST", "/sessions/office/messages", {"to": jid, "text": "hello team"})
    assert sent.status == 202, sent.body
    await wait_phone_text(sandbox, ANN, jid, "hello team")
    await wait_phone_text(sandbox, BOB, jid, "hello team")

    # Change it: subject, description, announce; promote Ann.
    patched = await api.call(
        "PATCH",
        f"/sessions/office/groups/{jid}",
        {"subject": "Claims desk", "description": "open claims", "announce": True},
    )
    assert patched.status == 200, patched.body
    assert patched.body["subject"] == "Claims desk"
    assert patched.body["description"] == "open claims" and patched.body["announce"]
    refreshed = await api.call("GET", f"/sessions/office/groups/{jid}?refresh=true")
    assert refreshed.body["subject"] == "Claims desk" and refreshed.body["announce"]
    assert refreshed.body["description"] == "open claims"
    promoted = await api.call(
        "POST", f"/sessions/office/groups/{jid}/admins", {"promote": [pn(ANN)]}
    )
    assert promoted.status == 200
    assert {p["jid"]: p["role"] for p in promoted.body["participants"]}[pn(ANN)] == "admin"

    # Invite link: get, revoke (the old code stops working).
    invite = await api.call("GET", f"/sessions/office/groups/{jid}/invite")
    assert invite.status == 200 and invite.body["link"].endswith(invite.body["code"])
    revoked = await api.call("DELETE", f"/sessions/office/groups/{jid}/invite")
    assert revoked.status == 200 and revoked.body["code"] != invite.body["code"]
    code = revoked.body["code"]

    # Ann (now an admin) removes the session on her phone: the group turns read-only.
    await admin(
        sandbox,
        "POST",
        f"/accounts/{ANN}/groups/{jid}/participants",
        {"action": "remove", "participants": [OWNER]},
    )
    await api.wait_for(f"/sessions/office/groups/{jid}", lambda g: g["readOnly"])
    before = await outbox_total(api, "office")
    refused = await api.call("POST", "/sessions/office/messages", {"to": jid, "text": "still?"})
    assert refused.status == 409 and refused.body["type"].endswith("/read-only-group")
    assert await outbox_total(api, "office") == before
    not_member = await api.call("GET", "/sessions/office/groups?member=false")
    assert [g["jid"] for g in not_member.body["groups"]] == [jid]

    # Join again with the invite code: a member (not admin) of an announce group stays
    # read-only; once Ann lifts announce, sends go through again.
    old = await api.call("POST", "/sessions/office/groups/join", {"code": invite.body["code"]})
    assert old.status == 410 and old.body["type"].endswith("/invite-revoked")
    joined = await api.call(
        "POST", "/sessions/office/groups/join", {"code": f"https://chat.whatsapp.com/{code}"}
    )
    assert joined.status == 200, joined.body
    assert joined.body["jid"] == jid and joined.body["group"]["isMember"]
    assert joined.body["group"]["readOnly"] and not joined.body["group"]["isAdmin"]
    announce = await api.call("POST", "/sessions/office/messages", {"to": jid, "text": "hm"})
    assert announce.status == 409
    await admin(
        sandbox, "POST", f"/accounts/{ANN}/groups/{jid}/settings", {"setting": "not_announcement"}
    )
    await api.wait_for(f"/sessions/office/groups/{jid}", lambda g: not g["readOnly"])
    back = await api.call("POST", "/sessions/office/messages", {"to": jid, "text": "back again"})
    assert back.status == 202
    await wait_phone_text(sandbox, BOB, jid, "back again")

    # A group Bob creates on his phone appears.
    made = await admin(
        sandbox, "POST", f"/accounts/{BOB}/groups", {"subject": "Bob's", "participants": [OWNER]}
    )
    other = made["jid"]
    found = await api.wait_for(
        "/sessions/office/groups",
        lambda page: other in [g["jid"] for g in page["groups"]],
    )
    mine = next(g for g in found["groups"] if g["jid"] == other)
    assert mine["subject"] == "Bob's" and mine["isMember"] and not mine["readOnly"]

    # Leave: stays stored, read-only.
    left = await api.call("POST", f"/sessions/office/groups/{other}/leave")
    assert left.status == 200 and left.body["readOnly"] and not left.body["isMember"]


async def test_groups_are_synced_at_login(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    """A group made while the daemon was down is listed after the next login, and a group the
    session was removed from meanwhile turns read-only."""
    for phone, name in ((OWNER, "Owner"), (ANN, "Ann")):
        await create_account(sandbox, phone, name)
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "office", OWNER)
    created = await api.call(
        "POST", "/sessions/office/groups", {"subject": "Old", "participants": [ANN]}
    )
    old = created.body["jid"]
    promoted = await api.call("POST", f"/sessions/office/groups/{old}/admins", {"promote": [ANN]})
    assert promoted.status == 200
    assert await daemon.stop() == 0

    made = await admin(
        sandbox, "POST", f"/accounts/{ANN}/groups", {"subject": "New", "participants": [OWNER]}
    )
    await admin(
        sandbox,
        "POST",
        f"/accounts/{ANN}/groups/{old}/participants",
        {"action": "remove", "participants": [OWNER]},
    )
    daemon = await daemon_factory()
    api = daemon.api()
    page = await api.wait_for(
        "/sessions/office/groups",
        lambda page: made["jid"] in [g["jid"] for g in page["groups"]],
    )
    by_jid = {g["jid"]: g for g in page["groups"]}
    assert by_jid[made["jid"]]["isMember"] and by_jid[made["jid"]]["subject"] == "New"
    await api.wait_for(f"/sessions/office/groups/{old}", lambda g: g["readOnly"])
    assert not by_jid[made["jid"]]["readOnly"]
    # The login sync (w:g2 participating) ran and listed the one group the session is in.
    synced = await daemon.wait_log("client.groups_synced")
    assert synced["groups"] == 1
    on_demand = await api.call("POST", "/sessions/office/groups/sync")
    assert on_demand.status == 200 and on_demand.body == {"synced": 1}
