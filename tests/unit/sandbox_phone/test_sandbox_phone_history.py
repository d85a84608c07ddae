"""History sync chunks: built from the phone's chats, readable by a companion's parser."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from daemon.binary import JID
from daemon.crypto.history import HistorySyncKind, MessageStatus, parse_history_sync
from sandbox.phone.history import (
    RECENT_DONE_PROGRESS,
    BlobLocation,
    ChatMessage,
    HistoryBook,
    HistoryChunk,
    HistoryConfig,
    SeededChat,
    decompress,
    history_sync_plan,
    notification_message,
    on_demand_chunk,
)
from waproto import wa_e2e_pb2

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


def _plan(messages: list[ChatMessage], **config: Any) -> list[HistoryChunk]:
    return history_sync_plan(HistoryBook((), messages), HistoryConfig(**config))


def test_plan_order_types_and_transport() -> None:
    plan = _plan([])
    assert [c.sync_type for c in plan] == [
        HistorySyncKind.INITIAL_BOOTSTRAP,
        HistorySyncKind.PUSH_NAME,
        HistorySyncKind.RECENT,
    ]
    # Only the bootstrap is inline; an empty RECENT still says the recent sync is done.
    assert [c.inline for c in plan] == [True, False, False]
    assert plan[-1].progress == RECENT_DONE_PROGRESS
    for chunk in plan:
        assert parse_history_sync(chunk.blob).kind is chunk.sync_type
    everything_inline = _plan([], inline_everything=True)
    assert all(c.inline for c in everything_inline)


def test_bootstrap_recent_and_full_windows() -> None:
    messages = _texts(BOB, 10, from_me=False)
    plan = _plan(messages, bootstrap_messages_per_chat=2, recent_messages_per_chat=3)
    kinds = [c.sync_type for c in plan]
    assert kinds == [
        HistorySyncKind.INITIAL_BOOTSTRAP,
        HistorySyncKind.PUSH_NAME,
        HistorySyncKind.RECENT,
        HistorySyncKind.FULL,
    ]
    texts = [
        [
            wa_e2e_pb2.Message.FromString(m.message or b"").conversation
            for m in parse_history_sync(c.blob).messages()
        ]
        for c in (plan[0], plan[2], plan[3])
    ]
    assert texts == [["m8", "m9"], ["m5", "m6", "m7"], [f"m{i}" for i in range(5)]]
    assert plan[3].progress == RECENT_DONE_PROGRESS
    no_full = _plan(messages, bootstrap_messages_per_chat=2, send_full_history=False)
    assert [c.sync_type for c in no_full][-1] is HistorySyncKind.RECENT


def test_chunks_split_chats_and_progress_rises() -> None:
    messages = _texts(BOB, 7, from_me=False) + _texts(ANN, 4, start=2000, from_me=True)
    plan = _plan(messages, bootstrap_messages_per_chat=0, chunk_messages=3)
    recent = [c for c in plan if c.sync_type is HistorySyncKind.RECENT]
    assert [c.message_count for c in recent] == [3, 3, 3, 2]
    assert [c.progress for c in recent] == [25, 50, 75, 100]
    assert [c.chunk_order for c in recent] == [1, 2, 3, 4]
    ids = [m.message_id for c in recent for m in parse_history_sync(c.blob).messages()]
    assert sorted(ids) == sorted(m.message_id for m in messages)
    assert recent[0].oldest_timestamp == 2000  # the newest chat (Ann's) comes first


def test_conversation_lists_newest_first_with_order_ids() -> None:
    plan = _plan(_texts(BOB, 3, from_me=False, push_name="Bob"))
    history = decompress(plan[0].blob)
    [conversation] = history.conversations
    assert str(BOB) == conversation.ID
    assert [m.message.message.conversation for m in conversation.messages] == ["m2", "m1", "m0"]
    assert [m.msgOrderID for m in conversation.messages] == [3, 2, 1]
    assert conversation.conversationTimestamp == 1002
    newest = conversation.messages[0].message
    assert newest.pushName == "Bob"
    assert newest.status == int(MessageStatus.READ)
    parsed = list(parse_history_sync(plan[0].blob).messages())
    assert [m.message_id for m in parsed] == ["ID2222000", "ID2222001", "ID2222002"]
    assert all(m.sender == str(BOB) for m in parsed)


def test_groups_names_mappings_and_seeded_merge() -> None:
    seeded = SeededChat(
        GROUP,
        name="Team",
        messages=tuple(_texts(GROUP, 2, from_me=False, sender=ANN)),
        unread_count=2,
        archived=True,
    )
    empty = SeededChat(ANN, name="Ann")
    exchanged = _texts(BOB, 1, start=5000, from_me=True) + list(seeded.messages[:1])
    book = HistoryBook([seeded, empty], exchanged)
    assert book.message_count == 3
    assert book.find("ID2222000") is not None
    plan = history_sync_plan(
        book,
        HistoryConfig(),
        push_names={BOB: "Bob", ANN: ""},
        lid_mappings={BOB: BOB_LID, ANN: ANN_LID},
    )
    payload = parse_history_sync(plan[0].blob)
    conversations = {c.chat_jid: c for c in payload.conversations()}
    assert list(conversations) == [str(BOB), str(GROUP), str(ANN)]  # newest first, empty last
    team = conversations[str(GROUP)]
    assert (team.name, team.unread_count, team.archived) == ("Team", 2, True)
    group_messages = [m for m in payload.messages() if m.chat_jid == str(GROUP)]
    assert [m.sender for m in group_messages] == [str(ANN), str(ANN)]
    assert {(m.pn_jid, m.lid_jid) for m in payload.pn_lid_mappings()} == {
        (str(ANN), str(ANN_LID)),
        (str(BOB), str(BOB_LID)),
    }
    names = parse_history_sync(plan[1].blob)
    assert [(p.jid, p.name) for p in names.push_names()] == [(str(BOB), "Bob")]


def test_notification_inline_or_blob() -> None:
    chunk = _plan(_texts(BOB, 2, from_me=True))[0]
    inline = chunk.notification()
    assert inline.initialHistBootstrapInlinePayload == chunk.blob
    assert inline.fileSHA256 == hashlib.sha256(chunk.blob).digest()
    assert inline.fileLength == len(chunk.blob)
    assert inline.oldestMsgInChunkTimestampSec == 1000
    assert not inline.HasField("directPath")
    location = BlobLocation("/v/t62.7118-24/x.enc?ccb=11-4", b"k" * 32, b"e" * 32)
    blob = chunk.notification(location, session_id="3EB0REQ")
    assert not blob.HasField("initialHistBootstrapInlinePayload")
    assert (blob.directPath, blob.mediaKey, blob.fileEncSHA256) == (
        location.direct_path,
        location.media_key,
        location.file_enc_sha256,
    )
    assert blob.peerDataRequestSessionID == "3EB0REQ"
    wire = notification_message(blob).SerializeToString()
    protocol = wa_e2e_pb2.Message.FromString(wire).protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.HISTORY_SYNC_NOTIFICATION
    assert protocol.historySyncNotification.syncType == wa_e2e_pb2.INITIAL_BOOTSTRAP


def test_on_demand_takes_messages_before_the_oldest_known() -> None:
    book = HistoryBook((), _texts(BOB, 10, from_me=False))
    chunk = on_demand_chunk(
        book, BOB, oldest_id="ID2222006", oldest_timestamp=None, count=3, inline=True
    )
    assert chunk.sync_type is HistorySyncKind.ON_DEMAND
    ids = [m.message_id for m in parse_history_sync(chunk.blob).messages()]
    assert ids == ["ID2222003", "ID2222004", "ID2222005"]
    by_time = on_demand_chunk(
        book, BOB, oldest_id="unknown", oldest_timestamp=1002, count=50, inline=False
    )
    assert [m.message_id for m in parse_history_sync(by_time.blob).messages()] == [
        "ID2222000",
        "ID2222001",
    ]
    nothing = on_demand_chunk(book, ANN, oldest_id="", oldest_timestamp=None, count=5, inline=True)
    assert nothing.message_count == 0


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        HistoryConfig(bootstrap_messages_per_chat=-1)
    with pytest.raises(ValueError):
        HistoryConfig(chunk_messages=0)
