"""One conversation per person: a chat kept under a LID merges into the person's phone-number
chat, when the mapping is learnt and, for existing databases, by migration 0010."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backends import OpenEngine
from storage_factories import FakeClock

from storage.db import Database
from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus
from storage.migrate import load_migrations
from storage.sqlite.chat_merge import merge_script
from storage.sqlite.message_store import SqliteMessageStore
from storage.sqlite.sessions import SqliteSessionRepo

SID = "s1"
PN = "15550002222@s.whatsapp.net"
LID = "123456789012345@lid"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def incoming(chat: str, message_id: str, at: datetime) -> MessageRecord:
    return MessageRecord(
        chat=chat,
        message_id=message_id,
        sender=chat,
        from_me=False,
        sent_at=at,
        content_type=ContentType.TEXT,
        status=MessageStatus.DELIVERED,
        text=message_id,
    )


async def split_chats(store: SqliteMessageStore) -> None:
    """Bob wrote under his LID (number unknown), then under his number."""
    for chat, message_id, at in ((LID, "L1", T0), (LID, "L2", T0 + timedelta(1)), (PN, "P1", T0)):
        await store.messages.insert(SID, incoming(chat, message_id, at))
        await store.chats.record_message(
            SID,
            chat,
            ChatKind.USER,
            message_id=message_id,
            sender=chat,
            from_me=False,
            preview=message_id,
            at=at,
            unread=1,
        )


async def assert_one_chat(store: SqliteMessageStore) -> None:
    assert await store.chats.get(SID, LID) is None
    chat = await store.chats.get(SID, PN)
    assert chat is not None
    assert (chat.unread_count, chat.last_message_id, chat.last_sender) == (3, "L2", PN)
    page = await store.messages.page(SID, PN, limit=10)
    assert sorted(m.message_id for m in page) == ["L1", "L2", "P1"]
    assert {m.sender for m in page} == {PN}


async def test_learning_the_mapping_merges_the_lid_chat(open_engine: OpenEngine) -> None:
    db = await open_engine(FakeClock())
    await SqliteSessionRepo(db).create(SID)
    store = SqliteMessageStore(db)
    await split_chats(store)
    await store.contacts.learn(SID, pn=PN, lid=LID)
    await store.contacts.merge_chats(SID, PN, LID)
    await assert_one_chat(store)


async def test_migration_merges_split_chats_of_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = [m for m in load_migrations() if m.version < 10]
    db = await Database.open(path, migrations=before)
    await SqliteSessionRepo(db).create(SID)
    store = SqliteMessageStore(db)
    await split_chats(store)
    await store.contacts.learn(SID, pn=PN, lid=LID)  # the mapping was known, chats stayed split
    await db.close()
    db = await Database.open(path)
    await assert_one_chat(SqliteMessageStore(db))
    await db.close()


def test_the_migration_is_the_merge_the_client_runs() -> None:
    [migration] = [m for m in load_migrations() if m.version == 10]
    assert migration.sql == merge_script()
