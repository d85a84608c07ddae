"""Message content: building each outgoing kind, and reducing incoming Messages to columns."""

from __future__ import annotations

import pytest

from daemon.client.message_content import (
    ContentError,
    Edit,
    Reaction,
    Reply,
    Revoke,
    TargetRef,
    Text,
    build_message,
    device_sent,
    edit_attribute,
    has_content,
    hides_decrypt_failure,
    preview,
    sender_key_distribution,
    shows_in_chat_list,
    stanza_type,
    summarize,
    target_of,
    unwrap,
)
from storage.message_values import ContentType
from waproto import wa_e2e_pb2

CHAT = "15550002222@s.whatsapp.net"
MINE = TargetRef(
    CHAT, "3EB0AAAA", True, None, wa_e2e_pb2.Message(conversation="q").SerializeToString()
)
THEIRS_IN_GROUP = TargetRef("1203@g.us", "3EB0BBBB", False, "15550003333@s.whatsapp.net")


def test_text() -> None:
    message = build_message(Text("hello"), None, 1000)
    assert message.conversation == "hello"
    assert stanza_type(message) == "text"
    assert edit_attribute(message) is None and not hides_decrypt_failure(message)
    assert summarize(message).text == "hello"


def test_reply_quotes_the_target() -> None:
    message = build_message(Reply("answer", "3EB0AAAA"), MINE, 1000)
    context = message.extendedTextMessage.contextInfo
    assert context.stanzaID == "3EB0AAAA" and context.quotedMessage.conversation == "q"
    assert not context.HasField("participant")
    summary = summarize(message)
    assert (summary.content_type, summary.text, summary.quoted_id) == (
        ContentType.TEXT,
        "answer",
        "3EB0AAAA",
    )
    grouped = build_message(Reply("x", "3EB0BBBB"), THEIRS_IN_GROUP, 1000)
    assert grouped.extendedTextMessage.contextInfo.participant == THEIRS_IN_GROUP.participant


def test_reaction_and_its_removal() -> None:
    message = build_message(Reaction("3EB0BBBB", "👍"), THEIRS_IN_GROUP, 1234)
    reaction = message.reactionMessage
    assert reaction.key.ID == "3EB0BBBB" and not reaction.key.fromMe
    assert reaction.key.participant == THEIRS_IN_GROUP.participant
    assert reaction.senderTimestampMS == 1234
    assert stanza_type(message) == "reaction" and hides_decrypt_failure(message)
    assert edit_attribute(message) is None
    removal = build_message(Reaction("3EB0BBBB", ""), THEIRS_IN_GROUP, 1234)
    assert edit_attribute(removal) == "7"
    summary = summarize(message)
    assert summary.content_type is ContentType.REACTION and summary.target_id == "3EB0BBBB"
    assert summary.target_participant == THEIRS_IN_GROUP.participant
    assert not shows_in_chat_list(summary)


def test_edit_uses_the_future_proof_wrapper() -> None:
    message = build_message(Edit("3EB0AAAA", "fixed"), MINE, 99)
    assert message.HasField("editedMessage")
    protocol = message.editedMessage.message.protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.MESSAGE_EDIT
    assert protocol.key.ID == "3EB0AAAA" and protocol.key.fromMe
    assert protocol.editedMessage.conversation == "fixed" and protocol.timestampMS == 99
    assert edit_attribute(message) == "1" and hides_decrypt_failure(message)
    summary = summarize(message)
    assert (summary.content_type, summary.target_id, summary.text) == (
        ContentType.EDIT,
        "3EB0AAAA",
        "fixed",
    )
    # Baileys sends the bare protocol message: read the same way.
    bare = wa_e2e_pb2.Message(protocolMessage=protocol)
    assert summarize(bare) == summary
    assert edit_attribute(bare) == "1"


def test_revoke() -> None:
    message = build_message(Revoke("3EB0AAAA"), MINE, 0)
    assert message.protocolMessage.type == wa_e2e_pb2.ProtocolMessage.REVOKE
    assert edit_attribute(message) == "7"
    summary = summarize(message)
    assert summary.content_type is ContentType.REVOKE and summary.target_id == "3EB0AAAA"


@pytest.mark.parametrize(
    ("content", "target"),
    [
        (Edit("3EB0BBBB", "x"), THEIRS_IN_GROUP),
        (Revoke("3EB0BBBB"), THEIRS_IN_GROUP),
        (Reply("x", "y"), None),
        (Reaction("y", "👍"), None),
    ],
)
def test_refused_content(
    content: Edit | Revoke | Reply | Reaction, target: TargetRef | None
) -> None:
    with pytest.raises(ContentError):
        build_message(content, target, 0)


@pytest.mark.parametrize(
    "make",
    [lambda: Text(""), lambda: Reply("", "x"), lambda: Reaction("", "x"), lambda: Edit("x", "")],
)
def test_empty_content_is_refused(make: object) -> None:
    with pytest.raises(ContentError):
        make()  # type: ignore[operator]


def test_targets() -> None:
    assert target_of(Text("x")) is None
    assert target_of(Reply("x", "A")) == "A"
    assert target_of(Revoke("B")) == "B"


def test_device_sent_wrapper_keeps_context_info() -> None:
    message = wa_e2e_pb2.Message(conversation="hi")
    message.messageContextInfo.messageSecret = b"s" * 32
    wrapped = device_sent(message, CHAT)
    assert wrapped.deviceSentMessage.destinationJID == CHAT
    assert wrapped.deviceSentMessage.message.conversation == "hi"
    assert wrapped.messageContextInfo.messageSecret == b"s" * 32


def test_unwrap_and_content_detection() -> None:
    inner = wa_e2e_pb2.Message(conversation="secret")
    wrapped = wa_e2e_pb2.Message(
        ephemeralMessage=wa_e2e_pb2.FutureProofMessage(
            message=wa_e2e_pb2.Message(viewOnceMessage=wa_e2e_pb2.FutureProofMessage(message=inner))
        )
    )
    assert unwrap(wrapped) == inner
    assert summarize(wrapped).text == "secret"
    skdm = sender_key_distribution("1203@g.us", b"\x33axolotl")
    assert not has_content(skdm)
    skdm.conversation = "with content"
    assert has_content(skdm)


def test_media_protocol_and_unknown_summaries() -> None:
    image = wa_e2e_pb2.Message(imageMessage=wa_e2e_pb2.ImageMessage(caption="sunset"))
    summary = summarize(image)
    assert summary.content_type is ContentType.IMAGE and summary.text == "sunset"
    assert preview(summary) == "[image] sunset" and stanza_type(image) == "media"
    key_share = wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
        )
    )
    summary = summarize(key_share)
    assert summary.content_type is ContentType.PROTOCOL
    assert summary.protocol_type == wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_SHARE
    assert preview(summary) is None and not shows_in_chat_list(summary)
    timer = wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.EPHEMERAL_SETTING, ephemeralExpiration=86400
        )
    )
    assert summarize(timer).ephemeral_expiration == 86400
    assert summarize(wa_e2e_pb2.Message()).content_type is ContentType.UNKNOWN
    assert preview(summarize(wa_e2e_pb2.Message(conversation="x" * 500))) == "x" * 100
