"""Placeholder message resend: the request to our phone and the reading of its answer (pure).

When a message reaches us without anything we can decrypt — an ``<unavailable>`` stanza (click-
to-WhatsApp ad leads, view-once media, hosted business senders) or a message still failing after
the last retry receipt — the primary phone usually has it. A companion asks with a peer
``ProtocolMessage{type=PEER_DATA_OPERATION_REQUEST_MESSAGE}`` of type
``PLACEHOLDER_MESSAGE_RESEND`` naming the message key (whatsmeow send.go
BuildUnavailableMessageRequest); the phone answers with a
``PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE`` holding one ``WebMessageInfo`` per message it
has (whatsmeow message.go handlePlaceholderResendResponse).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from daemon.binary import JID, JIDError
from daemon.client.incoming import IncomingMessage
from daemon.client.peer_protocol import peer_response
from waproto import wa_e2e_pb2, wa_web_pb2


@dataclass(frozen=True, slots=True)
class MissingMessage:
    """A message we hold a placeholder for, in the canonical names we store it under."""

    chat: JID
    sender: JID
    from_me: bool
    message_id: str
    reason: str
    """Why we ask (``unavailable``, ``undecryptable``), for the log."""


def resend_request(missing: MissingMessage) -> wa_e2e_pb2.Message:
    key = wa_e2e_pb2.MessageKey(
        remoteJID=str(missing.chat), fromMe=missing.from_me, ID=missing.message_id
    )
    if missing.chat.is_group and not missing.from_me:
        key.participant = str(missing.sender)
    request = wa_e2e_pb2.PeerDataOperationRequestMessage(
        peerDataOperationRequestType=wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND,
    )
    request.placeholderMessageResendRequest.add().messageKey.CopyFrom(key)
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_MESSAGE,
            peerDataOperationRequestMessage=request,
        )
    )


@dataclass(frozen=True, slots=True)
class ResentMessage:
    incoming: IncomingMessage
    """The message as if it had arrived as a stanza (no ``enc``: its content is below)."""
    content: wa_e2e_pb2.Message


def resend_response(
    message: wa_e2e_pb2.Message, own: JID
) -> tuple[str, list[ResentMessage], int] | None:
    """(request id, the messages the phone sent back, items it could not read), or None when
    ``message`` is not an answer to a placeholder resend. ``own`` is our account JID (the
    sender of messages the key marks ``fromMe``)."""
    response = peer_response(message, wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND)
    if response is None:
        return None
    found: list[ResentMessage] = []
    unreadable = 0
    for result in response.peerDataOperationResult:
        resent = _read(result.placeholderMessageResendResponse.webMessageInfoBytes, own)
        if resent is None:
            unreadable += 1
        else:
            found.append(resent)
    return response.stanzaID, found, unreadable


def _read(raw: bytes, own: JID) -> ResentMessage | None:
    if not raw:
        return None
    try:
        info = wa_web_pb2.WebMessageInfo.FromString(raw)
        remote = JID.parse(info.key.remoteJID)
        participant = JID.parse(info.key.participant) if info.key.participant else None
    except (DecodeError, JIDError):
        return None
    if not info.key.ID or not info.HasField("message"):
        return None
    from_me = info.key.fromMe
    recipient: JID | None = None
    if remote.is_group:
        if participant is None and not from_me:
            return None
        source, sender = remote, participant or own
    elif from_me:
        source = sender = own
        recipient = remote
    else:
        source = sender = remote
    incoming = IncomingMessage(
        message_id=info.key.ID,
        source=source,
        sender=sender,
        chat=remote,
        timestamp=int(info.messageTimestamp),
        message_type="text",
        encs=(),
        participant=participant,
        recipient=recipient,
        push_name=info.pushName or None,
    )
    return ResentMessage(incoming, info.message)
