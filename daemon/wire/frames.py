"""Frame codec: 3-byte big-endian length prefixes and the connection intro.

Every frame on the websocket is ``len(3 bytes, big-endian) || body``. One websocket message may
carry several frames and one frame may be split over several messages, so reading is an
incremental, sans-I/O decoder. The client's very first frame is preceded by the connection intro:
the 4-byte header ``'W' 'A' 6 <dictionary version>`` (also the Noise prologue), optionally
preceded by edge routing info as ``'E' 'D' 0 1 || len(3 bytes) || routing info``.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.binary.tokens import DICT_VERSION
from daemon.wire.errors import FrameError

WA_MAGIC = 6
# The header's last byte names the token dictionary version the binary codec speaks.
WA_CONN_HEADER = b"WA" + bytes([WA_MAGIC, DICT_VERSION])
ROUTING_INFO_MARKER = b"ED\x00\x01"

LENGTH_SIZE = 3
# The largest body a 3-byte length can describe; whatsmeow refuses frames of 1 << 24 bytes or more.
MAX_FRAME_LENGTH = (1 << 24) - 1

_HEADER_SIZE = 4


@dataclass(frozen=True, slots=True)
class ConnectionIntro:
    """The bytes a client sends before its first frame."""

    header: bytes = WA_CONN_HEADER
    """The 4-byte ``WA`` header; it is also the Noise prologue."""
    routing_info: bytes | None = None
    """Edge routing info from an earlier ``<ib><edge_routing>``; never part of the prologue."""

    def __post_init__(self) -> None:
        if len(self.header) != _HEADER_SIZE or self.header[:3] != WA_CONN_HEADER[:3]:
            raise FrameError(
                f"connection header must be 'WA' 06 <version>, got {self.header.hex()}"
            )
        if self.routing_info is not None and len(self.routing_info) > MAX_FRAME_LENGTH:
            raise FrameError(f"routing info of {len(self.routing_info)} bytes does not fit 3 bytes")

    def to_bytes(self) -> bytes:
        if self.routing_info is None:
            return self.header
        return (
            ROUTING_INFO_MARKER
            + len(self.routing_info).to_bytes(LENGTH_SIZE, "big")
            + self.routing_info
            + self.header
        )


def encode_frame(body: bytes) -> bytes:
    """``body`` with its 3-byte length prefix."""
    if len(body) > MAX_FRAME_LENGTH:
        raise FrameError(f"frame body of {len(body)} bytes exceeds {MAX_FRAME_LENGTH} bytes")
    return len(body).to_bytes(LENGTH_SIZE, "big") + body


class FrameWriter:
    """Frames outgoing bodies; on the client side the first frame carries the intro."""

    def __init__(self, intro: ConnectionIntro | None = None) -> None:
        self._pending_intro = intro.to_bytes() if intro is not None else b""

    def encode(self, body: bytes) -> bytes:
        frame = encode_frame(body)
        if self._pending_intro:
            frame, self._pending_intro = self._pending_intro + frame, b""
        return frame


class FrameReader:
    """Incremental frame decoder: feed received bytes, get back every frame they complete.

    With ``expect_intro`` (the server side) the connection intro is parsed first and exposed as
    ``intro``. Bodies longer than ``max_frame_length`` are refused as soon as their length prefix
    arrives, before any of the body is buffered. After an error the reader stays failed: a byte
    stream cannot be resynchronised.
    """

    def __init__(
        self, *, expect_intro: bool = False, max_frame_length: int = MAX_FRAME_LENGTH
    ) -> None:
        if not 0 <= max_frame_length <= MAX_FRAME_LENGTH:
            raise ValueError(f"max_frame_length must be within 0..{MAX_FRAME_LENGTH}")
        self._buffer = bytearray()
        self._max = max_frame_length
        self._awaiting_intro = expect_intro
        self._failure: FrameError | None = None
        self.intro: ConnectionIntro | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        if self._failure is not None:
            raise FrameError(f"frame reader failed earlier: {self._failure}")
        # The common case: one websocket message holding exactly one whole frame, nothing
        # buffered. Its body is sliced out directly, with no copy through the buffer.
        if not self._buffer and not self._awaiting_intro and type(data) is bytes:
            length = int.from_bytes(data[:LENGTH_SIZE], "big")
            if len(data) == LENGTH_SIZE + length and length <= self._max:
                return [data[LENGTH_SIZE:]]
        self._buffer += data
        try:
            return self._drain()
        except FrameError as exc:
            self._failure = exc
            raise

    def _drain(self) -> list[bytes]:
        position = 0
        if self._awaiting_intro:
            position = self._read_intro()
            if self._awaiting_intro:
                return []
        frames: list[bytes] = []
        buffer = self._buffer
        while len(buffer) - position >= LENGTH_SIZE:
            length = int.from_bytes(buffer[position : position + LENGTH_SIZE], "big")
            if length > self._max:
                raise FrameError(f"incoming frame of {length} bytes exceeds {self._max} bytes")
            end = position + LENGTH_SIZE + length
            if end > len(buffer):
                break
            frames.append(bytes(buffer[position + LENGTH_SIZE : end]))
            position = end
        del buffer[:position]
        return frames

    def _read_intro(self) -> int:
        """Parses the intro if it is complete; returns how many buffered bytes it used."""
        buffer = self._buffer
        routing_info: bytes | None = None
        position = 0
        if len(buffer) < len(ROUTING_INFO_MARKER):
            return 0
        if buffer[:2] == ROUTING_INFO_MARKER[:2]:
            if buffer[: len(ROUTING_INFO_MARKER)] != ROUTING_INFO_MARKER:
                raise FrameError(f"unknown routing intro {bytes(buffer[:4]).hex()}")
            start = len(ROUTING_INFO_MARKER) + LENGTH_SIZE
            if len(buffer) < start:
                return 0
            length = int.from_bytes(buffer[len(ROUTING_INFO_MARKER) : start], "big")
            if length > self._max:
                raise FrameError(f"routing info of {length} bytes exceeds {self._max} bytes")
            if len(buffer) < start + length:
                return 0
            routing_info = bytes(buffer[start : start + length])
            position = start + length
        if len(buffer) < position + _HEADER_SIZE:
            return 0
        header = bytes(buffer[position : position + _HEADER_SIZE])
        self.intro = ConnectionIntro(header=header, routing_info=routing_info)
        self._awaiting_intro = False
        return position + _HEADER_SIZE
