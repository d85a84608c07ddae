"""Campaigns through the HTTP API alone, against a real daemon process and the sandbox: the
integration checklist ending in a campaign whose recipients reach delivered and then read;
pause, resume, cancel and a scheduled start; bad input that changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon_harness import (
    WEBHOOK_SECRET,
    Api,
    DaemonFactory,
    Receiver,
    admin,
    create_account,
    pair,
)

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIENDS = ["15550003331", "15550003332", "15550003333"]
FAST = {"outbox": {"rate_per_minute": 60000.0, "burst": 50}}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def events_of(api: Api, session: str, kind: str) -> list[dict[str, Any]]:
    page = (await api.call("GET", f"/sessions/{session}/events?types={kind}&limit=1000")).body
    return list(page["events"])


async def received(sandbox: SandboxServer, phone: str, prefix: str) -> list[dict[str, Any]]:
    got = await admin(sandbox, "GET", f"/accounts/{phone}/messages")
    return [m for m in got if (m["text"] or "").startswith(prefix)]


async def new_campaign(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    reply = await api.call("POST", "/sessions/alice/campaigns", body)
    assert reply.status == 201, reply.body
    assert reply.body["status"] == "draft"
    return dict(reply.body)


async def test_checklist_ends_with_a_campaign_read_by_every_recipient(
    daemon_factory: DaemonFactory, sandbox: SandboxServer, receiver: Receiver
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    for phone in FRIENDS:
        await create_account(sandbox, phone, f"Friend {phone[-1]}")
    daemon = await daemon_factory(**FAST)
    api = daemon.api()
    # connect → QR → paired and connected.
    await pair(api, sandbox, "alice", OWNER)
    # inbound
    await admin(sandbox, "POST", f"/accounts/{FRIENDS[0]}/messages", {"to": OWNER, "text": "hi"})
    await api.wait_for(
        "/sessions/alice/events?types=message.received&limit=1000",
        lambda page: any(e["data"]["message"]["text"] == "hi" for e in page["events"]),
    )
    # outbound
    sent = await api.call("POST", "/sessions/alice/messages", {"to": FRIENDS[0], "text": "hey"})
    assert sent.status == 202
    await api.wait_for(
        f"/sessions/alice/messages/{sent.body['id']}", lambda m: m["status"] != "pending"
    )

    # A CRM's webhook for the campaign events.
    hook = await api.call(
        "POST",
        "/sessions/alice/webhooks",
        {
            "url": receiver.url,
            "secret": WEBHOOK_SECRET,
            "events": ["campaign.updated", "campaign.recipient.updated"],
        },
    )
    assert hook.status == 201, hook.body

    # The campaign: one text, a variable per recipient, three recipients.
    campaign = await new_campaign(
        api,
        {
            "name": "notice",
            "content": {"type": "text", "text": "Notice for {{name}}: we open at 9."},
            "defaults": {"name": "you"},
            "ratePerMinute": 600,
        },
    )
    path = f"/sessions/alice/campaigns/{campaign['id']}"
    added = await api.call(
        "POST",
        f"{path}/recipients",
        {
            "recipients": [
                {"to": f"+{FRIENDS[0]}", "variables": {"name": "Ann"}},
                f"{FRIENDS[1]}@s.whatsapp.net",
                {"to": FRIENDS[2], "variables": {"name": "{{name}} <b>"}},
                f"+{FRIENDS[0]}",  # the same person again
                "not a number",
            ]
        },
    )
    assert added.status == 200, added.body
    assert added.body["added"] == 3 and added.body["duplicates"] == 1
    assert [bad["index"] for bad in added.body["invalid"]] == [4]
    started = await api.call("POST", f"{path}/start")
    assert started.status == 200 and started.body["status"] == "processing"

    done = await api.wait_for(
        path,
        lambda c: (
            c["status"] == "completed" and c["counts"]["delivered"] + c["counts"]["read"] == 3
        ),
        timeout=30,
    )
    assert done["finishedAt"] is not None
    page = (await api.call("GET", f"{path}/recipients?status=delivered")).body
    recipients = {r["to"].split("@")[0]: r for r in page["recipients"]}
    assert set(recipients) == set(FRIENDS)
    texts = {phone: await received(sandbox, phone, "Notice for") for phone in FRIENDS}
    assert [m["text"] for m in texts[FRIENDS[0]]] == ["Notice for Ann: we open at 9."]
    assert [m["text"] for m in texts[FRIENDS[1]]] == ["Notice for you: we open at 9."]
    # A value is inserted as text, once: no second expansion.
    assert [m["text"] for m in texts[FRIENDS[2]]] == ["Notice for {{name}} <b>: we open at 9."]
    for phone in FRIENDS:
        (message,) = texts[phone]
        assert message["id"] == recipients[phone]["messageId"]

    # The phones read it: every recipient reaches read.
    for phone in FRIENDS:
        ids = [recipients[phone]["messageId"]]
        await admin(sandbox, "POST", f"/accounts/{phone}/read", {"chat": OWNER, "ids": ids})
    final = await api.wait_for(path, lambda c: c["counts"]["read"] == 3, timeout=30)
    assert final["counts"]["total"] == 3
    read = (await api.call("GET", f"{path}/recipients?status=read")).body["recipients"]
    assert all(r["sentAt"] and r["deliveredAt"] and r["readAt"] for r in read)

    # The event log carried every step, per recipient.
    updates = await events_of(api, "alice", "campaign.recipient.updated")
    for phone in FRIENDS:
        steps = [
            e["data"]["recipient"]["status"]
            for e in updates
            if e["data"]["recipient"]["to"].startswith(phone)
        ]
        assert steps[0] == "queued" and steps[-1] == "read"
        assert "delivered" in steps
    statuses = [e["data"]["status"] for e in await events_of(api, "alice", "campaign.updated")]
    assert statuses[0] == "draft" and "processing" in statuses and statuses[-1] == "completed"
    # The same events reached the webhook, signed.
    wanted = {e["id"] for e in updates} | {
        e["id"] for e in await events_of(api, "alice", "campaign.updated")
    }
    async with asyncio.timeout(20):
        while not wanted <= {e["id"] for e in receiver.deliveries}:
            await asyncio.sleep(0.05)
    assert receiver.bad_signatures == 0
    assert {e["type"] for e in receiver.deliveries} <= {
        "campaign.updated",
        "campaign.recipient.updated",
    }
    assert await daemon.stop() == 0


async def test_pause_resume_cancel_schedule_and_bad_input(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIENDS[0], "Friend")
    daemon = await daemon_factory(**FAST)
    api = daemon.api()
    await pair(api, sandbox, "alice", OWNER)
    base = {"content": {"type": "text", "text": "Hi {{name}}"}, "defaults": {"name": "there"}}

    # Bad input: a 400, and nothing changes.
    past = iso(datetime.now(UTC) - timedelta(minutes=1))
    for bad in (
        {**base, "ratePerMinute": 0},
        {**base, "scheduledAt": past},
        {**base, "defaults": {"nmae": "x"}},
        {"content": {"type": "text", "text": "Hi {{ first name }}"}},
        {**base, "window": {"start": "09:00", "end": "18:00", "timeZone": "Mars/Olympus"}},
    ):
        reply = await api.call("POST", "/sessions/alice/campaigns", bad)
        assert reply.status == 400, (bad, reply.body)
        assert reply.body["type"].endswith("/invalid-campaign")
    assert (await api.call("GET", "/sessions/alice/campaigns")).body["campaigns"] == []

    campaign = await new_campaign(api, {**base, "ratePerMinute": 2})
    path = f"/sessions/alice/campaigns/{campaign['id']}"
    for bad_batch in (
        {"recipients": []},
        {"recipients": [{"to": FRIENDS[0], "variables": {"surname": "x"}}]},
    ):
        reply = await api.call("POST", f"{path}/recipients", bad_batch)
        assert reply.status == 400, reply.body
    assert (await api.call("GET", path)).body["counts"]["total"] == 0
    assert (await api.call("POST", f"{path}/start")).status == 409  # no recipients yet
    reply = await api.call("POST", f"{path}/start", {"scheduledAt": past})
    assert reply.status == 400
    assert (await api.call("GET", path)).body["status"] == "draft"

    # Ten recipients (one real phone, nine numbers nobody has) at 2 a minute: the first goes at
    # once, the next only 30 seconds later — time enough to pause.
    numbers = [FRIENDS[0]] + [f"1555000900{n}" for n in range(9)]
    added = await api.call("POST", f"{path}/recipients", {"recipients": numbers})
    assert added.body["added"] == 10
    assert (await api.call("POST", f"{path}/start")).body["status"] == "processing"
    first = await api.wait_for(f"{path}/recipients?status=delivered", lambda p: p["recipients"])
    assert first["recipients"][0]["to"] == f"{FRIENDS[0]}@s.whatsapp.net"
    paused = await api.call("POST", f"{path}/pause")
    assert paused.status == 200 and paused.body["status"] == "paused"
    assert paused.body["statusReason"] == "paused by request"
    assert paused.body["counts"]["pending"] == 9
    assert (await api.call("POST", f"{path}/recipients", {"recipients": ["15550009999"]})).body[
        "added"
    ] == 1
    resumed = await api.call("POST", f"{path}/resume")
    assert resumed.body["status"] == "processing"
    cancelled = await api.call("POST", f"{path}/cancel")
    assert cancelled.body["status"] == "cancelled"
    counts = cancelled.body["counts"]
    assert counts["cancelled"] >= 8 and counts["total"] == 11
    assert (await api.call("POST", f"{path}/resume")).status == 409

    # A scheduled start: scheduled until its time, then sent.
    later = await new_campaign(api, {**base, "ratePerMinute": 600})
    later_path = f"/sessions/alice/campaigns/{later['id']}"
    await api.call("POST", f"{later_path}/recipients", {"recipients": [FRIENDS[0]]})
    at = datetime.now(UTC) + timedelta(seconds=2)
    scheduled = await api.call("POST", f"{later_path}/start", {"scheduledAt": iso(at)})
    assert scheduled.body["status"] == "scheduled"
    assert scheduled.body["startedAt"] is None
    done = await api.wait_for(later_path, lambda c: c["status"] == "completed", timeout=20)
    assert done["startedAt"] >= scheduled.body["scheduledAt"]  # same RFC 3339 format
    # One from each campaign (the phone may get it just after the server's ack).
    async with asyncio.timeout(20):
        while len(await received(sandbox, FRIENDS[0], "Hi there")) < 2:
            await asyncio.sleep(0.05)
    assert len(await received(sandbox, FRIENDS[0], "Hi there")) == 2

    # Recipients not on WhatsApp fail without a send; nothing reached them.
    ghosts = await new_campaign(api, {**base, "ratePerMinute": 600})
    ghost_path = f"/sessions/alice/campaigns/{ghosts['id']}"
    await api.call("POST", f"{ghost_path}/recipients", {"recipients": ["15550008888"]})
    await api.call("POST", f"{ghost_path}/start")
    failed = await api.wait_for(ghost_path, lambda c: c["status"] == "failed", timeout=20)
    assert failed["counts"]["failed"] == 1
    (ghost,) = (await api.call("GET", f"{ghost_path}/recipients?status=failed")).body["recipients"]
    assert ghost["error"] and ghost["sentAt"] is None
    assert await daemon.stop() == 0


async def test_a_logged_out_session_pauses_its_campaign_with_the_reason(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    for phone in FRIENDS[:2]:
        await create_account(sandbox, phone, "Friend")
    daemon = await daemon_factory(**FAST)
    api = daemon.api()
    await pair(api, sandbox, "alice", OWNER)
    campaign = await new_campaign(api, {"content": {"text": "Hello"}, "ratePerMinute": 2})
    path = f"/sessions/alice/campaigns/{campaign['id']}"
    await api.call("POST", f"{path}/recipients", {"recipients": FRIENDS[:2]})
    await api.call("POST", f"{path}/start")
    await api.wait_for(f"{path}/recipients?status=delivered", lambda p: p["recipients"])

    session = (await api.call("GET", "/sessions/alice")).body
    await admin(sandbox, "POST", f"/devices/{session['jid']}/logout")
    paused = await api.wait_for(path, lambda c: c["status"] == "paused", timeout=30)
    assert "logged_out" in paused["statusReason"]
    assert paused["counts"]["pending"] == 1 and paused["counts"]["delivered"] == 1
    assert len(await received(sandbox, FRIENDS[1], "Hello")) == 0
    assert await daemon.stop() == 0
