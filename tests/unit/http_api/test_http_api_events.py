"""The event stream: JSON pages, Server-Sent Events resumed with Last-Event-ID, a WebSocket
resumed with ?after=, type filters; every streamed event validates against the Event schema."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from http_rig import ADMIN_KEY, DOCUMENT, Rig, running_api

from daemon.event_format import EventType
from http_api.openapi_check import validate

EVENT_SCHEMA = DOCUMENT["components"]["schemas"]["Event"]


async def setup(rig: Rig) -> None:
    assert (await rig.call("POST", "/sessions", json_body={"id": "s"})).status == 201
    for n in range(5):
        await rig.services.events.append("s", EventType.ALERT, {"kind": "test", "n": n})


def assert_event(event: dict[str, Any]) -> None:
    assert not validate(DOCUMENT, EVENT_SCHEMA, event)


async def test_json_pages_follow_the_cursor(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await setup(rig)
        first = await rig.call("GET", "/sessions/s/events?limit=3")
        assert [e["seq"] for e in first.body["events"]] == [1, 2, 3]
        cursor = first.body["nextCursor"]
        second = await rig.call("GET", f"/sessions/s/events?after={cursor}&limit=3")
        assert [e["seq"] for e in second.body["events"]] == [4, 5, 6]
        third = await rig.call("GET", f"/sessions/s/events?after={second.body['nextCursor']}")
        last = second.body["nextCursor"]
        assert third.body == {"events": [], "nextCursor": last, "lastSeq": last}
        # lastSeq lets a client read the newest N without paging from the start.
        assert first.body["lastSeq"] == last
        newest = await rig.call("GET", f"/sessions/s/events?after={last - 2}")
        assert [e["seq"] for e in newest.body["events"]] == [last - 1, last]
        alerts = await rig.call("GET", "/sessions/s/events?types=alert")
        assert {e["type"] for e in alerts.body["events"]} == {"alert"}
        assert (await rig.call("GET", "/sessions/s/events?types=bogus")).status == 400
        assert (await rig.call("GET", "/sessions/s/events?after=abc")).status == 400


async def read_sse(rig: Rig, headers: dict[str, str], want: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async with rig.client.get(
        "/sessions/s/events",
        headers={"x-api-key": ADMIN_KEY, "Accept": "text/event-stream", **headers},
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        block: dict[str, str] = {}
        async with asyncio.timeout(5):
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line == "":
                    if "data" in block:
                        event = json.loads(block["data"])
                        assert str(event["seq"]) == block["id"]
                        assert event["type"] == block["event"]
                        found.append(event)
                        if len(found) == want:
                            return found
                    block = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    block[name] = value
    return found


async def test_sse_resumes_after_last_event_id(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await setup(rig)
        first = await read_sse(rig, {}, 3)
        assert [e["seq"] for e in first] == [1, 2, 3]
        for event in first:
            assert_event(event)

        async def later() -> None:
            await asyncio.sleep(0.1)
            await rig.services.events.append("s", EventType.ALERT, {"kind": "late"})

        task = asyncio.create_task(later())
        resumed = await read_sse(rig, {"Last-Event-ID": "3"}, 4)
        await task
        assert [e["seq"] for e in resumed] == [4, 5, 6, 7]
        assert resumed[-1]["data"] == {"kind": "late"}
        assert len({e["id"] for e in first + resumed}) == 7


async def test_websocket_resumes_after_a_cursor(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await setup(rig)
        async with rig.client.ws_connect(
            "/sessions/s/events?after=4", headers={"x-api-key": ADMIN_KEY}
        ) as socket:
            got = []
            async with asyncio.timeout(5):
                while len(got) < 2:
                    got.append(json.loads((await socket.receive()).data))
                await rig.services.events.append("s", EventType.QR_CODE, {"qr": "x"})
                got.append(json.loads((await socket.receive()).data))
        assert [e["seq"] for e in got] == [5, 6, 7]
        assert got[-1]["type"] == "qr.code"
        for event in got:
            assert_event(event)


async def test_streams_end_when_the_daemon_stops(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await setup(rig)

        async def stop_soon() -> None:
            await asyncio.sleep(0.2)
            await rig.services.gate.close()

        task = asyncio.create_task(stop_soon())
        async with asyncio.timeout(5):
            events = await read_sse(rig, {}, 100)  # returns when the stream ends
        await task
        assert len(events) == 6
