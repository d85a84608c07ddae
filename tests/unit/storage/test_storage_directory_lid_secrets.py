"""The small repositories the client and the API lean on: the contact directory's pages, our own
LID learnt after pairing, message secrets (the first one of a message stays), and history's
batched message insert."""

from __future__ import annotations

import pytest
from storage_factories import make_device_keys

from storage.sqlite import SqliteStore
from storage.sqlite.contact_directory import SqliteContactDirectory
from storage.sqlite.device_lid import SqliteDeviceLidRepo
from storage.sqlite.message_secrets import SqliteMessageSecretRepo
from storage.sqlite.message_store import SqliteMessageStore
from storage.sqlite.sync_store import SqliteSyncStore
from storage.sync_values import HistoryMessageRow, MessageSecret

SID = "s"
BOB = "15550002222@s.whatsapp.net"
BOB_LID = "98765@lid"
CAROL = "15550003333@s.whatsapp.net"


async def test_the_directory_pages_contacts_in_a_stable_order(store: SqliteStore) -> None:
    await store.sessions.create(SID)
    contacts = SqliteMessageStore(store.db).contacts
    await contacts.learn(SID, pn=BOB, push_name="Bob")
    await contacts.learn(SID, pn=CAROL)
    await contacts.learn(SID, pn=BOB, lid=BOB_LID)
    directory = SqliteContactDirectory(store.db)
    first = await directory.page(SID, limit=1)
    assert [(e.pn, e.lid, e.push_name) for e in first] == [(BOB, BOB_LID, "Bob")]
    rest = await directory.page(SID, after=first[0].position, limit=10)
    assert [(e.pn, e.lid, e.push_name) for e in rest] == [(CAROL, None, None)]
    assert await directory.page("other", limit=10) == []


async def test_our_lid_is_filled_once_and_only_when_paired(store: SqliteStore) -> None:
    await store.sessions.create(SID)
    await store.credentials.save_new(SID, make_device_keys())
    lids = SqliteDeviceLidRepo(store.db)
    assert not await lids.set_lid_if_missing(SID, "111@lid")  # not paired yet
    await store.credentials.mark_paired(
        SID,
        signed_device_identity=b"adv",
        pn_jid="15550001111:1@s.whatsapp.net",
        lid_jid=None,
        platform="android",
        push_name="Me",
    )
    assert await lids.set_lid_if_missing(SID, "111@lid")
    assert not await lids.set_lid_if_missing(SID, "222@lid")
    credentials = await store.credentials.load(SID)
    assert credentials is not None and credentials.lid_jid == "111@lid"
    with pytest.raises(ValueError, match="LID"):
        await lids.set_lid_if_missing(SID, BOB)


async def test_the_first_secret_of_a_message_stays(store: SqliteStore) -> None:
    await store.sessions.create(SID)
    secrets = SqliteMessageSecretRepo(store.db)
    first = MessageSecret(chat=BOB, sender=BOB, message_id="M1", secret=b"\x01" * 32)
    again = MessageSecret(chat=BOB, sender=BOB, message_id="M1", secret=b"\x02" * 32)
    other = MessageSecret(chat=BOB, sender=BOB, message_id="M2", secret=b"\x03" * 32)
    assert await secrets.put_many(SID, [first]) == 1
    assert await secrets.put_many(SID, [again, other]) == 1
    assert await secrets.get(SID, BOB, BOB, "M1") == b"\x01" * 32
    assert await secrets.get(SID, BOB, BOB, "M2") == b"\x03" * 32
    assert await secrets.get(SID, BOB, BOB, "M3") is None
    assert await secrets.put_many(SID, []) == 0


async def test_history_rows_go_in_once_in_batches_of_any_size(store: SqliteStore) -> None:
    """More rows than one statement takes, a row repeated inside the batch, and a batch pushed
    again: each message is stored once and counted once."""
    await store.sessions.create(SID)
    history = SqliteSyncStore(store.db).history
    rows = [
        HistoryMessageRow(
            chat=BOB,
            message_id=f"H{n}",
            sender=BOB,
            from_me=False,
            sent_at_ms=1_700_000_000_000 + n,
            content_type="text",
            status="delivered",
            text=f"old {n}",
            quoted_id=None,
            target_id=None,
            payload=None,
            push_name=None,
        )
        for n in range(700)
    ]
    assert await history.insert_messages(SID, [*rows, rows[3]]) == 700
    assert await history.insert_messages(SID, rows[:10]) == 0
    assert await SqliteMessageStore(store.db).messages.count(SID, BOB) == 700
