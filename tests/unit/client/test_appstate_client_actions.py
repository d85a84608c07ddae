"""What app-state mutations mean for our tables, the mutations we send, and the iq shapes."""

from __future__ import annotations

import pytest

from daemon.binary import SERVER_JID, Node
from daemon.client.app_state_actions import (
    ChatArchived,
    ChatDeleted,
    ChatLabeled,
    ChatMuted,
    ChatPinned,
    ChatRead,
    ContactName,
    LabelEdited,
    LastMessage,
    MessageDeletedForMe,
    MessageStarred,
    NctSaltChanged,
    PushNameChanged,
    archive_mutation,
    interpret,
    mark_read_mutation,
    mute_mutation,
    pin_mutation,
)
from daemon.client.app_state_sync import (
    build_fetch_iq,
    build_upload_iq,
    key_request_message,
    parse_sync_answer,
    shared_keys,
)
from daemon.client.sync_errors import AppStateSyncFailed
from daemon.crypto.appstate import (
    Collection,
    CollectionState,
    Mutation,
    Operation,
    SyncActionValue,
    decode_patch,
    encode_patch,
)
from storage.sync_values import MUTED_FOREVER
from waproto import wa_appstate_pb2, wa_e2e_pb2

CHAT = "15550002222@s.whatsapp.net"


def mutation(index: tuple[str, ...], value: SyncActionValue, *, removed: bool = False) -> Mutation:
    return Mutation(
        operation=Operation.REMOVE if removed else Operation.SET,
        index=index,
        value=value,
        action_version=1,
        index_mac=b"i" * 32,
        value_mac=b"v" * 32,
        key_id=b"k",
        patch_version=1,
    )


def v(**fields: object) -> SyncActionValue:
    made = SyncActionValue()
    for name, content in fields.items():
        getattr(made, name).CopyFrom(content)
    return made


RANGE = wa_appstate_pb2.SyncActionMessageRange(
    lastMessageTimestamp=100,
    messages=[wa_appstate_pb2.SyncActionMessage(timestamp=160)],
)


@pytest.mark.parametrize(
    ("index", "value", "removed", "expected"),
    [
        (
            ("contact", CHAT),
            v(
                contactAction=wa_appstate_pb2.ContactAction(
                    fullName="Ann Lee", firstName="Ann", lidJID="5@lid"
                )
            ),
            False,
            ContactName(CHAT, "Ann Lee", "Ann", lid="5@lid"),
        ),
        (("contact", CHAT), v(), True, ContactName(CHAT, None, None)),
        (
            ("lid_contact", "5@lid"),
            v(lidContactAction=wa_appstate_pb2.LidContactAction(fullName="Ann")),
            False,
            ContactName("5@lid", "Ann", None),
        ),
        (
            ("setting_pushName",),
            v(pushNameSetting=wa_appstate_pb2.PushNameSetting(name="Me")),
            False,
            PushNameChanged("Me"),
        ),
        (
            ("archive", CHAT),
            v(archiveChatAction=wa_appstate_pb2.ArchiveChatAction(archived=True)),
            False,
            ChatArchived(CHAT, True),
        ),
        (
            ("archive", CHAT),
            v(archiveChatAction=wa_appstate_pb2.ArchiveChatAction(archived=True)),
            True,
            ChatArchived(CHAT, False),
        ),
        (
            ("pin_v1", CHAT),
            v(pinAction=wa_appstate_pb2.PinAction(pinned=True)),
            False,
            ChatPinned(CHAT, True),
        ),
        (
            ("mute", CHAT),
            v(muteAction=wa_appstate_pb2.MuteAction(muted=True, muteEndTimestamp=5)),
            False,
            ChatMuted(CHAT, 5),
        ),
        (
            ("mute", CHAT),
            v(muteAction=wa_appstate_pb2.MuteAction(muted=True, muteEndTimestamp=-1)),
            False,
            ChatMuted(CHAT, MUTED_FOREVER),
        ),
        (
            ("mute", CHAT),
            v(muteAction=wa_appstate_pb2.MuteAction(muted=False)),
            False,
            ChatMuted(CHAT, None),
        ),
        (
            ("markChatAsRead", CHAT),
            v(
                markChatAsReadAction=wa_appstate_pb2.MarkChatAsReadAction(
                    read=True, messageRange=RANGE
                )
            ),
            False,
            ChatRead(CHAT, True, 160_000),
        ),
        (
            ("deleteChat", CHAT, "1"),
            v(deleteChatAction=wa_appstate_pb2.DeleteChatAction(messageRange=RANGE)),
            False,
            ChatDeleted(CHAT, 160_000),
        ),
        (
            ("clearChat", CHAT, "0", "0"),
            v(clearChatAction=wa_appstate_pb2.ClearChatAction()),
            False,
            ChatDeleted(CHAT, None, keep_chat=True),
        ),
        (
            ("star", CHAT, "ID1", "1", "0"),
            v(starAction=wa_appstate_pb2.StarAction(starred=True)),
            False,
            MessageStarred(CHAT, "ID1", True, True),
        ),
        (("star", CHAT, "ID1", "0", "0"), v(), True, MessageStarred(CHAT, "ID1", False, False)),
        (
            ("deleteMessageForMe", CHAT, "ID2", "0", "0"),
            v(deleteMessageForMeAction=wa_appstate_pb2.DeleteMessageForMeAction()),
            False,
            MessageDeletedForMe(CHAT, "ID2", False),
        ),
        (
            ("label_edit", "3"),
            v(labelEditAction=wa_appstate_pb2.LabelEditAction(name="Leads", color=4)),
            False,
            LabelEdited("3", "Leads", 4, False),
        ),
        (
            ("label_jid", "3", CHAT),
            v(labelAssociationAction=wa_appstate_pb2.LabelAssociationAction(labeled=True)),
            False,
            ChatLabeled("3", CHAT, True),
        ),
        (
            ("setting_locale",),
            v(localeSetting=wa_appstate_pb2.LocaleSetting(locale="en")),
            False,
            None,
        ),
        (("star", CHAT), v(), False, None),
        ((), v(), False, None),
        (
            ("nct_salt_sync",),
            v(nctSaltSyncAction=wa_appstate_pb2.NctSaltSyncAction(salt=b"s" * 32)),
            False,
            NctSaltChanged(b"s" * 32),
        ),
        (("nct_salt_sync",), v(), True, NctSaltChanged(None)),
    ],
)
def test_mutations_map_to_actions(
    index: tuple[str, ...], value: SyncActionValue, removed: bool, expected: object
) -> None:
    assert interpret(mutation(index, value, removed=removed)) == expected


def test_outgoing_mutations_use_whatsapps_indexes_and_versions() -> None:
    last = LastMessage("ID9", False, 1_700_000_000)
    collection, archive = archive_mutation(CHAT, True, last)
    assert collection is Collection.REGULAR_LOW
    assert (archive.index, archive.action_version) == (("archive", CHAT), 3)
    assert archive.value.archiveChatAction.messageRange.messages[0].key.ID == "ID9"
    collection, read = mark_read_mutation(CHAT, True, None)
    assert (collection, read.index, read.action_version) == (
        Collection.REGULAR_LOW,
        ("markChatAsRead", CHAT),
        3,
    )
    collection, pin = pin_mutation(CHAT, True)
    assert (collection, pin.index, pin.action_version) == (
        Collection.REGULAR_LOW,
        ("pin_v1", CHAT),
        5,
    )
    collection, muted = mute_mutation(CHAT, None)
    assert collection is Collection.REGULAR_HIGH and not muted.value.muteAction.muted
    # What we encode, another device decodes to the same action.
    state = CollectionState("regular_low")
    encoded = encode_patch(state, [archive], b"key", bytes(32))
    (decoded,) = decode_patch(encoded.patch, state, lambda _: bytes(32)).mutations
    assert interpret(decoded) == ChatArchived(CHAT, True)


def test_iq_shapes() -> None:
    fetch = build_fetch_iq("regular", 7, snapshot=False)
    assert (fetch.attrs["xmlns"], fetch.attrs["type"], fetch.attrs["to"]) == (
        "w:sync:app:state",
        "set",
        SERVER_JID,
    )
    collection = fetch.child("sync", "collection")
    assert collection is not None
    assert collection.attrs == {"name": "regular", "return_snapshot": "false", "version": "7"}
    first = build_fetch_iq("regular", 0, snapshot=True).child("sync", "collection")
    assert first is not None and "version" not in first.attrs
    upload = build_upload_iq("regular", 3, b"patch").child("sync", "collection")
    assert upload is not None and upload.attrs["version"] == "3"
    assert upload.child("patch") is not None and upload.child("patch").content == b"patch"  # type: ignore[union-attr]


def test_answers_are_parsed_or_refused() -> None:
    patch = wa_appstate_pb2.SyncdPatch(version=wa_appstate_pb2.SyncdVersion(version=4))
    answer = Node(
        "iq",
        {"type": "result"},
        [
            Node(
                "sync",
                {},
                [
                    Node(
                        "collection",
                        {"name": "regular", "version": "4", "has_more_patches": "true"},
                        [Node("patches", {}, [Node("patch", {}, patch.SerializeToString())])],
                    )
                ],
            )
        ],
    )
    parsed = parse_sync_answer(answer, "regular")
    assert (parsed.version, parsed.has_more, len(parsed.patches), parsed.error_code) == (
        4,
        True,
        1,
        None,
    )
    error = Node(
        "iq",
        {},
        [
            Node(
                "sync",
                {},
                [
                    Node(
                        "collection",
                        {"name": "regular", "type": "error"},
                        [Node("error", {"code": "409"})],
                    )
                ],
            )
        ],
    )
    assert parse_sync_answer(error, "regular").error_code == 409
    with pytest.raises(AppStateSyncFailed, match="no collection regular"):
        parse_sync_answer(Node("iq", {}, [Node("sync")]), "regular")
    broken = Node(
        "iq",
        {},
        [
            Node(
                "sync",
                {},
                [Node("collection", {"name": "regular"}, [Node("patch", {}, b"\xff\xff")])],
            )
        ],
    )
    with pytest.raises(AppStateSyncFailed, match="not a protobuf"):
        parse_sync_answer(broken, "regular")


def test_key_share_and_request_messages() -> None:
    good = wa_e2e_pb2.AppStateSyncKey(
        keyID=wa_e2e_pb2.AppStateSyncKeyId(keyID=b"id1"),
        keyData=wa_e2e_pb2.AppStateSyncKeyData(keyData=bytes(32), timestamp=9),
    )
    short = wa_e2e_pb2.AppStateSyncKey(
        keyID=wa_e2e_pb2.AppStateSyncKeyId(keyID=b"id2"),
        keyData=wa_e2e_pb2.AppStateSyncKeyData(keyData=b"short"),
    )
    share = wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE,
            appStateSyncKeyShare=wa_e2e_pb2.AppStateSyncKeyShare(keys=[good, short]),
        )
    )
    (key,) = shared_keys(share)
    assert (key.key_id, key.key_data, key.timestamp) == (b"id1", bytes(32), 9)
    assert shared_keys(wa_e2e_pb2.Message(conversation="hi")) == []
    request = key_request_message([b"a", b"b"]).protocolMessage
    assert request.type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_REQUEST
    assert [k.keyID for k in request.appStateSyncKeyRequest.keyIDs] == [b"a", b"b"]
