"""History seeds: generated deterministically, or given explicitly; refused when malformed."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from daemon.binary import JID
from daemon.crypto.media import decrypt_media
from sandbox.media import blob_id_from_path
from sandbox.phone.history import HistoryConfig
from sandbox.phone.history_seed import parse_history_seed, seed_request_bytes
from sandbox.phone.media import attachment_of
from waproto import wa_e2e_pb2

ORIGIN = "http://127.0.0.1:1"
SPEC: dict[str, Any] = {
    "chats": 20,
    "messages_per_chat": 15,
    "groups": 4,
    "with_media": True,
    "with_names": True,
    "media_every": 5,
}


def test_generation_is_deterministic_and_salted() -> None:
    first = parse_history_seed(SPEC, media_origin=ORIGIN)
    again = parse_history_seed(dict(SPEC), media_origin=ORIGIN)
    assert first == again
    assert (len(first.chats), first.message_count) == (20, 300)
    assert sum(1 for c in first.chats if c.jid.is_group) == 4
    assert len(first.contacts) == len(first.push_names) == 16
    other = parse_history_seed({**SPEC, "seed": "other"}, media_origin=ORIGIN)
    ids = {m.message_id for c in first.chats for m in c.messages}
    assert ids.isdisjoint({m.message_id for c in other.chats for m in c.messages})
    assert len(ids) == 300


def test_generated_chats_are_ordered_named_and_attributed() -> None:
    seed = parse_history_seed(SPEC, media_origin=ORIGIN)
    for chat in seed.chats:
        stamps = [m.timestamp for m in chat.messages]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert chat.name
        for message in chat.messages:
            if chat.jid.is_group and not message.from_me:
                assert message.sender is not None and message.sender in seed.push_names
            else:
                assert message.sender is None
    without = parse_history_seed({**SPEC, "with_names": False}, media_origin=ORIGIN)
    assert not without.push_names and not without.contacts
    assert all(not c.name for c in without.chats if not c.jid.is_group)


def test_generated_media_decrypts_from_its_blob() -> None:
    seed = parse_history_seed(SPEC, media_origin=ORIGIN)
    blobs = {b.blob_id: b for b in seed.blobs}
    media = [
        attachment
        for chat in seed.chats
        for m in chat.messages
        if (attachment := attachment_of(wa_e2e_pb2.Message.FromString(m.message))) is not None
    ]
    assert len(media) == 20 * 3 == seed.media_count
    assert {a.kind for a in media} == {"image", "ptt", "document"}
    for attachment in media:
        blob_id = blob_id_from_path(attachment.direct_path)
        assert blob_id is not None and blob_id in blobs
        assert blobs[blob_id].mms_type == attachment.kind.mms_type
        plain = decrypt_media(
            blobs[blob_id].body,
            attachment.media_key,
            attachment.kind.media_type,
            file_enc_sha256=attachment.file_enc_sha256,
            file_sha256=attachment.file_sha256,
        )
        assert len(plain) == attachment.file_length


def test_explicit_seed_and_plan_options() -> None:
    picture = b"\x89PNG fake"
    request = {
        "conversations": [
            {
                "jid": "15557770000",
                "name": "Friend",
                "unread_count": 2,
                "pinned": 1_600_000_000,
                "messages": [
                    {"id": "A1", "timestamp": 10, "text": "hi", "push_name": "Fri"},
                    {"id": "A2", "timestamp": 11, "from_me": True, "text": "hello"},
                    {
                        "id": "A3",
                        "timestamp": 12,
                        "media": {
                            "type": "document",
                            "data_base64": base64.b64encode(picture).decode(),
                            "mimetype": "application/pdf",
                            "file_name": "a.pdf",
                        },
                    },
                ],
            }
        ],
        "push_names": {"15557770000@s.whatsapp.net": "Fri"},
        "contacts": {"+15557770000": "Friend Person"},
        "plan": {"bootstrap_messages_per_chat": 1, "inline": True, "full_history": False},
    }
    seed = parse_history_seed(request, media_origin=ORIGIN)
    [chat] = seed.chats
    assert chat.jid == JID("15557770000", "s.whatsapp.net")
    assert (chat.name, chat.unread_count, chat.pinned) == ("Friend", 2, 1_600_000_000)
    assert [m.message_id for m in chat.messages] == ["A1", "A2", "A3"]
    assert chat.messages[0].push_name == "Fri" and chat.messages[1].from_me
    [contact] = seed.contacts
    assert (contact.full_name, contact.first_name) == ("Friend Person", "Friend")
    [blob] = seed.blobs
    assert blob.mms_type == "document"
    attachment = attachment_of(wa_e2e_pb2.Message.FromString(chat.messages[2].message))
    assert attachment is not None and attachment.file_name == "a.pdf"
    assert attachment.file_sha256 == hashlib.sha256(picture).digest()
    config = seed.options.apply(HistoryConfig())
    assert (config.bootstrap_messages_per_chat, config.inline_everything) == (1, True)
    assert config.send_full_history is False
    assert config.recent_messages_per_chat == HistoryConfig().recent_messages_per_chat
    assert seed_request_bytes(request) == seed_request_bytes(dict(reversed(request.items())))


@pytest.mark.parametrize(
    "request_body",
    [
        {},
        {"chats": 0},
        {"chats": True},
        {"chats": 3, "groups": 4},
        {"chats": 1000, "messages_per_chat": 1000},
        {"chats": 1, "plan": {"chunk_messages": 0}},
        {"chats": 1, "plan": []},
        {"conversations": "none"},
        {"conversations": [{"messages": []}]},
        {
            "conversations": [
                {"jid": "1555", "messages": [{"id": "X", "timestamp": 0, "text": "t"}]}
            ]
        },
        {"conversations": [{"jid": "1555", "messages": [{"id": "X", "timestamp": 1}]}]},
        {"conversations": [], "push_names": {"1555": 7}},
        {"conversations": [], "seed": 3},
    ],
)
def test_malformed_seeds_are_refused(request_body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_history_seed(request_body, media_origin=ORIGIN)
