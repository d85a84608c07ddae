"""Reading peer data operation answers from our phone (pure)."""

from __future__ import annotations

from waproto import wa_e2e_pb2


def peer_response(
    message: wa_e2e_pb2.Message, kind: wa_e2e_pb2.PeerDataOperationRequestType
) -> wa_e2e_pb2.PeerDataOperationRequestResponseMessage | None:
    """The phone's answer to a peer data operation of type ``kind``, if ``message`` is one."""
    protocol = message.protocolMessage
    if (
        protocol.type != wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE
        or not protocol.HasField("peerDataOperationRequestResponseMessage")
    ):
        return None
    response = protocol.peerDataOperationRequestResponseMessage
    return response if response.peerDataOperationRequestType == kind else None
