"""The app-state server's pure parts (request parsing, tampering, records, answers) and the
phone's change vocabulary, checked against the client-side decoder."""

from __future__ import annotations

import pytest

from daemon.binary import JID, Node
from daemon.crypto.appstate import (
    AppStateMacMismatch,
    Collection,
    CollectionState,
    MacKind,
    PendingMutation,
    SyncActionValue,
    decode_patch,
    encode_patch,
)
from sandbox.app_state import (
    CollectionError,
    CollectionRequest,
    Tamper,
    collection_node,
    error_collection,
    parse_sync,
    record_changes,
    server_sync_notification,
    tampered,
)
from sandbox.iq import IqFailure
from sandbox.phone.app_state import ChangeAction, change_mutation, parse_change
from waproto import wa_appstate_pb2

KEY_ID = b"\x00\x00\x01\x02\x03\x04"
KEY = bytes(range(32))
BOB = "15550002222@s.whatsapp.net"


def lookup(key_id: bytes) -> bytes | None:
    return KEY if key_id == KEY_ID else None


def mute(chat: str, muted: bool = True) -> PendingMutation:
    value = SyncActionValue(muteAction=wa_appstate_pb2.MuteAction(muted=muted))
    return PendingMutation(("mute", chat), value, 2)


def sync_iq(*collections: Node) -> Node:
    return Node("iq", {"id": "1", "type": "set"}, [Node("sync", {}, list(collections))])


def test_parse_sync_reads_fetches_uploads_and_flags_bad_collections() -> None:
    requests = parse_sync(
        sync_iq(
            Node("collection", {"name": "regular", "version": "3", "return_snapshot": "false"}),
            Node("collection", {"name": "regular_low", "return_snapshot": "true"}),
            Node("collection", {"name": "regular_high", "version": "0"}, [Node("patch", {}, b"x")]),
            Node("collection", {"name": "nope", "version": "0"}),
            Node("collection", {"name": "regular", "version": "-1"}),
        )
    )
    assert requests[:3] == [
        CollectionRequest("regular", 3, False),
        CollectionRequest("regular_low", None, True),
        CollectionRequest("regular_high", 0, False, (b"x",)),
    ]
    assert isinstance(requests[2], CollectionRequest) and requests[2].is_upload
    for error, name in zip(requests[3:], ("nope", "regular"), strict=True):
        assert isinstance(error, CollectionError)
        assert (error.code, error.name) == (400, name)
    with pytest.raises(IqFailure):
        parse_sync(Node("iq", {"id": "1"}))
    with pytest.raises(IqFailure):
        parse_sync(sync_iq())


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (Tamper.VALUE, MacKind.VALUE),
        (Tamper.INDEX, MacKind.INDEX),
        (Tamper.PATCH, MacKind.PATCH),
        (Tamper.SNAPSHOT, MacKind.SNAPSHOT),
    ],
)
def test_each_tamper_is_caught_by_its_own_mac(tamper: Tamper, kind: MacKind) -> None:
    encoded = encode_patch(CollectionState("regular_high"), [mute(BOB)], KEY_ID, KEY)
    genuine = encoded.patch.SerializeToString()
    assert decode_patch(encoded.patch, CollectionState("regular_high"), lookup).state.version == 1
    bad = wa_appstate_pb2.SyncdPatch.FromString(tampered(genuine, tamper))
    with pytest.raises(AppStateMacMismatch) as refused:
        decode_patch(bad, CollectionState("regular_high"), lookup)
    assert refused.value.kind is kind


def test_record_changes_keep_the_last_word_per_index() -> None:
    first = encode_patch(CollectionState("regular_high"), [mute(BOB)], KEY_ID, KEY)
    overwrite = encode_patch(
        CollectionState("regular_high"),
        [mute(BOB), mute(BOB, False), mute("1@s.whatsapp.net")],
        KEY_ID,
        KEY,
    )
    records, removed = record_changes(overwrite.patch.mutations)
    assert len(records) == 2 and removed == []
    [(index_mac, record)] = [
        r for r in records if r[0] == first.patch.mutations[0].record.index.blob
    ]
    assert record == overwrite.patch.mutations[1].record.SerializeToString()
    remove = wa_appstate_pb2.SyncdMutation(
        operation=wa_appstate_pb2.SyncdMutation.REMOVE,
        record=first.patch.mutations[0].record,
    )
    records, removed = record_changes([*first.patch.mutations, remove])
    assert records == [] and removed == [index_mac]
    with pytest.raises(CollectionError):
        record_changes([wa_appstate_pb2.SyncdMutation()])


def test_answers_have_the_shapes_clients_parse() -> None:
    node = collection_node("regular", 7, patches=[b"a", b"b"], has_more=True)
    assert node.attrs == {"name": "regular", "version": "7", "has_more_patches": "true"}
    patches = node.child("patches")
    assert patches is not None
    assert [p.content_bytes() for p in patches.children_by_tag("patch")] == [b"a", b"b"]
    assert collection_node("regular", 0).children == []
    snapshot = collection_node("regular", 2, snapshot=b"ref")
    assert (snapshot.child("snapshot") or snapshot).content_bytes() == b"ref"
    error = error_collection("regular", 4, CollectionError(409, "conflict", [b"p"]))
    assert error.attr_str("type") == "error"
    assert (error.child("error") or error).attrs == {"code": "409", "text": "conflict"}
    assert error.child("patches") is not None
    note = server_sync_notification([("regular_low", 5)], 1000)
    assert (note.attr_str("type"), note.attr_str("t")) == ("server_sync", "1000")
    [collection] = note.children_by_tag("collection")
    assert collection.attrs == {"name": "regular_low", "version": "5"}


GROUP = "120363000000000001@g.us"
RENAME = {"action": "rename_contact", "jid": "15550002222", "full_name": "Bob B"}
STAR = {"action": "star", "chat": GROUP, "message_id": "M1", "participant": BOB}
UNSTAR = {"action": "unstar", "chat": BOB, "message_id": "M2", "from_me": True}
CHANGES = [
    (RENAME, "critical_unblock_low", ("contact", BOB), 2),
    ({"action": "archive", "chat": BOB}, "regular_low", ("archive", BOB), 3),
    ({"action": "unarchive", "chat": BOB}, "regular_low", ("archive", BOB), 3),
    ({"action": "mute", "chat": BOB}, "regular_high", ("mute", BOB), 2),
    ({"action": "unmute", "chat": BOB}, "regular_high", ("mute", BOB), 2),
    ({"action": "pin", "chat": BOB}, "regular_low", ("pin_v1", BOB), 5),
    ({"action": "unpin", "chat": BOB}, "regular_low", ("pin_v1", BOB), 5),
    ({"action": "mark_read", "chat": BOB}, "regular_low", ("markChatAsRead", BOB), 3),
    ({"action": "mark_unread", "chat": BOB}, "regular_low", ("markChatAsRead", BOB), 3),
    (STAR, "regular_high", ("star", GROUP, "M1", "0", BOB), 2),
    (UNSTAR, "regular_high", ("star", BOB, "M2", "1", "0"), 2),
    ({"action": "delete_chat", "chat": BOB}, "regular_high", ("deleteChat", BOB, "0"), 6),
    ({"action": "set_push_name", "name": "Ann"}, "critical_block", ("setting_pushName",), 1),
]


@pytest.mark.parametrize(("body", "collection", "index", "version"), CHANGES)
def test_changes_map_to_the_clients_indexes_and_versions(
    body: dict[str, object], collection: str, index: tuple[str, ...], version: int
) -> None:
    change = parse_change(body)
    where, mutation = change_mutation(change)
    assert (str(where), mutation.index, mutation.action_version) == (collection, index, version)
    # Encodes into a patch a client decodes to the same value.
    encoded = encode_patch(CollectionState(collection), [mutation], KEY_ID, KEY, timestamp_ms=5)
    [decoded] = decode_patch(encoded.patch, CollectionState(collection), lookup).mutations
    assert decoded.index == index
    assert decoded.value.timestamp == 5


def test_change_values() -> None:
    def value(body: dict[str, object]) -> SyncActionValue:
        return change_mutation(parse_change(body))[1].value

    assert value({"action": "archive", "chat": BOB}).archiveChatAction.archived
    assert not value({"action": "unarchive", "chat": BOB}).archiveChatAction.archived
    assert value({"action": "mute", "chat": BOB}).muteAction.muteEndTimestamp == -1
    timed = value({"action": "mute", "chat": BOB, "mute_end_ms": 99})
    assert (timed.muteAction.muted, timed.muteAction.muteEndTimestamp) == (True, 99)
    assert not value({"action": "unmute", "chat": BOB}).muteAction.muted
    contact = value({"action": "rename_contact", "chat": BOB, "full_name": "Robert Builder"})
    assert (contact.contactAction.fullName, contact.contactAction.firstName) == (
        "Robert Builder",
        "Robert",
    )
    assert value({"action": "mark_read", "chat": BOB}).markChatAsReadAction.read
    assert parse_change({"action": "archive", "chat": "+15550002222"}).chat == JID.parse(BOB)
    assert ChangeAction("pin") is ChangeAction.PIN
    assert str(Collection.CRITICAL_BLOCK) == "critical_block"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": "teleport"},
        {"action": "mute"},
        {"action": "mute", "chat": BOB, "mute_end_ms": "soon"},
        {"action": "mute", "chat": BOB, "mute_end_ms": True},
        {"action": "rename_contact", "chat": BOB},
        {"action": "set_push_name"},
        {"action": "star", "chat": BOB},
        {"action": "archive", "chat": "not a jid@"},
    ],
)
def test_bad_changes_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_change(body)
