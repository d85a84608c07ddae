"""History sync payloads: built from the phone's chats, readable by a companion."""

from __future__ import annotations

import zlib

import pytest

from daemon.binary import JID
from sandbox.phone.history import (
    RECENT_DONE_PROGRESS,
    ChatMessage,
    SeededChat,
    build_conversations,
    decompress,
    history_sync_plan,
    notification_message,
)
from waproto import wa_e2e_pb2, wa_history_pb2, wa_web_pb2

ANN = JID("15550001111", "s.whatsapp.net")
ANN_LID = JID("111111111111111", "lid")
BOB = JID("15550002222", "s.whatsapp.net")
BOB_LID = JID("222222222222222", "lid")
GROUP = JID("120363000000000001", "g.us")


def _texts(
    chat: JID,
    count: int,
    start: int = 1000,
    *,
    from_me: bool,
    sender: JID | None = None,
    push_name: str = "",
) -> list[ChatMessage]:
    return [
        ChatMessage.text(
            chat,
            f"ID{chat.user[-4:]}{i:03d}",
            f"m{i}",
            from_me=from_me,
            timestamp=start + i,
            sender=sender,
            push_name=push_name,
        )
        for i in range(count)
    ]


def test_plan_order_and_types() -> None:
    plan = history_sync_plan([])
    assert [chunk.sync_type for chunk in plan] == [
        wa_e2e_pb2.INITIAL_BOOTSTRAP,
        wa_e2e_pb2.PUSH_NAME,
        wa_e2e_pb2.RECENT,
    ]
    assert plan[-1].progress == RECENT_DONE_PROGRESS
    for chunk in plan:
        payload = decompress(chunk.notification().initialHistBootstrapInlinePayload)
        assert payload.syncType == int(chunk.sync_type)


def test_inline_payload_is_zlib_history_sync() -> None:
    messages = _texts(BOB, 3, from_me=False, push_name="Bob")
    plan = history_sync_plan(
        messages, push_names={BOB: "Bob"}, lid_mappings={BOB: BOB_LID, ANN: ANN_LID}
    )
    notification = plan[0].notification(original_message_id="3EB0ABC")
    assert notification.syncType == wa_e2e_pb2.INITIAL_BOOTSTRAP
    assert notification.originalMessageID == "3EB0ABC"
    assert notification.fileLength == len(notification.initialHistBootstrapInlinePayload)
    assert notification.oldestMsgInChunkTimestampSec == 1000

    raw = zlib.decompress(notification.initialHistBootstrapInlinePayload)
    history = wa_history_pb2.HistorySync.FromString(raw)
    assert history.syncType == wa_history_pb2.HistorySync.INITIAL_BOOTSTRAP
    [conversation] = history.conversations
    assert str(BOB) == conversation.ID
    assert [m.message.message.conversation for m in conversation.messages] == ["m0", "m1", "m2"]
    assert [m.msgOrderID for m in conversation.messages] == [1, 2, 3]
    first = conversation.messages[0].message
    assert first.key.remoteJID == str(BOB)
    assert not first.key.fromMe
    assert first.pushName == "Bob"
    assert first.status == wa_web_pb2.WebMessageInfo.READ
    assert {(m.pnJID, m.lidJID) for m in history.phoneNumberToLidMappings} == {
        (str(ANN), str(ANN_LID)),
        (str(BOB), str(BOB_LID)),
    }

    names = decompress(plan[1].notification().initialHistBootstrapInlinePayload)
    assert [(p.ID, p.pushname) for p in names.pushnames] == [(str(BOB), "Bob")]


def test_the_whole_notification_travels_in_a_protocol_message() -> None:
    chunk = history_sync_plan(_texts(BOB, 1, from_me=True))[0]
    wire = notification_message(chunk.notification()).SerializeToString()
    message = wa_e2e_pb2.Message.FromString(wire)
    protocol = message.protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION
    history = decompress(protocol.historySyncNotification.initialHistBootstrapInlinePayload)
    info = history.conversations[0].messages[0].message
    assert info.key.fromMe
    assert info.status == wa_web_pb2.WebMessageInfo.DELIVERY_ACK


def test_newest_messages_bootstrap_older_ones_recent() -> None:
    plan = history_sync_plan(_texts(BOB, 5, from_me=False), bootstrap_messages_per_chat=2)
    bootstrap = decompress(plan[0].notification().initialHistBootstrapInlinePayload)
    recent = decompress(plan[2].notification().initialHistBootstrapInlinePayload)
    assert [m.message.message.conversation for m in bootstrap.conversations[0].messages] == [
        "m3",
        "m4",
    ]
    assert [m.message.message.conversation for m in recent.conversations[0].messages] == [
        "m0",
        "m1",
        "m2",
    ]
    assert recent.progress == RECENT_DONE_PROGRESS
    assert plan[2].notification().progress == RECENT_DONE_PROGRESS


def test_seeded_chats_merge_with_exchanged_messages() -> None:
    seeded = SeededChat(
        GROUP,
        name="Team",
        messages=tuple(_texts(GROUP, 2, from_me=False, sender=ANN)),
        unread_count=2,
    )
    empty = SeededChat(ANN, name="Ann")
    exchanged = _texts(BOB, 1, start=5000, from_me=True) + list(seeded.messages[:1])
    plan = history_sync_plan(exchanged, seeded_chats=[seeded, empty])
    history = decompress(plan[0].notification().initialHistBootstrapInlinePayload)
    by_id = {c.ID: c for c in history.conversations}
    assert set(by_id) == {str(GROUP), str(ANN), str(BOB)}
    # Newest chat first; a chat without messages comes last.
    assert [c.ID for c in history.conversations] == [str(BOB), str(GROUP), str(ANN)]
    group = by_id[str(GROUP)]
    assert group.name == "Team"
    assert group.unreadCount == 2
    assert len(group.messages) == 2  # the duplicate exchanged copy is not repeated
    info = group.messages[0].message
    assert info.key.participant == str(ANN)
    assert info.participant == str(ANN)
    assert by_id[str(ANN)].name == "Ann"
    assert not by_id[str(ANN)].messages


def test_conversations_sorted_within_chat() -> None:
    shuffled = list(reversed(_texts(BOB, 3, from_me=False)))
    [conversation] = build_conversations(shuffled)
    assert [m.message.messageTimestamp for m in conversation.messages] == [1000, 1001, 1002]
    assert conversation.lastMsgTimestamp == 1002


def test_negative_bootstrap_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        history_sync_plan([], bootstrap_messages_per_chat=-1)
