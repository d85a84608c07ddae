"""One pass over an outgoing Message: every answer equals the single-question function's, and
the send path's own-device copy is the wrapper's serialization byte for byte."""

from __future__ import annotations

import pytest

from daemon.client.media_message import stanza_media_type
from daemon.client.message_content import (
    Edit,
    Reaction,
    Reply,
    Revoke,
    TargetRef,
    Text,
    build_message,
    device_sent,
    device_sent_bytes,
    edit_attribute,
    hides_decrypt_failure,
    stanza_type,
    summarize,
)
from daemon.client.message_kind import MessageKind, classify
from storage.message_values import ContentType
from waproto import wa_e2e_pb2

E2E = wa_e2e_pb2
MINE = TargetRef("1555@s.whatsapp.net", "3EB0AAAA", True, None, b"")


def _media() -> list[wa_e2e_pb2.Message]:
    image = E2E.ImageMessage(mimetype="image/jpeg", caption="look")
    return [
        E2E.Message(imageMessage=image),
        E2E.Message(videoMessage=E2E.VideoMessage(mimetype="video/mp4")),
        E2E.Message(ptvMessage=E2E.VideoMessage(mimetype="video/mp4")),
        E2E.Message(audioMessage=E2E.AudioMessage(mimetype="audio/ogg", PTT=True)),
        E2E.Message(audioMessage=E2E.AudioMessage(mimetype="audio/mp4")),
        E2E.Message(documentMessage=E2E.DocumentMessage(fileName="a.pdf")),
        E2E.Message(stickerMessage=E2E.StickerMessage(mimetype="image/webp")),
        E2E.Message(
            documentWithCaptionMessage=E2E.FutureProofMessage(
                message=E2E.Message(documentMessage=E2E.DocumentMessage(caption="c"))
            )
        ),
        E2E.Message(
            ephemeralMessage=E2E.FutureProofMessage(message=E2E.Message(imageMessage=image))
        ),
        E2E.Message(
            viewOnceMessageV2=E2E.FutureProofMessage(
                message=E2E.Message(
                    videoMessage=E2E.VideoMessage(caption="once"),
                    messageContextInfo=E2E.MessageContextInfo(messageSecret=b"s" * 32),
                )
            )
        ),
    ]


def _messages() -> list[wa_e2e_pb2.Message]:
    edit_bare = E2E.Message(
        protocolMessage=E2E.ProtocolMessage(
            type=E2E.ProtocolMessage.MESSAGE_EDIT,
            editedMessage=E2E.Message(conversation="fixed"),
        )
    )
    return [
        build_message(Text("hello"), None, 1),
        build_message(Reply("answer", "3EB0AAAA"), MINE, 1),
        build_message(Reaction("3EB0AAAA", "👍"), MINE, 1),
        build_message(Reaction("3EB0AAAA", ""), MINE, 1),
        build_message(Edit("3EB0AAAA", "new"), MINE, 1),
        build_message(Revoke("3EB0AAAA"), MINE, 1),
        edit_bare,
        E2E.Message(pollCreationMessageV3=E2E.PollCreationMessage(name="q")),
        E2E.Message(
            conversation="with context",
            messageContextInfo=E2E.MessageContextInfo(messageSecret=b"k" * 32),
        ),
        E2E.Message(),
        *_media(),
    ]


@pytest.mark.parametrize("message", _messages())
def test_classify_answers_like_each_question(message: wa_e2e_pb2.Message) -> None:
    assert classify(message) == MessageKind(
        stanza_type=stanza_type(message),
        media_type=stanza_media_type(message),
        hides_decrypt_failure=hides_decrypt_failure(message),
        edit=edit_attribute(message),
        summary=summarize(message),
    )


def test_classify_reads_what_each_kind_is() -> None:
    text, reply, reaction, unreaction, edit, revoke, bare_edit, poll, *_ = _messages()
    assert classify(text) == MessageKind("text", None, False, None, summarize(text))
    assert classify(reply).summary.quoted_id == "3EB0AAAA"
    assert classify(reaction).stanza_type == "reaction" and classify(reaction).edit is None
    assert classify(unreaction).edit == "7" and classify(unreaction).hides_decrypt_failure
    assert (classify(edit).edit, classify(edit).hides_decrypt_failure) == ("1", True)
    assert (classify(bare_edit).edit, classify(bare_edit).summary.text) == ("1", "fixed")
    assert (classify(revoke).edit, classify(revoke).hides_decrypt_failure) == ("7", False)
    assert classify(revoke).summary.content_type is ContentType.REVOKE
    assert classify(poll).stanza_type == "poll"
    media = [classify(m) for m in _media()]
    assert [k.media_type for k in media] == [
        "image",
        "video",
        "video",
        "ptt",
        "audio",
        "document",
        "sticker",
        "document",
        "image",
        "video",
    ]
    assert {k.stanza_type for k in media} == {"media"}
    assert media[-1].summary.text == "once"


def test_classify_walks_the_fields_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The send path asked a text message ``HasField`` 77 times; now the fields are listed once
    and a plain text asks nothing more."""
    message = build_message(Text("hello"), None, 1)
    asked: list[str] = []
    has_field = wa_e2e_pb2.Message.HasField

    def counting(self: wa_e2e_pb2.Message, name: str) -> bool:
        asked.append(name)
        return has_field(self, name)

    monkeypatch.setattr(wa_e2e_pb2.Message, "HasField", counting)
    kind = classify(message)
    assert kind.summary.text == "hello"
    assert asked == []
    device_sent_bytes(message, message.SerializeToString(), "1555@s.whatsapp.net")
    assert asked == ["messageContextInfo"]


@pytest.mark.parametrize("message", _messages())
@pytest.mark.parametrize(
    "destination", ["15550002222@s.whatsapp.net", "123456789012345@lid", "", "x" * 300]
)
def test_own_copy_bytes_equal_the_wrapper(message: wa_e2e_pb2.Message, destination: str) -> None:
    body = message.SerializeToString()
    expected = device_sent(message, destination).SerializeToString()
    assert device_sent_bytes(message, body, destination) == expected


@pytest.mark.parametrize("size", [0, 100, 127, 128, 16_383, 16_384, 70_000])
def test_own_copy_bytes_with_long_bodies(size: int) -> None:
    """Lengths past one and two varint bytes, and unknown fields the message carried."""
    message = E2E.Message(
        conversation="x" * size,
        messageContextInfo=E2E.MessageContextInfo(messageSecret=b"m" * 32),
    )
    with_unknown = E2E.Message.FromString(message.SerializeToString() + b"\xf8\x3e\x01")
    for m in (message, with_unknown):
        body = m.SerializeToString()
        expected = device_sent(m, "1@s.whatsapp.net").SerializeToString()
        assert device_sent_bytes(m, body, "1@s.whatsapp.net") == expected
