"""The messaging repositories on SQLite and PostgreSQL: dedupe by key, forward-only statuses,
author-only edits and revokes, chat previews, contact merging, groups, plaintexts, memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from storage_factories import make_device_keys

from storage.errors import NotFound
from storage.message_values import (
    ChatKind,
    ContactRecord,
    ContentType,
    GroupParticipant,
    GroupRecord,
    MessageRecord,
    MessageStatus,
    OutgoingPlaintext,
    ParticipantRole,
    ReceiptStatus,
)
from storage.sqlite import SqliteStore
from storage.sqlite.app_state import SqliteAppStateRepo
from storage.sqlite.message_store import SqliteMessageStore

SID = "s1"
BOB = "15550002222@s.whatsapp.net"
ME = "15550001111@s.whatsapp.net"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
async def messages(store: SqliteStore) -> AsyncIterator[SqliteMessageStore]:
    await store.sessions.create(SID)
    yield SqliteMessageStore(store.db)


def incoming(
    message_id: str, text: str = "hi", at: datetime = T0, **changes: object
) -> MessageRecord:
    record = MessageRecord(
        chat=BOB,
        message_id=message_id,
        sender=BOB,
        from_me=False,
        sent_at=at,
        content_type=ContentType.TEXT,
        status=MessageStatus.RECEIVED,
        text=text,
        payload=b"\x0a\x02hi",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def own(message_id: str, text: str = "mine") -> MessageRecord:
    return incoming(message_id, text, sender=ME, from_me=True, status=MessageStatus.PENDING)


async def test_insert_is_idempotent_by_key(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    first = await repo.insert(SID, incoming("A"))
    assert first is not None and first.row_id > 0
    assert await repo.insert(SID, incoming("A", "different")) is None
    stored = await repo.get(SID, BOB, BOB, "A")
    assert stored is not None and stored.text == "hi" and stored.row_id == first.row_id
    # Same id from another sender in the same chat is another message.
    assert await repo.insert(SID, incoming("A", sender="15550003333@s.whatsapp.net")) is not None
    assert await repo.count(SID, BOB) == 2


async def test_insert_needs_a_session(store: SqliteStore) -> None:
    repo = SqliteMessageStore(store.db).messages
    with pytest.raises(NotFound):
        await repo.insert("missing", incoming("A"))


async def test_placeholder_is_filled_once(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    waiting = incoming(
        "P",
        text="",
        content_type=ContentType.PLACEHOLDER,
        status=MessageStatus.WAITING,
        payload=None,
        retry_count=1,
    )
    await repo.insert(SID, waiting)
    await repo.set_retry(SID, BOB, BOB, "P", 2, MessageStatus.WAITING)
    filled = await repo.fill_placeholder(SID, incoming("P", "real text", retry_count=2))
    assert filled is not None
    stored = await repo.get(SID, BOB, BOB, "P")
    assert stored is not None and stored.text == "real text"
    assert stored.status is MessageStatus.RECEIVED and stored.retry_count == 2
    assert await repo.fill_placeholder(SID, incoming("P", "again")) is None


async def test_own_status_only_moves_forward(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    await repo.insert(SID, own("M"))
    assert await repo.advance_own(SID, "M", MessageStatus.SENT) == [BOB]
    assert await repo.advance_own(SID, "M", MessageStatus.READ) == [BOB]
    assert await repo.advance_own(SID, "M", MessageStatus.DELIVERED) == []
    assert await repo.advance_own(SID, "M", MessageStatus.READ) == []
    found = await repo.find_own(SID, "M")
    assert found is not None and found.status is MessageStatus.READ
    # Incoming messages are never "advanced" as ours.
    await repo.insert(SID, incoming("X"))
    assert await repo.advance_own(SID, "X", MessageStatus.SENT) == []


async def test_only_the_author_edits_or_revokes(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    await repo.insert(SID, incoming("A", "original"))
    later = T0 + timedelta(minutes=1)
    assert not await repo.apply_edit(SID, BOB, ME, "A", "forged", later)
    assert await repo.apply_edit(SID, BOB, BOB, "A", "edited", later)
    stored = await repo.get(SID, BOB, BOB, "A")
    assert stored is not None and stored.text == "edited" and stored.edited_at == later
    assert not await repo.apply_revoke(SID, BOB, ME, "A", later)
    assert await repo.apply_revoke(SID, BOB, BOB, "A", later)
    stored = await repo.get(SID, BOB, BOB, "A")
    assert stored is not None and stored.text is None and stored.revoked_at == later
    # A revoked message cannot be edited back.
    assert not await repo.apply_edit(SID, BOB, BOB, "A", "zombie", later)


async def test_mark_read_and_paging(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    for i in range(5):
        await repo.insert(SID, incoming(f"M{i}", at=T0 + timedelta(seconds=i)))
    await repo.insert(SID, own("O"))
    assert await repo.mark_read(SID, BOB, ["M0", "M1", "O", "nope"]) == 2
    assert await repo.mark_read(SID, BOB, ["M0"]) == 0
    page = await repo.page(SID, BOB, limit=3)
    assert [m.message_id for m in page] == ["M4", "M3", "M2"]
    rest = await repo.page(SID, BOB, limit=10, before=(page[-1].sent_at, page[-1].row_id))
    # "O" was sent at T0 like "M0" and stored after it: the row number breaks the tie.
    assert [m.message_id for m in rest] == ["M1", "O", "M0"]
    with pytest.raises(ValueError):
        await repo.page(SID, BOB, limit=0)


async def test_targeting_lists_reactions(messages: SqliteMessageStore) -> None:
    repo = messages.messages
    await repo.insert(SID, incoming("A"))
    await repo.insert(SID, incoming("R", "👍", content_type=ContentType.REACTION, target_id="A"))
    assert [m.message_id for m in await repo.targeting(SID, BOB, "A")] == ["R"]


async def test_receipts_keep_the_furthest_status(messages: SqliteMessageStore) -> None:
    await messages.messages.insert(SID, own("M"))
    repo = messages.receipts
    device = "15550002222:0@s.whatsapp.net"
    assert await repo.record(SID, "M", device, ReceiptStatus.READ, T0) == BOB
    assert await repo.record(SID, "M", device, ReceiptStatus.DELIVERED, T0) == BOB
    assert await repo.record(SID, "M", device, ReceiptStatus.DELIVERED, T0) is None
    assert await repo.record(SID, "M", device, ReceiptStatus.READ, T0) is None
    [receipt] = await repo.for_message(SID, BOB, "M")
    assert receipt.status is ReceiptStatus.READ
    assert receipt.delivered_at == T0 and receipt.read_at == T0 and receipt.played_at is None
    # Only our own messages get receipts.
    await messages.messages.insert(SID, incoming("X"))
    assert await repo.record(SID, "X", device, ReceiptStatus.READ, T0) is None
    assert await repo.record(SID, "unknown", device, ReceiptStatus.READ, T0) is None
    assert await repo.for_message(SID, BOB, "X") == []


async def test_chat_preview_follows_the_newest_message(messages: SqliteMessageStore) -> None:
    chats = messages.chats
    newer = T0 + timedelta(minutes=5)
    row = await chats.record_message(
        SID,
        BOB,
        ChatKind.USER,
        message_id="B",
        sender=BOB,
        from_me=False,
        preview="newer",
        at=newer,
        unread=1,
    )
    assert row.last_preview == "newer" and row.unread_count == 1
    row = await chats.record_message(
        SID,
        BOB,
        ChatKind.USER,
        message_id="A",
        sender=BOB,
        from_me=False,
        preview="older",
        at=T0,
        unread=1,
    )
    assert row.last_message_id == "B" and row.last_preview == "newer" and row.unread_count == 2
    assert await chats.update_preview(SID, BOB, "A", "x") is None
    edited = await chats.update_preview(SID, BOB, "B", "newer, edited")
    assert edited is not None and edited.last_preview == "newer, edited"
    read = await chats.mark_read(SID, BOB, 5)
    assert read is not None and read.unread_count == 0
    await chats.ensure(SID, "1203@g.us", ChatKind.GROUP, "team")
    listed = await chats.page(SID, limit=10)
    assert [c.jid for c in listed] == [BOB, "1203@g.us"]
    assert listed[1].name == "team" and listed[1].last_message_at is None


async def test_contacts_merge_pn_and_lid(messages: SqliteMessageStore) -> None:
    contacts = messages.contacts
    lid = "999@lid"
    await contacts.learn(SID, pn=BOB, push_name="Bob")
    await contacts.learn(SID, lid=lid)
    merged = await contacts.learn(SID, pn=BOB, lid=lid)
    assert merged == ContactRecord(pn=BOB, lid=lid, push_name="Bob")
    assert await contacts.all(SID) == [merged]
    assert await contacts.find(SID, lid) == merged
    # The number moves to another LID: the old person keeps only its LID.
    moved = await contacts.learn(SID, pn=BOB, lid="888@lid")
    assert moved.pn == BOB and moved.lid == "888@lid"
    assert {(c.pn, c.lid) for c in await contacts.all(SID)} == {(BOB, "888@lid"), (None, lid)}
    with pytest.raises(ValueError):
        await contacts.learn(SID, pn="not-a-jid")


async def test_sessions_move_to_the_lid_address(store: SqliteStore) -> None:
    await store.sessions.create(SID)
    await store.credentials.save_new(SID, make_device_keys())
    contacts = SqliteMessageStore(store.db).contacts
    await store.signal_sessions.store(SID, "15550002222.0", b"pn-record")
    await store.signal_sessions.store(SID, "15550002222.3", b"pn-record-3")
    await store.signal_sessions.store(SID, "999_1.3", b"lid-record-3")
    await store.identities.save(SID, "15550002222.0", b"\x05" + b"\x01" * 32)
    assert await contacts.move_sessions_to_lid(SID, "15550002222", "999") == 1
    assert await store.signal_sessions.load(SID, "999_1.0") == b"pn-record"
    assert await store.signal_sessions.load(SID, "999_1.3") == b"lid-record-3"
    assert await store.signal_sessions.load(SID, "15550002222.0") is None
    assert await store.identities.load(SID, "999_1.0") is not None


async def test_groups_round_trip(messages: SqliteMessageStore) -> None:
    groups = messages.groups
    jid = "120363000000000001@g.us"
    record = GroupRecord(
        jid=jid,
        subject="team",
        owner=ME,
        addressing_mode="pn",
        is_member=True,
        participants=(
            GroupParticipant(ME, "1@lid", ParticipantRole.SUPERADMIN),
            GroupParticipant(BOB, None, ParticipantRole.MEMBER),
        ),
        created_at=T0,
    )
    await groups.save(SID, record)
    assert await groups.get(SID, jid) == record
    carol = GroupParticipant("15550003333@s.whatsapp.net", "3@lid", ParticipantRole.MEMBER)
    await groups.put_participants(SID, jid, [carol])
    await groups.remove_participants(SID, jid, [BOB])
    await groups.set_subject(SID, jid, "renamed")
    await groups.set_member(SID, jid, False)
    stored = await groups.get(SID, jid)
    assert stored is not None and not stored.is_member and stored.subject == "renamed"
    assert [p.jid for p in stored.participants] == [ME, carol.jid]
    assert await groups.get(SID, "nope@g.us") is None
    with pytest.raises(ValueError):
        replace(record, jid="not-a-group")


async def test_group_settings_self_and_pages(messages: SqliteMessageStore) -> None:
    groups = messages.groups
    base = GroupRecord(
        jid="120363000000000001@g.us",
        subject="a",
        owner=ME,
        addressing_mode="pn",
        is_member=True,
        participants=(GroupParticipant(ME, None, ParticipantRole.ADMIN),),
        description="about",
        announce=True,
        own_admin=True,
        last_synced_at=T0,
    )
    await groups.save(SID, base)
    assert await groups.get(SID, base.jid) == base and not base.read_only
    await groups.set_self(SID, base.jid, is_member=True, admin=False)
    demoted = await groups.get(SID, base.jid)
    assert demoted is not None and demoted.read_only and demoted.is_member
    await groups.set_setting(SID, base.jid, announce=False, locked=True)
    await groups.set_description(SID, base.jid, "")
    changed = await groups.get(SID, base.jid)
    assert changed is not None and not changed.read_only and changed.locked
    assert changed.description == "" and changed.last_synced_at == T0
    for n in range(2, 6):
        await groups.save(
            SID, replace(base, jid=f"12036300000000000{n}@g.us", is_member=n % 2 == 0)
        )
    first = await groups.page(SID, limit=2)
    rest = await groups.page(SID, after=first[-1].jid, limit=10)
    assert [g.jid[17] for g in first + rest] == ["1", "2", "3", "4", "5"]
    members = await groups.page(SID, member=False)
    assert [g.jid[17] for g in members] == ["3", "5"]


async def test_outgoing_plaintexts_and_retry_counts(
    store: SqliteStore, messages: SqliteMessageStore
) -> None:
    outgoing = messages.outgoing
    kept = OutgoingPlaintext("M", BOB, "text", None, b"payload", T0, T0)
    await outgoing.keep(SID, kept)
    assert await outgoing.get(SID, "M") == kept
    # The message's time is its row's: the ack writes the server's time there only.
    assert await messages.messages.insert(SID, replace(own("M"), sent_at=T0)) is not None
    later = T0 + timedelta(seconds=3)
    await messages.messages.mark_own_sent(SID, "M", later)
    assert await outgoing.get(SID, "M") == replace(kept, sent_at=later)
    # A row deleted for us alone: the time the plaintext was kept stands in.
    assert await SqliteAppStateRepo(store.db).delete_message(SID, BOB, "M", from_me=True)
    assert await outgoing.get(SID, "M") == kept
    assert await outgoing.count_retry(SID, "M", "dev") == 1
    assert await outgoing.count_retry(SID, "M", "dev") == 2
    assert await outgoing.count_retry(SID, "M", "other") == 1
    assert await outgoing.prune(SID, T0 + timedelta(days=1)) == 1
    assert await outgoing.get(SID, "M") is None


async def test_sender_key_memory(messages: SqliteMessageStore) -> None:
    memory = messages.sender_key_memory
    await memory.add(SID, "g@g.us", ["a.0", "b.1"])
    await memory.add(SID, "g@g.us", ["a.0"])
    assert await memory.devices(SID, "g@g.us") == {"a.0", "b.1"}
    assert await memory.clear(SID, "g@g.us") == 2
    assert await memory.devices(SID, "g@g.us") == set()


async def test_one_transaction_for_everything(messages: SqliteMessageStore) -> None:
    """A failure after the writes rolls all of them back (what persist-before-ack needs)."""
    with pytest.raises(RuntimeError):
        async with messages.transaction():
            await messages.messages.insert(SID, incoming("T"))
            await messages.chats.ensure(SID, BOB, ChatKind.USER)
            raise RuntimeError("crash before commit")
    assert await messages.messages.get(SID, BOB, BOB, "T") is None
    assert await messages.chats.get(SID, BOB) is None
