"""The placeholder resend request and the reading of the phone's answer (pure)."""

from __future__ import annotations

from daemon.binary import JID
from daemon.client.placeholder import MissingMessage, resend_request, resend_response
from waproto import wa_e2e_pb2, wa_web_pb2

OWN = JID.parse("15550001111@s.whatsapp.net")
BOB = JID.parse("15550002222@s.whatsapp.net")
GROUP = JID.parse("120363000000000009@g.us")


def test_the_request_names_the_message_key() -> None:
    message = resend_request(MissingMessage(GROUP, BOB, False, "3EB0AA", "unavailable"))
    protocol = message.protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE
    request = protocol.peerDataOperationRequestMessage
    assert request.peerDataOperationRequestType == wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND
    (wanted,) = request.placeholderMessageResendRequest
    assert (wanted.messageKey.remoteJID, wanted.messageKey.ID) == (str(GROUP), "3EB0AA")
    assert wanted.messageKey.participant == str(BOB) and not wanted.messageKey.fromMe
    direct = resend_request(MissingMessage(BOB, BOB, False, "3EB0BB", "undecryptable"))
    key = direct.protocolMessage.peerDataOperationRequestMessage.placeholderMessageResendRequest[0]
    assert not key.messageKey.HasField("participant")


def _answer(*infos: wa_web_pb2.WebMessageInfo, raw: bytes = b"") -> wa_e2e_pb2.Message:
    response = wa_e2e_pb2.PeerDataOperationRequestResponseMessage(
        peerDataOperationRequestType=wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND, stanzaID="REQ1"
    )
    for body in [info.SerializeToString() for info in infos] + ([raw] if raw else []):
        item = response.peerDataOperationResult.add()
        item.placeholderMessageResendResponse.webMessageInfoBytes = body
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE,
            peerDataOperationRequestResponseMessage=response,
        )
    )


def test_the_answer_gives_messages_as_if_received() -> None:
    theirs = wa_web_pb2.WebMessageInfo(
        key=wa_e2e_pb2.MessageKey(remoteJID=str(BOB), fromMe=False, ID="M1"),
        message=wa_e2e_pb2.Message(conversation="hello"),
        messageTimestamp=1700000000,
        pushName="Bob",
    )
    ours = wa_web_pb2.WebMessageInfo(
        key=wa_e2e_pb2.MessageKey(remoteJID=str(BOB), fromMe=True, ID="M2"),
        message=wa_e2e_pb2.Message(conversation="hi"),
        messageTimestamp=1700000001,
    )
    in_group = wa_web_pb2.WebMessageInfo(
        key=wa_e2e_pb2.MessageKey(remoteJID=str(GROUP), ID="M3", participant=str(BOB)),
        message=wa_e2e_pb2.Message(conversation="all"),
    )
    answer = resend_response(_answer(theirs, ours, in_group, raw=b"\xff\xff"), OWN)
    assert answer is not None
    request_id, found, unreadable = answer
    assert request_id == "REQ1" and unreadable == 1
    first, second, third = found
    assert (first.incoming.sender, first.incoming.chat, first.incoming.push_name) == (
        BOB,
        BOB,
        "Bob",
    )
    assert first.content.conversation == "hello" and first.incoming.timestamp == 1700000000
    assert (second.incoming.sender, second.incoming.recipient) == (OWN, BOB)
    assert (third.incoming.source, third.incoming.sender) == (GROUP, BOB)


def test_other_protocol_messages_are_not_answers() -> None:
    assert resend_response(wa_e2e_pb2.Message(conversation="x"), OWN) is None
    other = wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.APP_STATE_SYNC_KEY_REQUEST
        )
    )
    assert resend_response(other, OWN) is None
