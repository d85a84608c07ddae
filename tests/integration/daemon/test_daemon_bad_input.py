"""Bad input through the real HTTP API of a real daemon: each request is a problem+json 4xx
that changes nothing (the sessions, webhooks and outbox read the same before and after), and
the daemon logs no unhandled error."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from daemon_harness import ADMIN_KEY, TIMEOUT, DaemonFactory, DaemonProcess, Receiver

HUGE = 2**63
ARABIC_INDIC_SEVEN = "\u0667" * 11
SUPERSCRIPTS = "\u00b2" * 9
"""Digits to str.isdigit, not to a phone number."""
CARD_WITH_SUPERSCRIPTS = {
    "to": "15550001111",
    "type": "contact",
    "contacts": [{"name": "A", "phone": SUPERSCRIPTS}],
}


def cursor(fields: dict[str, Any]) -> str:
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def send_raw(
    daemon: DaemonProcess,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    key: str = ADMIN_KEY,
) -> tuple[int, str, Any]:
    sent = {"x-api-key": key, **(headers or {})}
    if body is not None:
        sent.setdefault("Content-Type", "application/json")
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
        http.request(method, daemon.url + path, data=body, headers=sent) as response,
    ):
        text = await response.text()
        return response.status, response.content_type, json.loads(text) if text else None


async def status_of_raw(
    daemon: DaemonProcess, request_line: bytes, *headers: bytes, body: bytes = b""
) -> int:
    """Sends bytes no HTTP client library would (header values that are not UTF-8)."""
    where = urlsplit(daemon.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    lines = [request_line + b" HTTP/1.1", b"Host: wamd", b"Connection: close", *headers]
    lines.append(f"Content-Length: {len(body)}".encode())
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    async with asyncio.timeout(TIMEOUT):
        status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def snapshot(daemon: DaemonProcess) -> Any:
    api = daemon.api()
    return [
        (await api.call("GET", "/sessions")).body,
        (await api.call("GET", "/webhooks")).body,
        (await api.call("GET", "/sessions/s1/outbox")).body["messages"],
    ]


def as_json(**fields: str) -> bytes:
    return json.dumps(fields).encode()


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def bodies() -> list[tuple[str, str, bytes]]:
    """(method, path, raw JSON body) that must each be refused."""
    deep = b'{"name": ' + nested(100_000) + b"}"
    return [
        ("POST", "/sessions", b'{"id": "abc\\n"}'),
        ("POST", "/sessions", b'{"id": "abc\\u000a"}'),
        ("POST", "/sessions", b'{"id": ""}'),
        ("POST", "/sessions", b'{"name": "\\ud800"}'),
        ("POST", "/sessions", b'{"name": "\\udfff x"}'),
        ("POST", "/sessions", deep),
        ("POST", "/sessions", b'{"id": "x", "autoConnect": ' + b"9" * 5000 + b"}"),
        ("POST", "/sessions", b'{"id": "x", "autoConnect": 1e999}'),
        ("POST", "/sessions", b'{"id": "x", "autoConnect": NaN}'),
        ("PATCH", "/sessions/s1", b'{"name": "\\ud83d"}'),
        ("PATCH", "/sessions/s1", b'{"active": null}'),
        ("POST", "/sessions/s1/api-keys", b'{"label": "\\udc00"}'),
        ("POST", "/webhooks", b'{"url": "http://[::1/x"}'),
        ("POST", "/webhooks", b'{"url": "http://127.0.0.1:99999/x"}'),
        ("POST", "/webhooks", b'{"url": "http://127.0.0.1:9/\\ud800"}'),
        (
            "POST",
            "/webhooks",
            b'{"url": "http://127.0.0.1:9/x", "secret": "\\u0000' + b"a" * 20 + b'"}',
        ),
        ("POST", "/sessions/s1/messages", b'{"to": "@s.whatsapp.net", "text": "x"}'),
        ("POST", "/sessions/s1/messages", b'{"to": "' + b"1" * 10_000 + b'", "text": "x"}'),
        ("POST", "/sessions/s1/messages", json.dumps({"to": "\u00b2" * 9, "text": "x"}).encode()),
        (
            "POST",
            "/sessions/s1/messages",
            json.dumps({"to": ARABIC_INDIC_SEVEN, "text": "x"}).encode(),
        ),
        (
            "POST",
            "/sessions/s1/messages",
            json.dumps({"to": ARABIC_INDIC_SEVEN + "@s.whatsapp.net", "text": "x"}).encode(),
        ),
        ("POST", "/sessions/s1/messages", b'{"to": "' + b"1" * 400 + b'@lid", "text": "x"}'),
        ("POST", "/sessions/s1/messages", b'{"to": "abc-def@g.us", "text": "x"}'),
        ("POST", "/sessions/s1/messages", b'{"to": "15550001111", "text": "\\ud800"}'),
        ("POST", "/sessions/s1/messages", b'{"to": "15550001111", "text": "x", "emoji": "y"}'),
        ("POST", "/sessions/s1/pair-code", as_json(phone="\u00b2" * 9)),
        ("POST", "/sessions/s1/chats/15550001111/history", b"{}"),
        ("POST", "/sessions/s1/chats/15550001111/archive", b'{"archived": true}'),
        ("POST", "/sessions/s1/chats/15550001111/read", b'{"ids": ["a"]}'),
        ("POST", "/sessions/s1/chats/%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2/history", b"{}"),
        ("POST", "/sessions/s1/chats/@s.whatsapp.net/archive", b'{"archived": true}'),
        # Routes of the groups, contacts and chat-actions issues.
        ("POST", "/sessions/s1/chats/15550001111/mute", b'{"muted": true}'),
        ("POST", "/sessions/s1/chats/15550001111/mute", b'{"muted": true, "until": null}'),
        ("POST", "/sessions/s1/chats/15550001111/pin", b'{"pinned": true}'),
        ("POST", "/sessions/s1/messages/m1/star", as_json(chat="15550001111", starred="x")),
        ("POST", "/sessions/s1/messages/m1/star", b'{"chat": "15550001111", "starred": true}'),
        ("POST", "/sessions/s1/contacts/check", as_json(numbers="\u00b2" * 9)),
        ("POST", "/sessions/s1/contacts/check", json.dumps({"numbers": [SUPERSCRIPTS]}).encode()),
        ("POST", "/sessions/s1/groups/join", as_json(code="\u00b2\u00b2\u00b2")),
        ("POST", "/sessions/s1/groups", b'{"subject": "   ", "participants": ["15550002222"]}'),
        ("PATCH", "/sessions/s1/groups/%C2%B2%C2%B2%C2%B2%C2%B2%C2%B2", b'{"subject": "x"}'),
        ("PATCH", "/sessions/s1/groups/join", b'{"subject": "x"}'),
        ("POST", "/sessions/s1/groups/12345678@g.us/admins", b"{}"),
        ("POST", "/sessions/s1/messages", json.dumps(CARD_WITH_SUPERSCRIPTS).encode()),
    ]


def queries() -> list[tuple[str, dict[str, str]]]:
    """(GET path, headers) that must each be refused."""
    events = "/sessions/s1/events"
    messages = "/sessions/s1/chats/15550001111/messages"
    return [
        (f"{events}?after=%C2%B2", {}),
        (f"{events}?after=%D9%A3", {}),
        (f"{events}?after={HUGE}", {}),
        (f"{events}?after={'9' * 5000}", {}),
        (f"{events}?after=", {}),
        (f"{events}?after=-1", {}),
        (f"{events}?after=1_0", {}),
        (events, {"Last-Event-ID": "\u00b2".encode().decode("latin-1")}),
        (events, {"Last-Event-ID": str(HUGE)}),
        (events, {"Last-Event-ID": "7" * 3000}),
        (f"{events}?limit={HUGE}", {}),
        (f"{events}?types=", {}),
        (f"{messages}?before={cursor({'t': 10**20, 'r': 1})}", {}),
        (f"{messages}?before={cursor({'t': -(10**20), 'r': 1})}", {}),
        (f"{messages}?before={cursor({'t': 1, 'r': HUGE})}", {}),
        (f"{messages}?before={cursor({'t': 1, 'r': 10**30})}", {}),
        (f"{messages}?before={cursor({'t': True, 'r': 1})}", {}),
        (f"/sessions/s1/chats?cursor={cursor({'t': 10**20, 'j': 'x'})}", {}),
        (f"/sessions/s1/chats?cursor={cursor({'t': 1, 'j': chr(0xD800)})}", {}),
        ("/sessions/s1/chats?limit=%D9%A3", {}),
        ("/sessions/s1/chats/@s.whatsapp.net/messages", {}),
        ("/sessions/s1/chats/1@s.whatsapp.net/messages", {}),
        ("/sessions/s1/messages/x/media?chat=15550001111", {}),
        ("/sessions/s1/messages/x/media?chat=%C2%B2", {}),
        ("/sessions/s1/outbox?status=", {}),
        ("/sessions/s1/reconnect?wait=nan", {}),
        ("/sessions/s1/lids/15550001111", {}),
        ("/sessions/s1/groups/join", {}),
    ]


async def test_bad_input_is_a_4xx_that_changes_nothing(
    daemon_factory: DaemonFactory, receiver: Receiver
) -> None:
    daemon = await daemon_factory()
    api = daemon.api()
    assert (await api.call("POST", "/sessions", {"id": "s1", "autoConnect": False})).status == 201
    hook = await api.call("POST", "/webhooks", {"url": receiver.url})
    before = await snapshot(daemon)

    for method, path, body in bodies():
        status, kind, problem = await send_raw(daemon, method, path, body)
        assert 400 <= status < 500, (method, path, body[:80], status, problem)
        assert kind == "application/problem+json", (path, kind)
        assert problem["status"] == status
    for path, headers in queries():
        method = "POST" if path.endswith("wait=nan") else "GET"
        status, kind, problem = await send_raw(daemon, method, path, headers=headers)
        assert 400 <= status < 500, (path, headers, status, problem)
        assert kind == "application/problem+json", (path, kind)

    # A multipart send without its boundary.
    status = await status_of_raw(
        daemon,
        b"POST /sessions/s1/messages",
        f"x-api-key: {ADMIN_KEY}".encode(),
        b"Content-Type: multipart/form-data",
        body=b'{"to": "15550001111", "type": "image"}',
    )
    assert status == 400

    # Header bytes that are not UTF-8 (the server hands them over as surrogate escapes).
    assert await status_of_raw(daemon, b"GET /sessions", b"x-api-key: \xff\xfe") == 401
    message = as_json(to="15550001111", text="x")
    for idempotency in (b"\xff\xfe", b"k" * 256):
        status = await status_of_raw(
            daemon,
            b"POST /sessions/s1/messages",
            f"x-api-key: {ADMIN_KEY}".encode(),
            b"Idempotency-Key: " + idempotency,
            b"Content-Type: application/json",
            body=message,
        )
        assert status == 400, idempotency

    replay = f"/webhooks/{hook.body['id']}/deliveries/replay"
    for ids in ([HUGE], [0], list(range(1, 1002)), [1.5], [True]):
        refused = await api.call("POST", replay, {"ids": ids})
        assert refused.status == 400, (ids, refused.body)
    deliveries = f"/webhooks/{hook.body['id']}/deliveries?after={HUGE}"
    assert (await api.call("GET", deliveries)).status == 400

    assert await snapshot(daemon) == before
    names = {e.get("event") for e in daemon.logs}
    assert "http.unhandled" not in names and "http.server_error" not in names
    assert await daemon.stop() == 0


async def test_a_session_id_with_a_trailing_newline_is_refused_and_answered(
    daemon_factory: DaemonFactory,
) -> None:
    daemon = await daemon_factory()
    api = daemon.api()
    refused = await api.call("POST", "/sessions", {"id": "abc\n"})
    assert refused.status == 400
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.call("GET", "/sessions")).body == {"sessions": []}
    assert await daemon.stop() == 0
