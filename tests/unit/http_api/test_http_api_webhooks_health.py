"""Webhooks through the API (scoping, dead letters, replay) and health (ok, degraded, error
with the database locked by another process)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from aiohttp import web
from http_rig import Rig, running_api

from daemon.client.state import SessionState
from daemon.event_format import EventType


async def make_session(rig: Rig, session_id: str) -> str:
    reply = await rig.call("POST", "/sessions", json_body={"id": session_id})
    key: str = reply.body["apiKey"]["key"]
    return key


async def test_webhook_scoping_and_crud(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        alice = await make_session(rig, "alice")
        bob = await make_session(rig, "bob")
        mine = await rig.call(
            "POST",
            "/sessions/alice/webhooks",
            key=alice,
            json_body={"url": "https://crm.example/a", "events": ["message.received"]},
        )
        assert mine.status == 201 and mine.body["secret"].startswith("whsec_")
        assert mine.body["sessionId"] == "alice"
        hook_id = mine.body["id"]
        everywhere = await rig.call("POST", "/webhooks", json_body={"url": "https://x.example/g"})
        assert everywhere.body["sessionId"] is None

        assert (await rig.call("GET", f"/webhooks/{hook_id}", key=bob)).status == 404
        assert (
            await rig.call("GET", f"/webhooks/{everywhere.body['id']}", key=alice)
        ).status == 404
        listed = await rig.call("GET", "/webhooks", key=alice)
        assert [w["id"] for w in listed.body["webhooks"]] == [hook_id]
        assert len((await rig.call("GET", "/webhooks")).body["webhooks"]) == 2
        got = await rig.call("GET", f"/webhooks/{hook_id}", key=alice)
        assert "secret" not in got.body and got.body["deliveries"] == {
            "pending": 0,
            "delivered": 0,
            "dead": 0,
        }
        bad = await rig.call("POST", "/sessions/alice/webhooks", json_body={"url": "nope"})
        assert bad.status == 400 and bad.body["type"].endswith("/invalid-webhook")
        short = await rig.call(
            "POST",
            "/sessions/alice/webhooks",
            json_body={"url": "https://a.example", "secret": "x"},
        )
        assert short.status == 400
        patched = await rig.call(
            "PATCH", f"/webhooks/{hook_id}", key=alice, json_body={"enabled": False}
        )
        assert patched.body["enabled"] is False
        assert (await rig.call("DELETE", f"/webhooks/{hook_id}", key=alice)).status == 204
        assert (await rig.call("GET", f"/webhooks/{hook_id}")).status == 404


async def test_dead_letters_and_replay(tmp_path: Path) -> None:
    answers = [410]
    hits: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        hits.append(request.headers["X-Wamd-Event-Id"])
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/in", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/in"
    try:
        async with running_api(tmp_path) as rig:
            await make_session(rig, "s")
            hook = await rig.call(
                "POST", "/sessions/s/webhooks", json_body={"url": url, "events": ["alert"]}
            )
            hook_id = hook.body["id"]
            event = await rig.services.events.append("s", EventType.ALERT, {"kind": "x"})
            path = f"/webhooks/{hook_id}/deliveries?status=dead"
            async with asyncio.timeout(5):
                while not (await rig.call("GET", path)).body["deliveries"]:
                    await asyncio.sleep(0.02)
            (dead,) = (await rig.call("GET", path)).body["deliveries"]
            assert dead["eventId"] == event.id and dead["lastStatusCode"] == 410
            assert dead["attempts"] == 1 and dead["nextAttemptAt"] is None
            replay = await rig.call("POST", f"/webhooks/{hook_id}/deliveries/replay", json_body={})
            assert replay.body == {"replayed": 1}
            async with asyncio.timeout(5):
                while len(hits) < 2:
                    await asyncio.sleep(0.02)
            assert hits == [event.id, event.id]
            delivered = await rig.call("GET", f"/webhooks/{hook_id}/deliveries?status=delivered")
            assert len(delivered.body["deliveries"]) == 1
            bad = await rig.call(
                "POST", f"/webhooks/{hook_id}/deliveries/replay", json_body={"ids": ["1"]}
            )
            assert bad.status == 400
    finally:
        await runner.cleanup()


async def test_health_ok_degraded_and_error(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        empty = await rig.call("GET", "/health", key=None)
        assert empty.status == 200 and empty.body["status"] == "ok"
        assert empty.body["sessions"] == {
            "total": 0,
            "connected": 0,
            "connecting": 0,
            "disconnected": 0,
        }
        await make_session(rig, "a")
        await make_session(rig, "b")
        rig.devices.unpaired.add("c")
        await make_session(rig, "c")  # unpaired: not expected to be connected
        await rig.call("POST", "/sessions/a/connect")
        degraded = await rig.call("GET", "/health", key=None)
        assert degraded.body["status"] == "degraded"
        assert degraded.body["sessions"] == {
            "total": 3,
            "connected": 1,
            "connecting": 0,
            "disconnected": 2,
        }
        await rig.call("POST", "/sessions/b/connect")
        ok = await rig.call("GET", "/health", key=None)
        assert ok.body["status"] == "ok" and ok.body["sessions"]["connected"] == 2
        deep = await rig.call("GET", "/health/deep")
        assert deep.body["database"]["connected"] is True
        assert deep.body["database"]["latencyMs"] >= 0
        by_id = {s["sessionId"]: s for s in deep.body["sessions"]}
        assert by_id["a"]["socketAlive"] and by_id["a"]["phoneNumber"] == "15550001111"
        assert by_id["a"]["connectionStatus"] == "connected"
        assert not by_id["c"]["socketAlive"] and by_id["c"]["phoneNumber"] is None
        # Evidence, not a flag: a connected client with no frame for too long is not alive.
        rig.clock.advance(rig.services.config.recovery.dead_after_s + 1)
        stale = await rig.call("GET", "/health/deep")
        assert {s["sessionId"]: s["socketAlive"] for s in stale.body["sessions"]}["a"] is False
        assert rig.devices.devices["a"].state is SessionState.CONNECTED

        # Another process holds the database's write lock: the daemon cannot persist.
        blocker = sqlite3.connect(rig.db.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            error = await rig.call("GET", "/health", key=None)
            assert error.status == 503 and error.body["status"] == "error"
            deep_error = await rig.call("GET", "/health/deep")
            assert deep_error.status == 503
            assert deep_error.body["database"] == {"connected": False, "latencyMs": None}
            assert len(deep_error.body["sessions"]) == 3  # answered from memory
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        async with asyncio.timeout(10):
            while (await rig.call("GET", "/health", key=None)).body["status"] == "error":
                await asyncio.sleep(0.1)
