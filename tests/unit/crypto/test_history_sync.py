"""History sync blobs: a Baileys-built blob, ingest order, build/parse round trips and the
decompression guard."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.crypto.history import (
    HistoryConversation,
    HistoryDecodeError,
    HistoryMessage,
    HistorySyncKind,
    HistoryTooLarge,
    MessageStatus,
    PhoneNumberLidMapping,
    PushName,
    build_history_sync,
    inflate,
    parse_history_sync,
)
from waproto import wa_e2e_pb2, wa_history_pb2

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parent / "baileys_crypto_vectors.json").read_text()
)["history"]
ALICE = "15550001111@s.whatsapp.net"
BOB = "15550002222@s.whatsapp.net"
GROUP = "120363000000000000@g.us"


def _text(body: str) -> bytes:
    return wa_e2e_pb2.Message(conversation=body).SerializeToString()


def test_baileys_blob_parses_and_yields_oldest_first() -> None:
    payload = parse_history_sync(bytes.fromhex(VECTOR["blob"]))
    assert payload.kind is HistorySyncKind.RECENT
    assert (payload.chunk_order, payload.progress, payload.nct_salt) == (2, 40, None)
    assert payload.message_count == 3
    assert [c.chat_jid for c in payload.conversations()] == [ALICE, GROUP]
    alice = next(payload.conversations())
    assert (alice.name, alice.unread_count) == ("Alice", 1)

    # Baileys reads the blob newest first (its latest message per chat is the first listed).
    assert VECTOR["baileys_chat_last_message"] == ["MSG-NEW", "GRP-1"]
    messages = list(payload.messages())
    assert [m.message_id for m in messages] == ["MSG-OLD", "MSG-NEW", "GRP-1"]
    old, new, group = messages
    assert old == HistoryMessage(
        chat_jid=ALICE,
        message_id="MSG-OLD",
        from_me=True,
        sender=None,
        timestamp=1_700_000_000,
        message=_text("older"),
        status=MessageStatus.DELIVERY_ACK,
        order_id=1,
    )
    assert (new.sender, new.status, new.order_id) == (ALICE, MessageStatus.READ, 2)
    assert (group.sender, group.push_name, group.order_id) == (BOB, "Bob", None)
    assert wa_e2e_pb2.Message.FromString(group.message or b"").conversation == "hi group"
    assert list(payload.push_names()) == [PushName(BOB, "Bob")]


def _message(
    message_id: str, timestamp: int, chat: str = ALICE, order_id: int | None = None
) -> HistoryMessage:
    return HistoryMessage(
        chat_jid=chat,
        message_id=message_id,
        from_me=False,
        sender=chat if chat != GROUP else BOB,
        timestamp=timestamp,
        message=_text(message_id),
        order_id=order_id,
    )


def test_ties_are_broken_by_order_id_then_by_blob_order() -> None:
    conversation = wa_history_pb2.Conversation(ID=ALICE)
    for message_id, timestamp, order_id in [
        ("c", 20, None),
        ("b", 10, 7),
        ("a", 10, 3),
        ("z2", 5, None),
        ("z1", 5, None),
    ]:
        item = conversation.messages.add()
        item.message.key.remoteJID, item.message.key.ID = ALICE, message_id
        item.message.messageTimestamp = timestamp
        if order_id is not None:
            item.msgOrderID = order_id
    blob = zlib.compress(
        wa_history_pb2.HistorySync(
            syncType=wa_history_pb2.HistorySync.FULL, conversations=[conversation]
        ).SerializeToString()
    )
    ids = [m.message_id for m in parse_history_sync(blob).messages()]
    assert ids == ["z1", "z2", "a", "b", "c"]


def test_build_writes_newest_first_and_round_trips() -> None:
    conversations = [
        HistoryConversation(ALICE, name="Alice", unread_count=2, pinned=1_699_000_000),
        HistoryConversation(GROUP, name="Team", archived=True, ephemeral_expiration=86400),
    ]
    messages = [
        _message("A1", 100),
        _message("A2", 200, order_id=5),
        _message("G1", 150, GROUP),
        _message("S1", 300, "15559999999@lid"),
    ]
    blob = build_history_sync(
        HistorySyncKind.INITIAL_BOOTSTRAP,
        conversations=conversations,
        messages=messages,
        push_names=[PushName(BOB, "Bob")],
        pn_lid_mappings=[PhoneNumberLidMapping(ALICE, "99@lid")],
        chunk_order=1,
        progress=100,
        nct_salt=b"salt",
    )
    raw = wa_history_pb2.HistorySync.FromString(zlib.decompress(blob))
    assert [item.message.key.ID for item in raw.conversations[0].messages] == ["A2", "A1"]
    assert raw.conversations[1].messages[0].message.key.participant == BOB

    payload = parse_history_sync(blob)
    assert payload.kind is HistorySyncKind.INITIAL_BOOTSTRAP
    assert (payload.chunk_order, payload.progress, payload.nct_salt) == (1, 100, b"salt")
    assert list(payload.conversations()) == [*conversations, HistoryConversation("15559999999@lid")]
    assert list(payload.messages()) == [messages[0], messages[1], messages[2], messages[3]]
    assert list(payload.push_names()) == [PushName(BOB, "Bob")]
    assert list(payload.pn_lid_mappings()) == [PhoneNumberLidMapping(ALICE, "99@lid")]


def test_own_messages_keep_an_explicit_author() -> None:
    own = HistoryMessage(GROUP, "M", True, "15550003333@s.whatsapp.net", 1, None)
    payload = parse_history_sync(build_history_sync(HistorySyncKind.FULL, messages=[own]))
    assert list(payload.messages()) == [own]


timestamps = st.integers(min_value=0, max_value=50)
order_ids = st.none() | st.integers(min_value=1, max_value=5)


@settings(max_examples=60, deadline=None)
@given(
    specs=st.lists(st.tuples(st.sampled_from([ALICE, GROUP]), timestamps, order_ids), max_size=12)
)
def test_parse_of_build_yields_ingest_order(specs: list[tuple[str, int, int | None]]) -> None:
    messages = [
        _message(f"M{i}", timestamp, chat, order_id)
        for i, (chat, timestamp, order_id) in enumerate(specs)
    ]
    blob = build_history_sync(HistorySyncKind.RECENT, messages=messages)
    parsed = list(parse_history_sync(blob).messages())
    expected = []
    for chat in dict.fromkeys(m.chat_jid for m in messages):
        in_chat = [m for m in messages if m.chat_jid == chat]
        expected += sorted(in_chat, key=lambda m: (m.timestamp, m.order_id or 0))
    assert parsed == expected


def test_decompression_is_bounded() -> None:
    bomb = zlib.compress(bytes(5_000_000), 9)
    assert len(bomb) < 10_000
    with pytest.raises(HistoryTooLarge):
        inflate(bomb, max_inflated=1_000_000)
    assert len(inflate(bomb, max_inflated=5_000_000)) == 5_000_000
    with pytest.raises(HistoryTooLarge):
        parse_history_sync(bomb, max_inflated=4_999_999)


def test_bad_blobs_are_decode_errors() -> None:
    good = build_history_sync(HistorySyncKind.PUSH_NAME, push_names=[PushName(BOB, "Bob")])
    with pytest.raises(HistoryDecodeError, match="truncated"):
        parse_history_sync(good[:-6])
    with pytest.raises(HistoryDecodeError, match="zlib"):
        parse_history_sync(b"not zlib at all")
    with pytest.raises(HistoryDecodeError, match="HistorySync"):
        parse_history_sync(zlib.compress(b"\xff\xff\xff"))
    # syncType, Conversation.ID and WebMessageInfo.key are required on the wire.
    with pytest.raises(HistoryDecodeError, match="syncType"):
        parse_history_sync(zlib.compress(wa_history_pb2.Pushname(ID=BOB).SerializeToString()))
    keyless = wa_history_pb2.HistorySync(syncType=wa_history_pb2.HistorySync.RECENT)
    keyless.conversations.add(ID=ALICE).messages.add().message.messageTimestamp = 1
    with pytest.raises(HistoryDecodeError, match="key"):
        parse_history_sync(zlib.compress(keyless.SerializePartialToString()))
