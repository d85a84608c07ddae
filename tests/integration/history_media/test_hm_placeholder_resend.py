"""Asking our phone for messages we cannot get otherwise (placeholder resend): an
``<unavailable>`` stanza (an ad lead the phone shows) and a message that stays undecryptable
after the last retry receipt both end as the real message, stored once, marked recovered."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from history_media_harness import admin, eventually, paired_client
from sandbox_clients import next_event, phone

from daemon.binary import JID
from daemon.client.message_events import MessageReceived, Undecryptable, UndecryptableState
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.faults import Direction, StanzaAction
from storage.db import Database
from storage.message_values import MessageStatus


async def _rows(db: Database, sid: str, message_id: str) -> int:
    row = await db.fetch_one(
        "SELECT COUNT(*) FROM messages WHERE session_id = ? AND message_id = ?",
        (sid, message_id),
    )
    assert row is not None
    return int(row[0])


async def test_an_unavailable_message_is_asked_from_the_phone(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    session = client.session
    try:
        with session.events() as events:
            sent = await admin(
                sandbox,
                "POST",
                f"/admin/accounts/{ann.phone_user}/unavailable",
                {"from": bob.phone_user, "text": "I saw your ad"},
            )
            message_id = sent["id"]
            waiting = await next_event(events, Undecryptable, lambda e: e.message_id == message_id)
            assert waiting.state is UndecryptableState.WAITING
            assert waiting.reason.startswith("unavailable")
            got = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == message_id
            )
        assert got.recovered and got.message.text == "I saw your ad"
        assert got.message.chat == str(bob.pn) and got.message.sender == str(bob.pn)
        assert got.message.status is MessageStatus.RECEIVED
        assert await _rows(client.db, client.sid, message_id) == 1
        assert session.sync.placeholders.requests == 1

        device = session.credentials.pn_jid if session.credentials else None
        assert device is not None

        async def acked() -> bool:
            return not await admin(sandbox, "GET", f"/admin/devices/{device}/queue")

        assert await eventually(acked)
    finally:
        await client.close()


async def test_a_message_undecryptable_after_the_retries_comes_from_the_phone(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    session = client.session
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    try:
        # Every copy Bob's phone sends Ann's wamd arrives damaged, retries included; Ann's
        # phone gets its own copy intact.
        await admin(
            sandbox,
            "POST",
            "/admin/faults/stanzas",
            {
                "direction": "to_device",
                "action": "corrupt",
                "device": credentials.pn_jid,
                "tag": "message",
                "from": bob.phone_user,
            },
        )
        with session.events() as events:
            message_id = await phone(sandbox, bob).send_text(ann.pn, "hard to read")
            failed = await next_event(
                events,
                Undecryptable,
                lambda e: e.message_id == message_id and e.state is UndecryptableState.FAILED,
            )
            assert failed.retries == 5
            got = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == message_id
            )
        assert got.recovered and got.message.text == "hard to read"
        assert got.message.status is MessageStatus.RECEIVED
        assert await _rows(client.db, client.sid, message_id) == 1
    finally:
        await client.close()


async def test_a_sender_that_never_retries_is_not_waited_for_forever(
    sandbox: SandboxServer, ann: Account, bob: Account, tmp_path: Path
) -> None:
    """Bob's copy arrives damaged and our retry receipt never reaches him: after the phone
    request delay our phone is asked, and the message lands (still only once)."""
    client = await paired_client(sandbox, ann, tmp_path / "ann.db")
    session = client.session
    context = session.messenger.context
    context.options = dataclasses.replace(context.options, phone_request_delay=0.3)
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    device = JID.parse(credentials.pn_jid)
    faults = sandbox.network.faults
    try:
        faults.add_rule(
            Direction.TO_DEVICE,
            StanzaAction.CORRUPT,
            device=device,
            tag="message",
            source=bob.pn,
            source_alias=bob.lid,  # the 2026 service addresses a migrated sender by LID
            count=1,
        )
        faults.add_rule(Direction.FROM_DEVICE, StanzaAction.DROP, device=device, tag="receipt")
        with session.events() as events:
            message_id = await phone(sandbox, bob).send_text(ann.pn, "are you there?")
            waiting = await next_event(events, Undecryptable, lambda e: e.message_id == message_id)
            assert waiting.state is UndecryptableState.WAITING and waiting.retries == 1
            got = await next_event(
                events, MessageReceived, lambda e: e.message.message_id == message_id
            )
        assert got.recovered and got.message.text == "are you there?"
        assert await _rows(client.db, client.sid, message_id) == 1
    finally:
        faults.clear_rules()
        await client.close()
