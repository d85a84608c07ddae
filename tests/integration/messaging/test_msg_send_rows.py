"""What a send writes about itself: the row the outbox showed when it accepted the message is
completed in place, and the chat list hears of the send once more only when the server's ack
gives the message its time. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest
from messaging_harness import TIMEOUT, Client, events_until, phone_got

from daemon.client.message_content import Text
from daemon.client.message_events import ChatUpdated, MessageUpdated
from daemon.client.send import OutgoingMessage
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.db import Database
from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus


async def show_queued(
    client: Client, chat: str, message_id: str, text: str, at: float | None = None
) -> MessageRecord:
    """What the outbox writes when it accepts a text (at ``at``, by default a while ago): a
    pending row and the chat's preview."""
    store = client.session.messenger.store
    sid = client.session.session_id
    own = str(client.account.pn)
    now = client.session.messenger.context.now()
    accepted = datetime.fromtimestamp(now - 3.217 if at is None else at, UTC)
    row = await store.messages.insert(
        sid,
        MessageRecord(
            chat=chat,
            message_id=message_id,
            sender=own,
            from_me=True,
            sent_at=accepted,
            content_type=ContentType.TEXT,
            status=MessageStatus.PENDING,
            text=text,
        ),
    )
    assert row is not None
    await store.chats.record_message(
        sid,
        chat,
        ChatKind.USER,
        message_id=message_id,
        sender=own,
        from_me=True,
        preview=text,
        at=accepted,
    )
    return row


@pytest.mark.usefixtures("backend")
async def test_a_queued_send_fills_its_row_and_updates_the_chat_once_at_the_ack(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    messenger = alice_wamd.session.messenger
    sid = alice_wamd.session.session_id
    chat = str(bob.pn)
    queued = await show_queued(alice_wamd, chat, "3EB0QUEUED0001", "queued hello")
    with alice_wamd.session.events() as events:
        result = await messenger.send(
            OutgoingMessage(bob.pn, Text("queued hello"), "3EB0QUEUED0001")
        )
        published = events.pending()
    await phone_got(sandbox, bob, lambda m: m.id == result.message_id)

    stored = await messenger.store.messages.get(
        sid, chat, str(alice_wamd.account.pn), result.message_id
    )
    assert stored is not None and stored.row_id == queued.row_id
    assert stored.payload is not None and stored.status.rank >= MessageStatus.SENT.rank
    assert stored.sent_at == datetime.fromtimestamp(result.timestamp, UTC)
    statuses = [e for e in published if isinstance(e, MessageUpdated)]
    assert [e.status for e in statuses] == [MessageStatus.SENT]
    # The accepted row already showed this text: only the ack's new time reaches the list.
    updates = [e for e in published if isinstance(e, ChatUpdated)]
    assert len(updates) == 1
    assert updates[0].chat.last_message_id == result.message_id
    assert updates[0].chat.last_message_at == stored.sent_at
    assert updates[0].chat.last_preview == "queued hello"


async def test_a_send_without_a_queued_row_shows_in_its_chat_before_it_leaves(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    with alice_wamd.session.events() as events:
        result = await alice_wamd.session.messenger.send(OutgoingMessage(bob.pn, Text("direct")))
        published = events.pending()
    await phone_got(sandbox, bob, lambda m: m.id == result.message_id)
    updates = [e for e in published if isinstance(e, ChatUpdated)]
    assert len(updates) == 2  # the new row, then its time from the ack
    assert all(e.chat.last_message_id == result.message_id for e in updates)


async def test_a_warm_queued_send_reads_nothing_it_keeps_and_writes_only_what_changed(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """Every statement of one warm send on SQLite (the trace of its connection)."""
    messenger = alice_wamd.session.messenger
    for n in range(2):  # sessions, identities and tokens learnt, and read back once
        sent = await messenger.send(OutgoingMessage(bob.pn, Text(f"warm-up {n}")))
        await phone_got(sandbox, bob, lambda m, i=sent.message_id: m.id == i)
    async with asyncio.timeout(TIMEOUT):
        while not any(t.sender_at for t in await messenger.store.privacy.all("main")):
            await asyncio.sleep(0.02)
    await messenger.send(OutgoingMessage(bob.pn, Text("warm-up 2")))
    # Accepted now (never on a whole second, as the server's time is): the chat's last.
    now = messenger.context.now()
    await show_queued(alice_wamd, str(bob.pn), "3EB0QUEUED0002", "traced", int(now) + 0.567)
    db = alice_wamd.db
    assert isinstance(db, Database)
    statements: list[str] = []
    db._conn.set_trace_callback(statements.append)  # type: ignore[union-attr]
    try:
        await messenger.send(OutgoingMessage(bob.pn, Text("traced"), "3EB0QUEUED0002"))
    finally:
        db._conn.set_trace_callback(None)  # type: ignore[union-attr]
    text = "\n".join(" ".join(s.split()) for s in statements)
    for table in ("signal_sessions", "signal_identities", "privacy_tokens", "privacy_salts"):
        assert f"FROM {table}" not in text, table
    assert "DELETE FROM messages" not in text
    assert "INSERT INTO messages" not in text  # the accepted row is completed in place
    assert "ORDER BY sent_at DESC, id DESC LIMIT 1" not in text  # the chat's time, in place
    assert "SAVEPOINT wamd_sp" not in text  # the session records: one statement, no savepoint
    # The ack's time goes to the message row only; a retry's resend reads it from there.
    assert "UPDATE outgoing_plaintexts" not in text


async def test_acks_behind_the_chats_last_message_refresh_it_in_one_read(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """Sends in flight: the chat shows the newest accepted message, so the ack of an earlier
    one changes nothing in the chat list. Once an ack found that, the next reads the thread's
    newest message beside the chat's (one statement) and writes nothing."""
    messenger = alice_wamd.session.messenger
    sid = alice_wamd.session.session_id
    chat = str(bob.pn)
    # Accepted a minute ahead of the server's clock: every ack here is earlier.
    ahead = int(messenger.context.now()) + 60.5
    ids = [f"3EB0INFLIGHT000{n}" for n in range(3)]
    for n, message_id in enumerate(ids):
        await show_queued(alice_wamd, chat, message_id, f"in flight {n}", ahead + n / 1000)
    shown = await messenger.store.chats.get(sid, chat)
    assert shown is not None and shown.last_message_id == ids[2]
    await messenger.send(OutgoingMessage(bob.pn, Text("in flight 0"), ids[0]))
    db = alice_wamd.db
    assert isinstance(db, Database)
    statements: list[str] = []
    db._conn.set_trace_callback(statements.append)  # type: ignore[union-attr]
    try:
        await messenger.send(OutgoingMessage(bob.pn, Text("in flight 1"), ids[1]))
    finally:
        db._conn.set_trace_callback(None)  # type: ignore[union-attr]
    text = "\n".join(" ".join(s.split()) for s in statements)
    assert "ORDER BY sent_at DESC, id DESC LIMIT 1" in text
    assert "UPDATE chats" not in text
    assert await messenger.store.chats.get(sid, chat) == shown
    # The last one acked becomes the chat's last again, at the server's time.
    sent = await messenger.send(OutgoingMessage(bob.pn, Text("in flight 2"), ids[2]))
    last = await messenger.store.chats.get(sid, chat)
    assert last is not None and last.last_message_id == ids[2]
    assert last.last_message_at == datetime.fromtimestamp(sent.timestamp, UTC)


async def test_an_ack_while_other_sends_await_theirs_shares_a_commit(
    sandbox: SandboxServer, alice_wamd: Client, bob: Account
) -> None:
    """Eight sends in flight: an ack that comes while others still wait for theirs records its
    unit without a commit of its own, riding along with theirs; each is shown `sent` once
    durable."""
    session = alice_wamd.session
    db = alice_wamd.db
    assert isinstance(db, Database)
    first = await session.send(OutgoingMessage(bob.pn, Text("a session first")))
    await phone_got(sandbox, bob, lambda m: m.id == first.message_id)
    commits = db.commit_count
    with session.events() as events:
        sent = await asyncio.gather(
            *(session.send(OutgoingMessage(bob.pn, Text(f"burst {n}"))) for n in range(8))
        )
        shown = await events_until(
            events, MessageUpdated, lambda e: e.status is MessageStatus.SENT, count=8
        )
    ids = {result.message_id for result in sent}
    assert {event.message_id for event in shown} == ids
    check = sqlite3.connect(db.path)
    try:
        marks = ",".join("?" * len(ids))
        rows = check.execute(
            f"SELECT status FROM messages WHERE message_id IN ({marks})", sorted(ids)
        ).fetchall()
    finally:
        check.close()
    assert len(rows) == 8 and all(row[0] in ("sent", "delivered") for row in rows)
    # 14 here; 21 when every ack commits on its own (8 attempts, 8 acks, the receipts).
    assert db.commit_count - commits <= 18
