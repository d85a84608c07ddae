"""Sending through the API (202, Idempotency-Key), a sent message's state, the outbox list,
chats and chat messages with opaque cursors, mark read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from http_rig import Rig, running_api

from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus

CHAT = "15550002222@s.whatsapp.net"


async def paired_session(rig: Rig, session_id: str = "s") -> None:
    reply = await rig.call("POST", "/sessions", json_body={"id": session_id})
    assert reply.status == 201


async def test_send_returns_202_and_the_outbox_sends(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await paired_session(rig)
        reply = await rig.call(
            "POST", "/sessions/s/messages", json_body={"to": "+1 555 000 2222", "text": "hello"}
        )
        assert reply.status == 202
        message_id = reply.body["id"]
        assert reply.body["status"] == "pending" and reply.body["to"] == CHAT
        assert reply.headers["Location"] == f"/sessions/s/messages/{message_id}"
        async with asyncio.timeout(5):
            while not rig.sender.sent:
                await asyncio.sleep(0.01)
        assert rig.sender.sent[0].id == message_id
        detail = await rig.call("GET", f"/sessions/s/messages/{message_id}")
        assert detail.body["status"] == "sent" and detail.body["attempts"] == 1
        assert detail.body["message"] is None and detail.body["receipts"] == []
        listed = await rig.call("GET", "/sessions/s/outbox")
        assert [m["id"] for m in listed.body["messages"]] == [message_id]
        assert listed.body["counts"]["sent"] == 1 and listed.body["paused"] is None
        missing = await rig.call("GET", "/sessions/s/messages/NOPE")
        assert missing.status == 404


async def test_idempotency_key_sends_once(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await paired_session(rig)
        rig.sender.connected = False
        body = {"to": CHAT, "text": "only once"}
        key = {"Idempotency-Key": "order-1234"}
        first = await rig.call("POST", "/sessions/s/messages", json_body=body, headers=key)
        second = await rig.call("POST", "/sessions/s/messages", json_body=body, headers=key)
        assert first.status == second.status == 202
        assert first.body["id"] == second.body["id"]
        assert second.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        conflict = await rig.call(
            "POST", "/sessions/s/messages", json_body={**body, "text": "other"}, headers=key
        )
        assert conflict.status == 422 and conflict.body["type"].endswith("/idempotency-key-reused")
        rig.sender.connected = True
        async with asyncio.timeout(5):
            while not rig.sender.sent:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(rig.sender.sent) == 1


async def test_bad_sends_change_nothing(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await paired_session(rig)
        rig.devices.unpaired.add("fresh")
        await paired_session(rig, "fresh")
        bad = await rig.call("POST", "/sessions/s/messages", json_body={"to": "x", "text": "a"})
        assert bad.status == 400 and bad.body["type"].endswith("/invalid-message")
        unpaired = await rig.call(
            "POST", "/sessions/fresh/messages", json_body={"to": CHAT, "text": "a"}
        )
        assert unpaired.status == 409 and unpaired.body["type"].endswith("/not-paired")
        listed = await rig.call("GET", "/sessions/s/outbox")
        assert listed.body["messages"] == []


async def seed_chat(rig: Rig, count: int) -> list[str]:
    store = rig.services.messages
    start = datetime(2026, 3, 1, tzinfo=UTC)
    ids = []
    for n in range(count):
        message_id = f"M{n:04d}"
        at = start + timedelta(seconds=n // 2)  # pairs share a timestamp: ties broken by row
        await store.messages.insert(
            "s",
            MessageRecord(
                chat=CHAT,
                message_id=message_id,
                sender=CHAT,
                from_me=False,
                sent_at=at,
                content_type=ContentType.TEXT,
                status=MessageStatus.RECEIVED,
                text=f"text {n}",
            ),
        )
        await store.chats.record_message(
            "s",
            CHAT,
            ChatKind.USER,
            message_id=message_id,
            sender=CHAT,
            from_me=False,
            preview=f"text {n}",
            at=at,
            unread=1,
        )
        ids.append(message_id)
    return ids


async def test_chats_and_message_pages(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await paired_session(rig)
        ids = await seed_chat(rig, 45)
        chats = await rig.call("GET", "/sessions/s/chats")
        assert chats.body["nextCursor"] is None
        (chat,) = chats.body["chats"]
        assert chat["jid"] == CHAT and chat["unreadCount"] == 45
        assert chat["lastMessage"]["preview"] == "text 44"

        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            path = f"/sessions/s/chats/{CHAT}/messages" + (f"?before={cursor}" if cursor else "")
            page = await rig.call("GET", path)
            seen += [m["id"] for m in page.body["messages"]]
            pages += 1
            cursor = page.body["nextCursor"]
            if cursor is None:
                break
            # New messages arriving meanwhile do not shift the pages.
            if pages == 1:
                await seed_more(rig)
        assert pages == 3
        assert seen == list(reversed(ids))  # newest first, each exactly once
        limited = await rig.call("GET", f"/sessions/s/chats/{CHAT}/messages?limit=100")
        assert len(limited.body["messages"]) == 46
        assert (await rig.call("GET", f"/sessions/s/chats/{CHAT}/messages?limit=101")).status == 400
        junk = await rig.call("GET", f"/sessions/s/chats/{CHAT}/messages?before=!!")
        assert junk.status == 400


async def seed_more(rig: Rig) -> None:
    await rig.services.messages.messages.insert(
        "s",
        MessageRecord(
            chat=CHAT,
            message_id="LATE",
            sender=CHAT,
            from_me=False,
            sent_at=datetime(2026, 3, 2, tzinfo=UTC),
            content_type=ContentType.TEXT,
            status=MessageStatus.RECEIVED,
            text="late",
        ),
    )


async def test_mark_read_needs_a_client_that_can(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        await paired_session(rig)
        await seed_chat(rig, 3)
        reply = await rig.call(
            "POST", f"/sessions/s/chats/{CHAT}/read", json_body={"ids": ["M0000"]}
        )
        # The scripted client has no read receipts to send: a clear refusal, nothing changed.
        assert reply.status == 409 and reply.body["type"].endswith("/not-supported")
        bad = await rig.call("POST", f"/sessions/s/chats/{CHAT}/read", json_body={"ids": "M1"})
        assert bad.status == 400
