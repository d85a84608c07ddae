"""A real daemon process: paging a thread by time as well as by cursor, forward with
``after``, media metadata in the message JSON, and protocol messages between our own devices
kept out of threads and out of ``message.received``."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon_harness import Api, DaemonFactory, admin, paired_daemon

from sandbox.app import SandboxServer

ALICE = "15550001111"
BOB = "15550002222"
ALICE_CHAT = f"{ALICE}@s.whatsapp.net"
BOB_CHAT = f"{BOB}@s.whatsapp.net"
DOCUMENT = b"%PDF-1.4 a small document\n" * 20


def ms(message: dict[str, Any]) -> int:
    return round(datetime.fromisoformat(message["timestamp"]).timestamp() * 1000)


def ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["id"] for m in messages]


async def page(api: Api, query: str) -> dict[str, Any]:
    reply = await api.call("GET", f"/sessions/alice/chats/{BOB_CHAT}/messages?{query}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def protocol_rows(database: Path) -> int:
    with sqlite3.connect(str(database)) as db:
        row = db.execute("SELECT count(*) FROM messages WHERE content_type = 'protocol'").fetchone()
    return int(row[0])


async def test_threads_page_by_time_and_forward_and_show_media_but_no_protocol_messages(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    paired = await paired_daemon(daemon_factory, sandbox, ALICE, contacts=(BOB,))
    daemon, api = paired.daemon, paired.api

    for n in range(4):
        await admin(sandbox, "POST", f"/accounts/{BOB}/messages", {"to": ALICE, "text": f"m{n}"})
    document = {
        "type": "document",
        "data_base64": base64.b64encode(DOCUMENT).decode(),
        "mimetype": "application/pdf",
        "file_name": "offer.pdf",
    }
    await admin(sandbox, "POST", f"/accounts/{BOB}/messages", {"to": ALICE, "media": document})
    full = (
        await api.wait_for(
            f"/sessions/alice/chats/{BOB_CHAT}/messages?limit=100",
            lambda body: len(body["messages"]) == 5,
        )
    )["messages"]

    # Media metadata in the message JSON; text messages have none.
    shared = next(m for m in full if m["type"] == "document")
    assert shared["media"] == {
        "kind": "document",
        "mimetype": "application/pdf",
        "size": len(DOCUMENT),
        "fileName": "offer.pdf",
        "durationSeconds": None,
        "width": None,
        "height": None,
    }
    assert all(m["media"] is None for m in full if m["type"] == "text")

    # ``before`` a time, as epoch milliseconds or ISO 8601: strictly older messages.
    newest, oldest = full[0], full[-1]
    cut = ms(newest)
    older = [m for m in full if ms(m) < cut]
    assert ids((await page(api, f"before={cut}&limit=100"))["messages"]) == ids(older)
    iso = newest["timestamp"].replace("+00:00", "Z")
    assert ids((await page(api, f"before={iso}&limit=100"))["messages"]) == ids(older)
    assert ids((await page(api, f"before={cut + 1}&limit=100"))["messages"]) == ids(full)

    # ``after``: oldest first, and its cursor continues forward without gaps or repeats.
    first = await page(api, f"after={ms(oldest) - 1}&limit=2")
    assert ids(first["messages"]) == ids(full[::-1][:2])
    rest = await page(api, f"after={first['nextCursor']}&limit=100")
    assert ids(rest["messages"]) == ids(full[::-1][2:])
    newer = [m for m in full[::-1] if ms(m) > ms(oldest)]
    assert ids((await page(api, f"after={ms(oldest)}&limit=100"))["messages"]) == ids(newer)

    # A cursor from a ``before`` page continues backward as before.
    top = await page(api, "limit=2")
    following = await page(api, f"before={top['nextCursor']}&limit=100")
    assert ids(top["messages"]) + ids(following["messages"]) == ids(full)

    for bad in ("before=2026-13-45T00:00:00Z", "before=1&after=2", "after=99999999999999999"):
        reply = await api.call("GET", f"/sessions/alice/chats/{BOB_CHAT}/messages?{bad}")
        assert reply.status == 400, (bad, reply.body)

    # Our phone's key share and history notifications are stored (persist before ack) but
    # are neither messages in the self-chat nor message.received events.
    async with asyncio.timeout(20):
        while protocol_rows(daemon.database) == 0:
            await asyncio.sleep(0.1)
    own = await api.call("GET", f"/sessions/alice/chats/{ALICE_CHAT}/messages?limit=100")
    assert all(m["type"] != "protocol" for m in own.body["messages"]), own.body
    events = (
        await api.call("GET", "/sessions/alice/events?types=message.received&limit=1000")
    ).body["events"]
    assert events and all(e["data"]["message"]["type"] != "protocol" for e in events)
    assert await daemon.stop() == 0
