"""History sync end to end: a sandbox phone holding 10,000 messages in 200 chats (with media,
names and groups) links a wamd session; every message lands in wamd's tables in order, with its
sender, and every chat with its preview and name; the same history pushed again adds nothing;
an on-demand backfill brings older messages of one chat."""

from __future__ import annotations

import asyncio
from pathlib import Path

from history_media_harness import Client, admin, eventually, paired_client
from sandbox_clients import next_event, phone

from daemon.binary import JID
from daemon.client.message_content import preview, summarize
from daemon.client.sync_events import HistorySyncProgress
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.message_values import ContentType
from waproto import wa_e2e_pb2

SEED = {
    "chats": 200,
    "messages_per_chat": 50,
    "with_media": True,
    "with_names": True,
    "plan": {"bootstrap_messages_per_chat": 10, "recent_messages_per_chat": 15},
}
TOTAL = 10_000


async def history_done(client: Client, total: int) -> list[HistorySyncProgress]:
    """Every progress event up to the one reporting ``total`` message rows."""
    seen: list[HistorySyncProgress] = []
    while not seen or seen[-1].messages_total < total:
        seen.append(await next_event(client.events, HistorySyncProgress, timeout=60))
    return seen


async def test_ten_thousand_messages_arrive_in_order_once(
    sandbox: SandboxServer, ann: Account, tmp_path: Path
) -> None:
    seeded = await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", SEED)
    assert (seeded["chats"], seeded["messages"]) == (200, TOTAL) and seeded["media"] > 0
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        progress = await history_done(client, TOTAL)
        kinds = [p.sync_type for p in progress]
        assert kinds[:2] == ["INITIAL_BOOTSTRAP", "PUSH_NAME"]
        assert "RECENT" in kinds and "FULL" in kinds
        assert sum(p.stored for p in progress) == TOTAL

        store = client.session.messenger.store
        sid = client.sid
        book = phone(sandbox, ann).history_book()
        own = str(ann.pn)
        media_seen = 0
        for chat in book.chats():
            jid = str(chat.jid)
            rows = list(reversed(await store.messages.page(sid, jid, limit=100)))
            assert [r.message_id for r in rows] == [m.message_id for m in chat.messages], jid
            for row, original in zip(rows, chat.messages, strict=True):
                if original.from_me:
                    assert row.from_me and row.sender == own
                elif chat.jid.is_group:
                    assert row.sender == str(original.sender)
                else:
                    assert row.sender == jid
                assert row.payload == original.message
                media_seen += row.content_type in (
                    ContentType.IMAGE,
                    ContentType.AUDIO,
                    ContentType.DOCUMENT,
                )
            listed = await store.chats.get(sid, jid)
            assert listed is not None, jid
            newest = chat.messages[-1]
            assert listed.last_message_id == newest.message_id
            assert listed.last_preview == preview(
                summarize(wa_e2e_pb2.Message.FromString(newest.message))
            )
            assert listed.name == (chat.name or None)
        assert media_seen == seeded["media"]
        contacts = await store.contacts.all(sid)
        assert sum(1 for c in contacts if c.push_name) >= 180

        # The very same history again: every chunk processed, no new row.
        first_round = len(progress)
        await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history/push", {})
        again = [
            await next_event(client.events, HistorySyncProgress, timeout=60)
            for _ in range(first_round)
        ]
        assert sum(p.stored for p in again) == 0
        rows = await client.db.fetch_one(
            "SELECT count(*), count(DISTINCT chat_jid || '/' || message_id) FROM messages "
            "WHERE session_id = ? AND content_type <> 'protocol'",
            (sid,),
        )
        assert rows == (TOTAL, TOTAL)
    finally:
        await client.close()


async def test_on_demand_backfill_brings_older_messages(
    sandbox: SandboxServer, ann: Account, tmp_path: Path
) -> None:
    friend = "15557770000@s.whatsapp.net"
    messages = [
        {"id": f"OLD{i:03d}", "timestamp": 1_600_000_000 + i * 60, "text": f"old {i}"}
        for i in range(60)
    ]
    seed = {
        "conversations": [{"jid": friend, "name": "Friend", "messages": messages}],
        "plan": {
            "bootstrap_messages_per_chat": 10,
            "recent_messages_per_chat": 0,
            "full_history": False,
        },
    }
    await admin(sandbox, "POST", f"/admin/accounts/{ann.phone_user}/history", seed)
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    try:
        await eventually(lambda: _count(client, friend, 10), timeout=20)  # the newest ten
        result = await client.session.request_history(JID.parse(friend), count=25)
        assert result.chunk is not None and result.chunk.sync_type == "ON_DEMAND"
        assert result.chunk.stored == 25
        rows = await client.session.messenger.store.messages.page(client.sid, friend, limit=100)
        assert [r.message_id for r in reversed(rows)] == [f"OLD{i:03d}" for i in range(25, 60)]
        # Again: the next 25 older ones.
        await client.session.request_history(JID.parse(friend), count=25)
        assert await _count(client, friend, 60)
    finally:
        await client.close()


async def _count(client: Client, chat: str, wanted: int) -> bool:
    await asyncio.sleep(0)
    return await client.session.messenger.store.messages.count(client.sid, chat) == wanted
