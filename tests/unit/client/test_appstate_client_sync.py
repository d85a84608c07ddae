"""App-state sync on the client: key shares, fetching and verifying every patch, applying the
mutations to our tables, refusing (and resyncing after) a tampered MAC, missing keys, snapshots,
incremental catch-up after a restart, and our own archive / mark-read patches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from appstate_fakes import (
    KEY_DATA,
    KEY_ID,
    BlobDownloads,
    FakeAppStateServer,
    FakePeers,
    key_share,
    value,
)
from backends import OpenEngine
from sync_fakes import OWN_PN, SID, FakeConnection, World, attach, make_world

from daemon.binary import JID, Node
from daemon.client.app_state_sync import AppStateSync
from daemon.client.sync_events import AppStateRefused, AppStateSynced, ChatSettingsChanged
from daemon.crypto.appstate import ALL_COLLECTIONS, Operation, PendingMutation
from storage.message_values import ChatKind, ContentType, MessageRecord, MessageStatus
from storage.sync_values import MUTED_FOREVER, CollectionStatus
from storage.values import AppStateSyncKey
from waproto import wa_appstate_pb2

ALICE = "15550002222@s.whatsapp.net"
BOB = "15550003333@s.whatsapp.net"
BOB_LID = "88000333@lid"
T = 1_700_000_000


def contact(jid: str, full: str) -> PendingMutation:
    return PendingMutation(
        ("contact", jid),
        value(
            contactAction=wa_appstate_pb2.ContactAction(fullName=full, firstName=full.split()[0])
        ),
        2,
    )


def archive(jid: str, archived: bool = True) -> PendingMutation:
    action = wa_appstate_pb2.ArchiveChatAction(archived=archived)
    return PendingMutation(("archive", jid), value(archiveChatAction=action), 3)


def mute(jid: str, end: int) -> PendingMutation:
    action = wa_appstate_pb2.MuteAction(muted=True, muteEndTimestamp=end)
    return PendingMutation(("mute", jid), value(muteAction=action), 2)


@pytest.fixture
async def world(open_engine: OpenEngine) -> AsyncIterator[World]:
    made = await make_world(await open_engine())
    yield made
    await made.close()


class Setup:
    def __init__(self, world: World) -> None:
        self.server = FakeAppStateServer()
        self.downloads = BlobDownloads(self.server)
        self.peers = FakePeers()
        self.connection = FakeConnection(self.server.answer)
        attach(world, self.connection)
        self.world = world
        self.sync = self.fresh()

    def fresh(self) -> AppStateSync:
        return AppStateSync(
            self.world.m,
            self.world.sync,
            self.downloads,  # duck-typed downloader
            self.peers,  # duck-typed peer messages
            self.world.publish,
        )


async def store_message(world: World, chat: str, message_id: str, at: int, from_me: bool) -> None:
    await world.messages.messages.insert(
        SID,
        MessageRecord(
            chat=chat,
            message_id=message_id,
            sender=OWN_PN if from_me else chat,
            from_me=from_me,
            sent_at=datetime.fromtimestamp(at, UTC),
            content_type=ContentType.TEXT,
            status=MessageStatus.RECEIVED,
            text="hi",
        ),
    )
    await world.messages.chats.record_message(
        SID,
        chat,
        ChatKind.USER,
        message_id=message_id,
        sender=OWN_PN if from_me else chat,
        from_me=from_me,
        preview="hi",
        at=datetime.fromtimestamp(at, UTC),
        unread=0 if from_me else 1,
    )


async def test_key_share_then_every_mutation_kind_is_applied(world: World) -> None:
    setup = Setup(world)
    server = setup.server
    await store_message(world, ALICE, "A1", T, False)
    await store_message(world, ALICE, "A2", T + 60, False)
    await store_message(world, BOB, "B1", T, True)
    server.write(
        "critical_unblock_low", [contact(ALICE, "Alice Liddell"), contact(BOB_LID, "Bob Lid")]
    )
    server.write(
        "critical_block",
        [
            PendingMutation(
                ("setting_pushName",),
                value(pushNameSetting=wa_appstate_pb2.PushNameSetting(name="Me Myself")),
                1,
            )
        ],
    )
    server.write("regular_low", [archive(ALICE)])
    server.write(
        "regular_low",
        [
            PendingMutation(
                ("pin_v1", BOB), value(pinAction=wa_appstate_pb2.PinAction(pinned=True)), 5
            )
        ],
    )
    server.write("regular_high", [mute(ALICE, (T + 3600) * 1000), mute(BOB, -1)])
    read = wa_appstate_pb2.MarkChatAsReadAction(
        read=True, messageRange=wa_appstate_pb2.SyncActionMessageRange(lastMessageTimestamp=T + 60)
    )
    server.write(
        "regular_low",
        [PendingMutation(("markChatAsRead", ALICE), value(markChatAsReadAction=read), 3)],
    )
    star = PendingMutation(
        ("star", BOB, "B1", "1", "0"), value(starAction=wa_appstate_pb2.StarAction(starred=True)), 2
    )
    server.write("regular_high", [star])
    label = PendingMutation(
        ("label_edit", "7"),
        value(labelEditAction=wa_appstate_pb2.LabelEditAction(name="VIP", color=3)),
        3,
    )
    tag = PendingMutation(
        ("label_jid", "7", ALICE),
        value(labelAssociationAction=wa_appstate_pb2.LabelAssociationAction(labeled=True)),
        3,
    )
    server.write("regular", [label, tag])

    await setup.sync.on_protocol(None, key_share())

    repo = world.sync.app_state
    alice = await repo.chat_settings(SID, ALICE)
    assert alice is not None and alice.archived and alice.unread_count == 0
    assert alice.muted_until == (T + 3600) * 1000
    bob = await repo.chat_settings(SID, BOB)
    assert bob is not None and bob.pinned_at is not None and bob.muted_until == MUTED_FOREVER
    names = await repo.contact_names(SID, ALICE)
    assert names is not None and (names.full_name, names.first_name) == ("Alice Liddell", "Alice")
    lid_names = await repo.contact_names(SID, BOB_LID)
    assert lid_names is not None and lid_names.full_name == "Bob Lid"
    own = await world.messages.contacts.find(SID, OWN_PN)
    assert own is not None and own.push_name == "Me Myself"
    read_rows = await world.messages.messages.page(SID, ALICE, limit=5)
    assert {r.status for r in read_rows} == {MessageStatus.READ}
    assert [label.name for label in await repo.labels(SID)] == ["VIP"]
    assert await repo.chat_labels(SID, ALICE) == ["7"]
    starred = await world.db.fetch_one(
        "SELECT starred FROM messages WHERE session_id = ? AND message_id = 'B1'", (SID,)
    )
    assert starred == (1,)

    stored = {c.name: c for c in await repo.collections(SID)}
    assert set(stored) == {str(c) for c in ALL_COLLECTIONS}
    assert (
        stored["regular_low"].version == 3 and stored["regular_low"].status is CollectionStatus.OK
    )
    full = await repo.load_collection(SID, "regular_low")
    assert full is not None and full.hash == server.phone_state["regular_low"].hash
    assert len(full.index_value_macs) == 3
    synced = world.of(AppStateSynced)
    assert {e.collection for e in synced} == {str(c) for c in ALL_COLLECTIONS}
    assert any(e.jid == ALICE for e in world.of(ChatSettingsChanged))


async def test_a_tampered_mac_is_refused_resynced_and_never_applied(world: World) -> None:
    setup = Setup(world)
    server = setup.server
    await world.auth.app_state_keys.store(SID, _key())
    server.write("regular_low", [archive(BOB)])
    await setup.sync.sync(["regular_low"])
    bob = await world.sync.app_state.chat_settings(SID, BOB)
    assert bob is not None and bob.archived

    for kind in ("patch", "value", "index", "snapshot"):
        world.events.clear()
        patch = server.write("regular_low", [archive(ALICE, archived=kind != "value")])
        version = patch.version.version
        server.tampered[("regular_low", version)] = kind
        (outcome,) = await setup.sync.sync(["regular_low"])
        assert outcome.status is CollectionStatus.FAILED, kind
        refused = world.of(AppStateRefused)
        # Refused, then a full resync from scratch, which meets the same bad patch again.
        assert [e.resyncing for e in refused] == [True, False], kind
        assert "MAC" in refused[0].reason, (kind, refused[0].reason)
        row = await world.sync.app_state.load_collection(SID, "regular_low")
        assert row is not None and row.version == version - 1, kind
        assert row.status is CollectionStatus.FAILED and row.last_error
        alice = await world.sync.app_state.chat_settings(SID, ALICE)
        assert alice is None or not alice.archived, kind
        # The server serves it genuine again: the next sync applies it.
        del server.tampered[("regular_low", version)]
        (outcome,) = await setup.sync.sync(["regular_low"])
        assert outcome.status is CollectionStatus.OK and outcome.version == version, kind
        alice = await world.sync.app_state.chat_settings(SID, ALICE)
        assert alice is not None and alice.archived == (kind != "value"), kind
        # Un-archive for the next round.
        server.write("regular_low", [archive(ALICE, archived=False)])
        await setup.sync.sync(["regular_low"])


async def test_a_resync_replaces_a_state_that_went_wrong(world: World) -> None:
    setup = Setup(world)
    server = setup.server
    await world.auth.app_state_keys.store(SID, _key())
    server.write("regular_high", [mute(ALICE, -1)])
    await setup.sync.sync(["regular_high"])
    # Our stored LTHash is damaged (a bad disk, a bug): the next patch's snapshot MAC cannot
    # match, and the full resync rebuilds the collection from the server's patches.
    await world.db.execute(
        "UPDATE app_state_collections SET hash = ? WHERE name = 'regular_high'", (bytes(128),)
    )
    server.write("regular_high", [mute(BOB, -1)])
    (outcome,) = await setup.sync.sync(["regular_high"])
    assert outcome.status is CollectionStatus.OK and outcome.full and outcome.version == 2
    assert [e.resyncing for e in world.of(AppStateRefused)] == [True]
    row = await world.sync.app_state.load_collection(SID, "regular_high")
    assert row is not None and row.hash == server.phone_state["regular_high"].hash


async def test_missing_key_is_requested_from_the_phone(world: World) -> None:
    setup = Setup(world)
    setup.server.write("regular_low", [archive(ALICE)], key_id=b"other-key")
    await world.auth.app_state_keys.store(SID, _key())
    (outcome,) = await setup.sync.sync(["regular_low"])
    assert outcome.status is CollectionStatus.MISSING_KEY
    (request,) = setup.peers.sent
    protocol = request.protocolMessage
    assert protocol.appStateSyncKeyRequest.keyIDs[0].keyID == b"other-key"
    # Asked once a day, not on every sync.
    await setup.sync.sync(["regular_low"])
    assert len(setup.peers.sent) == 1
    assert await world.sync.app_state.chat_settings(SID, ALICE) is None


async def test_snapshot_then_incremental_after_a_restart(world: World) -> None:
    setup = Setup(world)
    server = setup.server
    server.snapshots = True
    await world.auth.app_state_keys.store(SID, _key())
    server.write("critical_unblock_low", [contact(ALICE, "Alice One"), contact(BOB, "Bob One")])
    server.write("critical_unblock_low", [contact(ALICE, "Alice Two")])
    await setup.sync.sync(["critical_unblock_low"])
    assert setup.downloads.fetched == ["/v/snapshot/critical_unblock_low?v=2"]
    names = await world.sync.app_state.contact_names(SID, ALICE)
    assert names is not None and names.full_name == "Alice Two"

    server.write(
        "critical_unblock_low",
        [PendingMutation(("contact", BOB), value(), 2, Operation.REMOVE)],
    )
    restarted = setup.fresh()  # a new process: the state comes from the database
    setup.connection.queries.clear()
    (outcome,) = await restarted.sync(["critical_unblock_low"])
    assert outcome.version == 3 and not outcome.full
    (fetch,) = setup.connection.queries
    assert fetch.child("sync", "collection").attrs["version"] == "2"
    removed = await world.sync.app_state.contact_names(SID, BOB)
    assert removed is not None and removed.full_name is None


async def test_our_archive_and_mark_read_go_up_as_patches(world: World) -> None:
    setup = Setup(world)
    server = setup.server
    await world.auth.app_state_keys.store(SID, _key())
    await store_message(world, ALICE, "A1", T, False)
    server.conflicts = 1  # another device writes regular_low first: 409, catch up, again
    version = await setup.sync.archive_chat(JID.parse(ALICE))
    assert version == 2 and len(server.uploads) == 1
    uploaded = server.uploads[0]
    assert uploaded.keyID.ID == KEY_ID and len(uploaded.mutations) == 1
    settings = await world.sync.app_state.chat_settings(SID, ALICE)
    assert settings is not None and settings.archived
    # The phone (another device) verifies our patch from its own state.
    assert server.state_of("regular_low").version == 2

    await setup.sync.mark_chat_read(JID.parse(ALICE))
    settings = await world.sync.app_state.chat_settings(SID, ALICE)
    assert settings is not None and settings.unread_count == 0
    row = await world.sync.app_state.load_collection(SID, "regular_low")
    assert row is not None and row.version == 3 and row.hash == server.state_of("regular_low").hash


async def test_server_sync_notification_triggers_a_fetch(world: World) -> None:
    setup = Setup(world)
    await world.auth.app_state_keys.store(SID, _key())
    setup.server.write("regular_low", [archive(ALICE)])
    notification = Node(
        "notification",
        {"from": "s.whatsapp.net", "type": "server_sync", "id": "N1"},
        [Node("collection", {"name": "regular_low", "version": "1"})],
    )
    await setup.sync.on_server_sync(setup.connection, notification)
    await setup.connection.settle()
    assert setup.connection.sent[0].tag == "ack"
    settings = await world.sync.app_state.chat_settings(SID, ALICE)
    assert settings is not None and settings.archived


def _key() -> AppStateSyncKey:
    return AppStateSyncKey(KEY_ID, KEY_DATA, b"", 1)
