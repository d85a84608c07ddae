"""The one middleware every request goes through: its checks answer in their order (the key
before the body, the chat gate and the key before the write gate), the time bound answers a
request that takes too long and leaves event streams alone."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from pathlib import Path

from daemon_fakes import fast_config
from http_rig import ADMIN_KEY, Rig, running_api

from daemon.config import Config
from daemon.event_format import EventType

CHAT = "15550002222@s.whatsapp.net"
BAD_BODY = "{not json"
WAIT_S = 10.0
"""Generous: bounds a failing test only."""
BOUND_S = 1.0
"""The time bound where a test needs one: short, yet longer than any request of the test but
the one that is made to exceed it, even on a busy machine."""


async def restricted_key(rig: Rig) -> str:
    assert (await rig.call("POST", "/sessions", json_body={"id": "s"})).status == 201
    made = await rig.call("POST", "/sessions/s/api-keys", json_body={"chats": [CHAT]})
    assert made.status == 201
    key: str = made.body["key"]
    return key


async def post_bad_body(rig: Rig, path: str, key: str | None) -> tuple[int, str]:
    reply = await rig.call(
        "POST", path, key=key, data=BAD_BODY, headers={"Content-Type": "application/json"}
    )
    return reply.status, reply.body["type"].rsplit("/", 1)[1]


async def test_the_key_is_checked_before_the_body(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        key = await restricted_key(rig)
        send = "/sessions/s/messages"
        assert await post_bad_body(rig, send, None) == (401, "missing-api-key")
        assert await post_bad_body(rig, send, "wamd_wrong") == (401, "invalid-api-key")
        assert await post_bad_body(rig, send, key) == (400, "bad-request")
        # A restricted key is refused a session-wide route before its body is read.
        assert await post_bad_body(rig, "/sessions/s/contacts/check", key) == (
            403,
            "chat-not-allowed",
        )
        # No such route: 404 or 405 whoever asks.
        assert await post_bad_body(rig, "/nowhere", None) == (404, "not-found")
        wrong_method = await rig.call("PUT", send, key=None)
        assert wrong_method.status == 405 and wrong_method.headers["Allow"] == "POST"


async def test_the_write_gate_comes_after_the_key_and_the_chat_gate(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        key = await restricted_key(rig)
        await rig.services.gate.close()
        send = "/sessions/s/messages"
        assert await post_bad_body(rig, send, None) == (401, "missing-api-key")
        assert await post_bad_body(rig, "/sessions/s/contacts/check", key) == (
            403,
            "chat-not-allowed",
        )
        # A caller who may write is told the daemon is stopping, whatever the body holds.
        assert await post_bad_body(rig, send, key) == (503, "shutting-down")
        assert await post_bad_body(rig, send, ADMIN_KEY) == (503, "shutting-down")
        assert (await rig.call("GET", "/sessions/s", key=key)).status == 200


def bounded(tmp_path: Path, seconds: float) -> Config:
    """The tests' config with requests bounded to ``seconds``."""
    config = fast_config(tmp_path)
    return dataclasses.replace(
        config, http=dataclasses.replace(config.http, request_timeout_s=seconds)
    )


async def test_a_request_past_its_time_bound_is_answered(tmp_path: Path) -> None:
    async with running_api(tmp_path, bounded(tmp_path, BOUND_S)) as rig:
        assert (await rig.call("POST", "/sessions", json_body={"id": "s"})).status == 201
        server = rig.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(
                b"POST /sessions/s/messages HTTP/1.1\r\nHost: wamd\r\n"
                b"Content-Type: application/json\r\n"
                + f"x-api-key: {ADMIN_KEY}\r\nContent-Length: 100\r\n\r\n".encode()
                + b'{"to": '
            )
            await writer.drain()
            async with asyncio.timeout(WAIT_S):
                status_line = await reader.readline()
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        assert status_line.startswith(b"HTTP/1.1 503"), status_line
        assert "Retry-After: 5" in head and "application/problem+json" in head
        # The bound ended that request only: the next ones are answered as usual.
        for text in ("after", "the bound"):
            sent = await rig.call(
                "POST", "/sessions/s/messages", json_body={"to": CHAT, "text": text}
            )
            assert sent.status == 202


async def test_an_event_stream_outlives_the_time_bound(tmp_path: Path) -> None:
    async with running_api(tmp_path, bounded(tmp_path, BOUND_S)) as rig:
        assert (await rig.call("POST", "/sessions", json_body={"id": "s"})).status == 201
        async with rig.client.get(
            "/sessions/s/events",
            headers={"x-api-key": ADMIN_KEY, "Accept": "text/event-stream"},
        ) as response:
            assert response.status == 200
            # Longer than the bound, which would have cancelled a request by now.
            await asyncio.sleep(BOUND_S * 1.5)
            await rig.services.events.append("s", EventType.ALERT, {"kind": "late"})
            async with asyncio.timeout(WAIT_S):
                async for raw in response.content:
                    line = raw.decode()
                    if line.startswith("data: "):
                        event = json.loads(line.removeprefix("data: "))
                        if event["type"] == "alert":
                            assert event["data"]["kind"] == "late"
                            break
