"""Peer data operations: what a companion asks its own phone for (protocol-inventory §9.4).

A companion sends its phone (a peer message to its own account) a
``ProtocolMessage{type=PEER_DATA_OPERATION_REQUEST_MESSAGE}``. The phone answers two kinds:

* HISTORY_SYNC_ON_DEMAND: older messages of one chat, before the companion's oldest, come back
  as a ``HistorySyncNotification`` of type ON_DEMAND whose ``peerDataRequestSessionID`` is the
  request's message id (inline when the request says ``supportInlineResponse``, else a blob);
* PLACEHOLDER_MESSAGE_RESEND: messages the companion could not decrypt come back in a
  ``ProtocolMessage{type=PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE}`` with one
  ``placeholderMessageResendResponse{webMessageInfoBytes}`` per message the phone has.

* COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY: the phone's plaintext copy of one app-state
  collection, for a companion that cannot verify it from the server.

Other request types are not answered (the phone has nothing to say about them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.binary import JID, JIDError
from sandbox.phone.history import ChatMessage
from waproto import wa_e2e_pb2

__all__ = [
    "DEFAULT_ON_DEMAND_COUNT",
    "OnDemandRequest",
    "PlaceholderRequest",
    "RecoveryRequest",
    "parse_peer_request",
    "placeholder_response",
    "recovery_response",
]

DEFAULT_ON_DEMAND_COUNT = 50
"""What whatsmeow recommends asking for at a time."""
_MILLISECONDS_FROM = 100_000_000_000
"""A timestamp above this is in milliseconds (the field says ms; whatsmeow sends seconds)."""

RequestType = wa_e2e_pb2.PeerDataOperationRequestType


@dataclass(frozen=True, slots=True)
class OnDemandRequest:
    chat: JID
    oldest_id: str
    oldest_from_me: bool
    count: int
    oldest_timestamp: int | None
    """Unix seconds, whichever unit the companion used."""
    inline: bool


@dataclass(frozen=True, slots=True)
class PlaceholderRequest:
    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecoveryRequest:
    """COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY: the phone's copy of one app-state collection."""

    collection: str


def parse_peer_request(
    request: wa_e2e_pb2.PeerDataOperationRequestMessage,
) -> OnDemandRequest | PlaceholderRequest | RecoveryRequest | None:
    """The request, or None for a type (or shape) the phone does not answer."""
    kind = request.peerDataOperationRequestType
    if kind == wa_e2e_pb2.HISTORY_SYNC_ON_DEMAND and request.HasField("historySyncOnDemandRequest"):
        wanted = request.historySyncOnDemandRequest
        try:
            chat = JID.parse(wanted.chatJID).to_non_ad()
        except JIDError:
            return None
        timestamp: int | None = None
        if wanted.HasField("oldestMsgTimestampMS"):
            timestamp = wanted.oldestMsgTimestampMS
            if timestamp > _MILLISECONDS_FROM:
                timestamp //= 1000
        count = wanted.onDemandMsgCount if wanted.HasField("onDemandMsgCount") else 0
        return OnDemandRequest(
            chat=chat,
            oldest_id=wanted.oldestMsgID,
            oldest_from_me=wanted.oldestMsgFromMe,
            count=count if count > 0 else DEFAULT_ON_DEMAND_COUNT,
            oldest_timestamp=timestamp,
            inline=wanted.supportInlineResponse,
        )
    if kind == wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND:
        ids = tuple(
            r.messageKey.ID for r in request.placeholderMessageResendRequest if r.messageKey.ID
        )
        return PlaceholderRequest(ids) if ids else None
    if kind == wa_e2e_pb2.COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY:
        name = request.syncdCollectionFatalRecoveryRequest.collectionName
        return RecoveryRequest(name) if name else None
    return None


def recovery_response(request_id: str, snapshot: bytes, compressed: bool) -> wa_e2e_pb2.Message:
    """The phone's answer to an app-state recovery request."""
    response = wa_e2e_pb2.PeerDataOperationRequestResponseMessage(
        peerDataOperationRequestType=wa_e2e_pb2.COMPANION_SYNCD_SNAPSHOT_FATAL_RECOVERY,
        stanzaID=request_id,
    )
    answer = response.peerDataOperationResult.add().syncdSnapshotFatalRecoveryResponse
    answer.collectionSnapshot = snapshot
    answer.isCompressed = compressed
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE,
            peerDataOperationRequestResponseMessage=response,
        )
    )


def placeholder_response(request_id: str, found: Sequence[ChatMessage]) -> wa_e2e_pb2.Message:
    """The phone's answer to a placeholder resend: the messages it has, as WebMessageInfo."""
    response = wa_e2e_pb2.PeerDataOperationRequestResponseMessage(
        peerDataOperationRequestType=wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND,
        stanzaID=request_id,
    )
    for message in found:
        result = response.peerDataOperationResult.add()
        result.placeholderMessageResendResponse.webMessageInfoBytes = (
            message.to_web_message_info().SerializeToString()
        )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE,
            peerDataOperationRequestResponseMessage=response,
        )
    )
