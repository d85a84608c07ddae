"""``media_info``: the file metadata the message JSON shows (mimetype, size, name, duration,
dimensions), looked up through wrappers."""

from __future__ import annotations

from daemon.client.media_message import MediaInfo, MediaKind, media_info
from waproto import wa_e2e_pb2


def test_image_video_voice_and_document_metadata() -> None:
    image = wa_e2e_pb2.Message()
    image.imageMessage.mimetype = "image/jpeg"
    image.imageMessage.fileLength = 1234
    image.imageMessage.width = 640
    image.imageMessage.height = 480
    assert media_info(image) == MediaInfo(
        MediaKind.IMAGE, "image/jpeg", 1234, width=640, height=480
    )

    video = wa_e2e_pb2.Message()
    video.videoMessage.mimetype = "video/mp4"
    video.videoMessage.fileLength = 99
    video.videoMessage.seconds = 12
    video.videoMessage.width = 320
    video.videoMessage.height = 240
    assert media_info(video) == MediaInfo(
        MediaKind.VIDEO, "video/mp4", 99, seconds=12, width=320, height=240
    )

    voice = wa_e2e_pb2.Message()
    voice.audioMessage.mimetype = "audio/ogg; codecs=opus"
    voice.audioMessage.fileLength = 50
    voice.audioMessage.seconds = 3
    voice.audioMessage.PTT = True
    assert media_info(voice) == MediaInfo(MediaKind.VOICE, "audio/ogg; codecs=opus", 50, seconds=3)

    wrapped = wa_e2e_pb2.Message()
    document = wrapped.ephemeralMessage.message.documentMessage
    document.mimetype = "application/pdf"
    document.fileLength = 7
    document.fileName = "offer.pdf"
    assert media_info(wrapped) == MediaInfo(
        MediaKind.DOCUMENT, "application/pdf", 7, file_name="offer.pdf"
    )


def test_a_text_message_has_no_media() -> None:
    text = wa_e2e_pb2.Message(conversation="hello")
    assert media_info(text) is None
