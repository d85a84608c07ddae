"""Limits of the HTTP server of a real daemon: an event stream ends when the key that opened it
is revoked; a client that trickles its headers is disconnected; a request whose body never
arrives is answered within the request time bound."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import aiohttp
from daemon_harness import ADMIN_KEY, DaemonFactory, DaemonProcess

LIMITS = {"http": {"header_timeout_s": 1.0, "request_timeout_s": 2.0}}
WAIT_S = 20.0
"""Generous: each limit above is a second or two; this only bounds a failing test."""


async def session_key(daemon: DaemonProcess, session_id: str) -> tuple[str, str]:
    """A new session and two keys of its own: (one to revoke, its id)."""
    api = daemon.api()
    assert (await api.call("POST", "/sessions", {"id": session_id})).status == 201
    issued = await api.call("POST", f"/sessions/{session_id}/api-keys", {"label": "stream"})
    assert issued.status == 201
    return issued.body["key"], issued.body["id"]


async def raw_connection(
    daemon: DaemonProcess,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = urlsplit(daemon.url)
    return await asyncio.open_connection(where.hostname, where.port)


async def test_a_revoked_key_loses_its_open_streams(daemon_factory: DaemonFactory) -> None:
    daemon = await daemon_factory()
    key, key_id = await session_key(daemon, "s1")
    url = f"{daemon.url}/sessions/s1/events"
    async with aiohttp.ClientSession() as http:
        sse = await http.get(url, headers={"x-api-key": key, "Accept": "text/event-stream"})
        assert sse.status == 200
        socket = await http.ws_connect(url, headers={"x-api-key": key})
        admin = daemon.api()
        revoked = await admin.call("DELETE", f"/sessions/s1/api-keys/{key_id}")
        assert revoked.status == 204

        async def sse_ends() -> None:
            while await sse.content.readany():
                pass

        async def socket_closes() -> aiohttp.WSMessage:
            while True:
                message = await socket.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return message

        async with asyncio.timeout(WAIT_S):
            await sse_ends()
            closed = await socket_closes()
        assert closed.data == aiohttp.WSCloseCode.POLICY_VIOLATION
        sse.release()
        await socket.close()
        refused = await http.get(url, headers={"x-api-key": key})
        assert refused.status == 401
    assert await daemon.stop() == 0


async def test_a_client_trickling_its_headers_is_disconnected(
    daemon_factory: DaemonFactory,
) -> None:
    daemon = await daemon_factory(**LIMITS)
    reader, writer = await raw_connection(daemon)
    writer.write(b"GET /health HTTP/1.1\r\nHost: wamd\r\n")
    await writer.drain()
    closed = False
    try:
        async with asyncio.timeout(WAIT_S):
            for _ in range(int(WAIT_S / 0.2)):
                writer.write(b"X")  # never a whole header line, let alone the blank line
                await writer.drain()
                await asyncio.sleep(0.2)
                if reader.at_eof() or await _eof_now(reader):
                    closed = True
                    break
    except (ConnectionError, TimeoutError):
        closed = True
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert closed, "the daemon kept a connection that never sent its headers"
    assert (await daemon.api().call("GET", "/health", key=None)).status == 200
    assert await daemon.stop() == 0


async def _eof_now(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.01):
            return await reader.read(1) == b""
    return False


async def test_a_request_whose_body_never_arrives_is_answered(
    daemon_factory: DaemonFactory,
) -> None:
    daemon = await daemon_factory(**LIMITS)
    reader, writer = await raw_connection(daemon)
    writer.write(
        b"POST /sessions HTTP/1.1\r\nHost: wamd\r\nContent-Type: application/json\r\n"
        + f"x-api-key: {ADMIN_KEY}\r\nContent-Length: 100\r\n\r\n".encode()
        + b'{"id": '
    )
    await writer.drain()
    async with asyncio.timeout(WAIT_S):
        status_line = await reader.readline()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 503"), status_line
    await daemon.wait_log("http.request_timeout", path="/sessions")
    assert (await daemon.api().call("GET", "/sessions")).body == {"sessions": []}
    assert await daemon.stop() == 0
