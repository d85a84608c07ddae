"""Media messages both ways: what we build for an upload is what we read back as an attachment."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.client.media_message import (
    MediaContentError,
    MediaKind,
    OutgoingMedia,
    UploadedMedia,
    attachment_of,
    build_media_message,
    stanza_media_type,
)
from daemon.client.message_content import summarize
from daemon.crypto.media import MediaType
from storage.message_values import ContentType
from waproto import wa_e2e_pb2

UPLOADED = UploadedMedia(
    url="https://mmg.whatsapp.net/v/t62/x.enc?ccb=1",
    direct_path="/v/t62/x.enc?ccb=1",
    handle="h",
    media_key=bytes(range(32)),
    file_sha256=b"p" * 32,
    file_enc_sha256=b"e" * 32,
    file_length=1234,
)


@pytest.mark.parametrize(
    ("media", "field", "kind", "content_type"),
    [
        (
            OutgoingMedia(
                MediaKind.IMAGE, "image/jpeg", data=b"x", caption="look", width=4, height=3
            ),
            "imageMessage",
            MediaKind.IMAGE,
            ContentType.IMAGE,
        ),
        (
            OutgoingMedia(MediaKind.VIDEO, "video/mp4", data=b"x", seconds=9),
            "videoMessage",
            MediaKind.VIDEO,
            ContentType.VIDEO,
        ),
        (
            OutgoingMedia(MediaKind.AUDIO, "audio/mpeg", data=b"x", seconds=3),
            "audioMessage",
            MediaKind.AUDIO,
            ContentType.AUDIO,
        ),
        (
            OutgoingMedia(MediaKind.VOICE, "audio/ogg; codecs=opus", data=b"x", waveform=bytes(64)),
            "audioMessage",
            MediaKind.VOICE,
            ContentType.AUDIO,
        ),
        (
            OutgoingMedia(MediaKind.DOCUMENT, "application/pdf", data=b"x", file_name="a.pdf"),
            "documentMessage",
            MediaKind.DOCUMENT,
            ContentType.DOCUMENT,
        ),
        (
            OutgoingMedia(MediaKind.STICKER, "image/webp", data=b"x"),
            "stickerMessage",
            MediaKind.STICKER,
            ContentType.STICKER,
        ),
    ],
)
def test_built_messages_read_back(
    media: OutgoingMedia, field: str, kind: MediaKind, content_type: ContentType
) -> None:
    message = build_media_message(media, UPLOADED, timestamp=1_700_000_000)
    assert message.HasField(field)
    part = getattr(message, field)
    assert (part.mimetype, part.mediaKeyTimestamp) == (media.mimetype, 1_700_000_000)
    attachment = attachment_of(wa_e2e_pb2.Message.FromString(message.SerializeToString()))
    assert attachment is not None
    assert (attachment.kind, attachment.direct_path, attachment.media_key) == (
        kind,
        UPLOADED.direct_path,
        UPLOADED.media_key,
    )
    assert (attachment.file_sha256, attachment.file_enc_sha256, attachment.file_length) == (
        b"p" * 32,
        b"e" * 32,
        1234,
    )
    assert attachment.caption == media.caption
    assert stanza_media_type(message) == kind.value
    assert summarize(message).content_type is content_type


def test_kinds_map_to_keys_and_paths() -> None:
    assert MediaKind.STICKER.media_type is MediaType.IMAGE and MediaKind.STICKER.mms_type == "image"
    assert MediaKind.VOICE.media_type is MediaType.AUDIO and MediaKind.VOICE.mms_type == "audio"
    assert MediaKind.DOCUMENT.mms_type == "document"


def test_captioned_document_and_wrappers() -> None:
    media = OutgoingMedia(
        MediaKind.DOCUMENT, "application/pdf", path=Path("/tmp/report.pdf"), caption="Q3"
    )
    message = build_media_message(media, UPLOADED, timestamp=1)
    assert message.HasField("documentWithCaptionMessage")
    attachment = attachment_of(message)
    assert attachment is not None and attachment.file_name == "report.pdf"
    assert attachment.caption == "Q3"
    ephemeral = wa_e2e_pb2.Message(
        ephemeralMessage=wa_e2e_pb2.FutureProofMessage(
            message=build_media_message(
                OutgoingMedia(MediaKind.IMAGE, "image/png", data=b"x"), UPLOADED, timestamp=1
            )
        )
    )
    assert attachment_of(ephemeral) is not None
    assert attachment_of(wa_e2e_pb2.Message(conversation="hi")) is None
    keyless = wa_e2e_pb2.Message(imageMessage=wa_e2e_pb2.ImageMessage(directPath="/v/x"))
    assert attachment_of(keyless) is None
    assert stanza_media_type(wa_e2e_pb2.Message(conversation="hi")) is None


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"data": None}, "data or its path"),
        ({"data": b"x", "path": Path("/x")}, "data or its path"),
        ({"data": b""}, "empty"),
        ({"mimetype": "jpeg"}, "mimetype"),
        ({"kind": MediaKind.VOICE, "caption": "no"}, "no caption"),
        ({"waveform": bytes(65)}, "64 samples"),
        ({"seconds": -1}, "not negative"),
    ],
)
def test_outgoing_media_is_checked(arguments: dict[str, object], error: str) -> None:
    values: dict[str, object] = {"kind": MediaKind.IMAGE, "mimetype": "image/png", "data": b"x"}
    values.update(arguments)
    with pytest.raises(MediaContentError, match=error):
        OutgoingMedia(**values)  # type: ignore[arg-type]
