"""The phone's media vocabulary: requests, media messages, media-retry stanzas, and the peer
data operations it answers."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from daemon.binary import JID, SERVER_JID, Node
from daemon.crypto.media import MediaType, encrypt_media
from daemon.crypto.media_retry import SealedRetry, seal_retry_request
from sandbox.phone.history import ChatMessage
from sandbox.phone.media import (
    MediaKind,
    Uploaded,
    attachment_of,
    media_message,
    media_retry_notification,
    parse_media_retry_receipt,
    parse_outgoing_media,
)
from sandbox.phone.peer_data import (
    DEFAULT_ON_DEMAND_COUNT,
    OnDemandRequest,
    PlaceholderRequest,
    parse_peer_request,
    placeholder_response,
)
from waproto import wa_e2e_pb2, wa_web_pb2

ANN = JID("15550001111", "s.whatsapp.net")
BOB = JID("15550002222", "s.whatsapp.net")
COMPANION = JID("15550001111", "s.whatsapp.net", 1)
DATA = b"some file bytes" * 10


def body(**extra: Any) -> dict[str, Any]:
    return {"data_base64": base64.b64encode(DATA).decode(), "mimetype": "x/y", **extra}


DOCUMENT = MediaType.DOCUMENT
KINDS = [
    (body(type="image", caption="c"), MediaKind.IMAGE, "imageMessage", MediaType.IMAGE),
    (body(type="video"), MediaKind.VIDEO, "videoMessage", MediaType.VIDEO),
    (body(type="audio"), MediaKind.AUDIO, "audioMessage", MediaType.AUDIO),
    (body(type="audio", ptt=True), MediaKind.PTT, "audioMessage", MediaType.AUDIO),
    (
        body(type="document", file_name="f"),
        MediaKind.DOCUMENT,
        "documentMessage",
        MediaType.DOCUMENT,
    ),
    (body(type="sticker"), MediaKind.STICKER, "stickerMessage", MediaType.IMAGE),
]


@pytest.mark.parametrize(("request_body", "kind", "field", "media_type"), KINDS)
def test_media_messages_round_trip(
    request_body: dict[str, Any], kind: MediaKind, field: str, media_type: MediaType
) -> None:
    media = parse_outgoing_media(request_body)
    assert (media.kind, media.data, media.kind.media_type) == (kind, DATA, media_type)
    encrypted = encrypt_media(media.data, media.kind.media_type)
    uploaded = Uploaded("http://h/v/p?x=1", "/v/p?x=1")
    message = media_message(media, encrypted, uploaded, timestamp=99)
    assert message.HasField(field)
    attachment = attachment_of(wa_e2e_pb2.Message.FromString(message.SerializeToString()))
    assert attachment is not None
    assert (attachment.kind, attachment.direct_path, attachment.media_key) == (
        kind,
        "/v/p?x=1",
        encrypted.media_key,
    )
    assert attachment.file_length == len(DATA)
    assert attachment.file_enc_sha256 == encrypted.info.file_enc_sha256
    assert attachment.caption == media.caption
    assert attachment.file_name == media.file_name


@pytest.mark.parametrize(
    "request_body",
    [
        body(type="hologram"),
        body(type="image", ptt=True),
        body(type="image", mimetype=""),
        body(type="image", caption=3),
        {"type": "image", "data_base64": "!!", "mimetype": "x"},
        {"type": "image", "data_base64": "", "mimetype": "x"},
        {"type": "image", "mimetype": "x"},
    ],
)
def test_bad_media_requests_are_refused(request_body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_outgoing_media(request_body)


def test_a_text_message_has_no_attachment() -> None:
    assert attachment_of(wa_e2e_pb2.Message(conversation="hi")) is None
    assert attachment_of(wa_e2e_pb2.Message(imageMessage=wa_e2e_pb2.ImageMessage())) is None


def test_media_retry_receipt_and_answer() -> None:
    sealed = seal_retry_request("M1", bytes(32))
    receipt = Node(
        "receipt",
        {
            "id": "M1",
            "from": ANN.with_device(1)
            if hasattr(ANN, "with_device")
            else JID("15550001111", "s.whatsapp.net", 1),
            "type": "server-error",
        },
        [
            Node(
                "encrypt", {}, [Node("enc_p", {}, sealed.ciphertext), Node("enc_iv", {}, sealed.iv)]
            ),
            Node("rmr", {"jid": BOB, "from_me": "false", "participant": BOB}),
        ],
    )
    request = parse_media_retry_receipt(receipt)
    assert (request.message_id, request.chat, request.from_me, request.participant) == (
        "M1",
        BOB,
        False,
        BOB,
    )
    assert request.sealed == sealed
    answer = media_retry_notification(request, 5, sealed=SealedRetry(b"c", b"i" * 12))
    assert answer.attrs == {"from": SERVER_JID, "type": "mediaretry", "id": "M1", "t": "5"}
    assert [c.tag for c in answer.children] == ["rmr", "encrypt"]
    refused = media_retry_notification(request, 5, error_code=2)
    assert (refused.child("error") or refused).attr_str("code") == "2"
    with pytest.raises(ValueError):
        parse_media_retry_receipt(Node("receipt", {"id": "M1", "from": ANN}))


def _request(**fields: Any) -> wa_e2e_pb2.PeerDataOperationRequestMessage:
    return wa_e2e_pb2.PeerDataOperationRequestMessage(**fields)


def test_peer_requests_are_read() -> None:
    on_demand = parse_peer_request(
        _request(
            peerDataOperationRequestType=wa_e2e_pb2.HISTORY_SYNC_ON_DEMAND,
            historySyncOnDemandRequest=wa_e2e_pb2.PeerDataOperationRequestMessage.HistorySyncOnDemandRequest(
                chatJID=str(BOB), oldestMsgID="M9", oldestMsgTimestampMS=1_700_000_000_123
            ),
        )
    )
    assert on_demand == OnDemandRequest(
        BOB, "M9", False, DEFAULT_ON_DEMAND_COUNT, 1_700_000_000, False
    )
    placeholder = parse_peer_request(
        _request(
            peerDataOperationRequestType=wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND,
            placeholderMessageResendRequest=[
                wa_e2e_pb2.PeerDataOperationRequestMessage.PlaceholderMessageResendRequest(
                    messageKey=wa_e2e_pb2.MessageKey(ID="M1")
                )
            ],
        )
    )
    assert placeholder == PlaceholderRequest(("M1",))
    assert (
        parse_peer_request(_request(peerDataOperationRequestType=wa_e2e_pb2.UPLOAD_STICKER)) is None
    )
    assert (
        parse_peer_request(_request(peerDataOperationRequestType=wa_e2e_pb2.HISTORY_SYNC_ON_DEMAND))
        is None
    )


def test_placeholder_response_carries_web_message_infos() -> None:
    message = ChatMessage.text(BOB, "M1", "hello", from_me=False, timestamp=7, push_name="Bob")
    response = placeholder_response("REQ", [message])
    protocol = response.protocolMessage
    assert protocol.type == wa_e2e_pb2.ProtocolMessage.PEER_DATA_OPERATION_REQUEST_RESPONSE_MESSAGE
    inner = protocol.peerDataOperationRequestResponseMessage
    assert (inner.stanzaID, inner.peerDataOperationRequestType) == (
        "REQ",
        wa_e2e_pb2.PLACEHOLDER_MESSAGE_RESEND,
    )
    [result] = inner.peerDataOperationResult
    info = wa_web_pb2.WebMessageInfo.FromString(
        result.placeholderMessageResendResponse.webMessageInfoBytes
    )
    assert (info.key.ID, info.message.conversation, info.pushName) == ("M1", "hello", "Bob")
