"""Frame codec: length prefixes, the connection intro, incremental reads and size limits."""

from __future__ import annotations

import pytest

from daemon.wire.errors import FrameError
from daemon.wire.frames import (
    MAX_FRAME_LENGTH,
    WA_CONN_HEADER,
    ConnectionIntro,
    FrameReader,
    FrameWriter,
    encode_frame,
)

BODIES = [b"", b"a", b"hello world", bytes(range(256)) * 40]


def test_encode_frame_prefixes_big_endian_length() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x03abc"
    assert encode_frame(b"x" * 0x010203)[:3] == b"\x01\x02\x03"


def test_encode_refuses_oversize_body() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        encode_frame(bytes(MAX_FRAME_LENGTH + 1))


def test_largest_frame_round_trips_in_chunks() -> None:
    body = bytes(MAX_FRAME_LENGTH)
    data = encode_frame(body)
    reader = FrameReader()
    chunk = 1 << 20
    frames = [f for i in range(0, len(data), chunk) for f in reader.feed(data[i : i + chunk])]
    assert frames == [body]
    assert reader.buffered == 0


def test_writer_sends_intro_once() -> None:
    writer = FrameWriter(ConnectionIntro())
    assert writer.encode(b"one") == WA_CONN_HEADER + b"\x00\x00\x03one"
    assert writer.encode(b"two") == b"\x00\x00\x03two"


def test_server_writer_has_no_intro() -> None:
    assert FrameWriter().encode(b"one") == b"\x00\x00\x03one"


def test_routing_info_intro_layout() -> None:
    intro = ConnectionIntro(routing_info=b"\x08\x02\x08\x05")
    assert intro.to_bytes() == b"ED\x00\x01" + b"\x00\x00\x04" + b"\x08\x02\x08\x05" + b"WA\x06\x03"


def test_intro_rejects_bad_header() -> None:
    with pytest.raises(FrameError, match="connection header"):
        ConnectionIntro(header=b"XX\x06\x03")


def _stream(intro: ConnectionIntro | None) -> bytes:
    writer = FrameWriter(intro)
    return b"".join(writer.encode(body) for body in BODIES)


@pytest.mark.parametrize(
    "intro", [None, ConnectionIntro(), ConnectionIntro(routing_info=b"r" * 300)]
)
def test_reader_byte_by_byte(intro: ConnectionIntro | None) -> None:
    reader = FrameReader(expect_intro=intro is not None)
    data = _stream(intro)
    frames = [frame for i in range(len(data)) for frame in reader.feed(data[i : i + 1])]
    assert frames == BODIES
    assert reader.intro == intro
    assert reader.buffered == 0


def test_reader_many_frames_in_one_chunk() -> None:
    reader = FrameReader(expect_intro=True)
    assert reader.feed(_stream(ConnectionIntro())) == BODIES


def test_reader_keeps_partial_tail_for_later() -> None:
    data = _stream(None)
    cut = len(encode_frame(BODIES[0])) + len(encode_frame(BODIES[1])) + 2
    reader = FrameReader()
    assert reader.feed(data[:cut]) == BODIES[:2]
    assert reader.buffered == 2
    assert reader.feed(data[cut:]) == BODIES[2:]


def test_reader_every_split_point() -> None:
    data = _stream(ConnectionIntro(routing_info=b"route"))
    for cut in range(len(data) + 1):
        reader = FrameReader(expect_intro=True)
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == BODIES


def test_reader_refuses_oversize_length_before_the_body_arrives() -> None:
    reader = FrameReader(max_frame_length=1000)
    with pytest.raises(FrameError, match="1001 bytes exceeds 1000"):
        reader.feed(b"\x00\x03\xe9")
    with pytest.raises(FrameError, match="failed earlier"):
        reader.feed(b"\x00\x00\x01x")


def test_reader_rejects_unknown_intro() -> None:
    reader = FrameReader(expect_intro=True)
    with pytest.raises(FrameError, match="connection header"):
        reader.feed(b"GET / HTTP/1.1\r\n")


def test_reader_rejects_unknown_routing_marker() -> None:
    with pytest.raises(FrameError, match="routing intro"):
        FrameReader(expect_intro=True).feed(b"ED\x00\x02\x00\x00\x00WA\x06\x03")


def test_reader_refuses_oversize_routing_info() -> None:
    reader = FrameReader(expect_intro=True, max_frame_length=10)
    with pytest.raises(FrameError, match="routing info"):
        reader.feed(b"ED\x00\x01\x00\x00\x0b")


def test_reader_exposes_other_dictionary_version() -> None:
    reader = FrameReader(expect_intro=True)
    assert reader.feed(b"WA\x06\x05\x00\x00\x01z") == [b"z"]
    assert reader.intro == ConnectionIntro(header=b"WA\x06\x05")


def test_reader_takes_a_lone_frame_as_the_buffered_path_would() -> None:
    lone, buffered = FrameReader(max_frame_length=1000), FrameReader(max_frame_length=1000)
    buffered.feed(b"\x00")  # something buffered: the general path
    assert lone.feed(encode_frame(b"body")) == buffered.feed(encode_frame(b"body")[1:]) == [b"body"]
    assert lone.feed(encode_frame(b"")) == [b""]
    assert lone.buffered == buffered.buffered == 0
    with pytest.raises(FrameError, match="1001 bytes exceeds 1000"):
        lone.feed(encode_frame(bytes(1001)))
