"""History sync chunks go into the live tables: in order, under the live keys, idempotent,
in batches; options (full history, how far back, dry run); blobs downloaded; restarts resume."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from backends import OpenEngine
from sync_fakes import OWN_PN, SID, FakeConnection, World, attach, make_world

from daemon.client.history_sync import HistorySync, HistorySyncOptions
from daemon.client.media_download import MediaRef
from daemon.client.sync_events import HistorySyncFailed, HistorySyncProgress
from daemon.crypto.history import (
    HistoryConversation,
    HistoryMessage,
    HistorySyncKind,
    MessageStatus,
    PhoneNumberLidMapping,
    PushName,
    build_history_sync,
)
from daemon.crypto.media import MediaType
from storage.message_values import ContentType, MessageRecord
from storage.message_values import MessageStatus as Stored
from storage.sync_values import ChunkStatus
from waproto import wa_e2e_pb2

ALICE = "15550002222@s.whatsapp.net"
ALICE_LID = "77000222@lid"
BOB = "15550003333@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
T0 = 1_700_000_000


def text(body: str) -> bytes:
    return wa_e2e_pb2.Message(conversation=body).SerializeToString()


def msg(chat: str, n: int, *, from_me: bool = False, sender: str | None = None) -> HistoryMessage:
    return HistoryMessage(
        chat_jid=chat,
        message_id=f"M{chat[:4]}{n:04d}",
        from_me=from_me,
        sender=sender,
        timestamp=T0 + n * 60,
        message=text(f"{chat[:4]} #{n}"),
        status=MessageStatus.DELIVERY_ACK if from_me else MessageStatus.READ,
        push_name=None if from_me else "Al",
        order_id=n,
    )


def notification(
    blob: bytes, kind: HistorySyncKind, **extra: object
) -> wa_e2e_pb2.HistorySyncNotification:
    return wa_e2e_pb2.HistorySyncNotification(
        initialHistBootstrapInlinePayload=blob,
        syncType=int(kind),
        **extra,
    )


class NoDownloads:
    async def to_bytes(self, query: object, ref: MediaRef, *, limit: int = 0) -> bytes:
        raise AssertionError("no download expected")


@pytest.fixture
async def world(open_engine: OpenEngine) -> AsyncIterator[World]:
    made = await make_world(await open_engine())
    yield made
    await made.close()


def syncer(world: World, downloader: object | None = None, **options: object) -> HistorySync:
    return HistorySync(
        world.m,
        world.sync,
        downloader or NoDownloads(),
        world.publish,
        HistorySyncOptions(**options),
    )


def bootstrap() -> bytes:
    messages = [msg(ALICE_LID, n, from_me=n % 3 == 0) for n in range(12)]
    messages += [msg(GROUP, n, sender=BOB if n % 2 else ALICE) for n in range(6)]
    messages += [msg(GROUP, 6, from_me=True)]
    return build_history_sync(
        HistorySyncKind.INITIAL_BOOTSTRAP,
        conversations=[
            HistoryConversation(ALICE_LID, name="Alice A", unread_count=2, archived=True),
            HistoryConversation(GROUP, name="Lunch club", pinned=T0, mute_end=T0 + 3600),
        ],
        messages=messages,
        push_names=[PushName(ALICE, "Ali"), PushName(BOB, "Bobby")],
        pn_lid_mappings=[PhoneNumberLidMapping(ALICE, ALICE_LID)],
    )


async def test_bootstrap_lands_in_the_live_tables(world: World) -> None:
    connection = FakeConnection()
    attach(world, connection)
    history = syncer(world)
    result = await history.process(
        "H1", notification(bootstrap(), HistorySyncKind.INITIAL_BOOTSTRAP), connection
    )
    assert (result.status, result.messages, result.stored) == (ChunkStatus.DONE, 19, 19)

    repo = world.messages.messages
    # The LID chat is stored under the phone number the chunk's mapping gave.
    page = await repo.page(SID, ALICE, limit=50)
    assert [r.message_id for r in reversed(page)] == [f"M7700{n:04d}" for n in range(12)]
    own = [r for r in page if r.from_me]
    assert own and all(r.sender == OWN_PN and r.status is Stored.DELIVERED for r in own)
    theirs = [r for r in page if not r.from_me]
    assert all(r.sender == ALICE and r.status is Stored.READ for r in theirs)
    assert all(r.push_name == "Al" for r in theirs)
    assert page[0].text == "7700 #11" and page[0].content_type is ContentType.TEXT
    group = await repo.page(SID, GROUP, limit=50)
    assert [r.sender for r in reversed(group)] == [ALICE, BOB] * 3 + [OWN_PN]

    chat = await world.messages.chats.get(SID, ALICE)
    assert chat is not None and chat.name == "Alice A" and chat.unread_count == 2
    assert chat.last_message_id == "M77000011" and chat.last_preview == "7700 #11"
    settings = await world.sync.app_state.chat_settings(SID, ALICE)
    assert settings is not None and settings.archived
    group_settings = await world.sync.app_state.chat_settings(SID, GROUP)
    assert group_settings is not None and group_settings.pinned_at == T0 * 1000
    assert group_settings.muted_until == (T0 + 3600) * 1000
    contact = await world.messages.contacts.find(SID, ALICE)
    assert contact is not None and contact.lid == ALICE_LID and contact.push_name == "Ali"

    receipt = connection.sent[-1]
    assert receipt.tag == "receipt" and receipt.attrs["type"] == "hist_sync"
    assert str(receipt.attrs["to"]) == OWN_PN and receipt.attrs["id"] == "H1"
    (progress,) = world.of(HistorySyncProgress)
    assert (progress.sync_type, progress.stored, progress.messages_total) == (
        "INITIAL_BOOTSTRAP",
        19,
        19,
    )
    chunk = await world.sync.history.get_chunk(SID, "H1")
    assert chunk is not None and chunk.status is ChunkStatus.DONE and chunk.stored == 19


async def test_a_chunk_pushed_twice_adds_nothing(world: World) -> None:
    connection = FakeConnection()
    attach(world, connection)
    history = syncer(world, batch_messages=4)
    blob = bootstrap()
    await history.process("H1", notification(blob, HistorySyncKind.INITIAL_BOOTSTRAP), connection)
    before = await world.messages.messages.count(SID)
    chat = await world.messages.chats.get(SID, ALICE)
    again = await history.process(
        "H2", notification(blob, HistorySyncKind.INITIAL_BOOTSTRAP), connection
    )
    assert (again.messages, again.stored) == (19, 0)
    assert await world.messages.messages.count(SID) == before == 19
    after = await world.messages.chats.get(SID, ALICE)
    assert after is not None and chat is not None
    assert replace(after, updated_at=chat.updated_at) == chat
    # The same notification delivered again is recognised by its id and not processed.
    seen = await history.process(
        "H2", notification(blob, HistorySyncKind.INITIAL_BOOTSTRAP), connection
    )
    assert seen.status is ChunkStatus.DONE and len(world.of(HistorySyncProgress)) == 2


async def test_a_live_message_is_not_stored_again(world: World) -> None:
    connection = FakeConnection()
    attach(world, connection)
    live = MessageRecord(
        chat=ALICE,
        message_id="M77000011",
        sender=ALICE,
        from_me=False,
        sent_at=datetime.fromtimestamp(T0 + 11 * 60, UTC),
        content_type=ContentType.TEXT,
        status=Stored.RECEIVED,
        text="live copy",
    )
    await world.messages.messages.insert(SID, live)
    result = await syncer(world).process(
        "H1", notification(bootstrap(), HistorySyncKind.INITIAL_BOOTSTRAP), connection
    )
    assert result.stored == 18
    stored = await world.messages.messages.get(SID, ALICE, ALICE, "M77000011")
    assert stored is not None and stored.text == "live copy"


async def test_options_full_history_cutoff_and_dry_run(world: World) -> None:
    connection = FakeConnection()
    attach(world, connection)
    full = build_history_sync(HistorySyncKind.FULL, messages=[msg(BOB, n) for n in range(5)])
    skipped = await syncer(world, full_history=False).process(
        "F1",
        notification(full, HistorySyncKind.FULL),
        connection,
    )
    assert skipped.status is ChunkStatus.SKIPPED and await world.messages.messages.count(SID) == 0
    assert connection.sent[-1].attrs["type"] == "hist_sync"

    dry = await syncer(world, dry_run=True).process(
        "F2",
        notification(full, HistorySyncKind.FULL),
        connection,
    )
    assert (dry.messages, dry.stored) == (5, 0)
    assert await world.messages.messages.count(SID) == 0
    assert await world.sync.history.get_chunk(SID, "F2") is None
    assert world.of(HistorySyncProgress)[-1].dry_run

    # Keep only the last day: the clock is set so that messages 3 and 4 are within it.
    world.now[0] = T0 + 4 * 60 + 86400 - 90
    recent = await syncer(world, since_days=1.0).process(
        "F3",
        notification(full, HistorySyncKind.FULL),
        connection,
    )
    assert recent.stored == 2
    assert [r.message_id for r in await world.messages.messages.page(SID, BOB, limit=9)] == [
        "M15550004",
        "M15550003",
    ]


async def test_blobs_are_downloaded_and_bad_ones_reported(world: World) -> None:
    connection = FakeConnection()
    attach(world, connection)
    blob = build_history_sync(HistorySyncKind.RECENT, messages=[msg(BOB, 1)], progress=100)
    asked: list[MediaRef] = []

    class Downloads:
        async def to_bytes(self, query: object, ref: MediaRef, *, limit: int = 0) -> bytes:
            asked.append(ref)
            return blob if "good" in ref.direct_path else zlib.compress(b"not a proto")

    history = syncer(world, Downloads())
    remote = wa_e2e_pb2.HistorySyncNotification(
        directPath="/v/t62/good?x=1",
        mediaKey=bytes(32),
        fileEncSHA256=b"e" * 32,
        fileSHA256=b"f" * 32,
        syncType=wa_e2e_pb2.RECENT,
        progress=100,
    )
    result = await history.process("R1", remote, connection)
    assert (result.status, result.stored) == (ChunkStatus.DONE, 1)
    assert asked[0].media_type is MediaType.HISTORY and asked[0].mms_type == "md-msg-hist"
    assert asked[0].file_enc_sha256 == b"e" * 32
    assert world.of(HistorySyncProgress)[-1].progress == 100

    remote.directPath = "/v/t62/bad?x=1"
    failed = await history.process("R2", remote, connection)
    assert failed.status is ChunkStatus.FAILED
    (event,) = world.of(HistorySyncFailed)
    assert event.message_id == "R2" and "HistorySync" in event.reason
    chunk = await world.sync.history.get_chunk(SID, "R2")
    assert chunk is not None and chunk.status is ChunkStatus.FAILED and chunk.error


async def test_restart_resumes_pending_and_unstarted_chunks(world: World) -> None:
    connection = FakeConnection()
    attach(world, connection)
    blob = build_history_sync(HistorySyncKind.RECENT, messages=[msg(BOB, n) for n in range(3)])
    for message_id in ("P1", "P2"):
        payload = wa_e2e_pb2.Message(
            protocolMessage=wa_e2e_pb2.ProtocolMessage(
                type=wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION,
                historySyncNotification=notification(blob, HistorySyncKind.RECENT),
            )
        )
        await world.messages.messages.insert(
            SID,
            MessageRecord(
                chat=OWN_PN,
                message_id=message_id,
                sender=OWN_PN,
                from_me=True,
                sent_at=datetime.fromtimestamp(world.now[0] - 60, UTC),
                content_type=ContentType.PROTOCOL,
                status=Stored.RECEIVED,
                payload=payload.SerializeToString(),
            ),
        )
    # P1 was started before the crash (its chunk row is pending); P2 never was.
    from storage.sync_values import HistoryChunkRecord

    await world.sync.history.put_chunk(
        SID, HistoryChunkRecord("P1", "RECENT", 0, None, ChunkStatus.PENDING)
    )
    assert await syncer(world).resume(connection) == 2
    assert await world.messages.messages.count(SID, BOB) == 3
    for message_id in ("P1", "P2"):
        chunk = await world.sync.history.get_chunk(SID, message_id)
        assert chunk is not None and chunk.status is ChunkStatus.DONE
    assert await syncer(world).resume(connection) == 0
