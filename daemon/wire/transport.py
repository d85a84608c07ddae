"""The websocket transport: the one module of daemon/wire that does I/O.

It opens the websocket the way WhatsApp Web does (``Origin: https://web.whatsapp.com``, binary
messages, no permessage-deflate, no proxy, no websocket-level pings: liveness is the client's
application-level keepalive), runs the Noise handshake as initiator with the pure cores, and then
carries encrypted binary nodes. Every wait is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.datastructures import HeadersLike
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State
from websockets.typing import Origin

from daemon.binary import Node, marshal, unmarshal
from daemon.crypto.curve import KeyPair
from daemon.wire.certs import WA_ROOT_PUBLIC_KEY, VerifiedChain
from daemon.wire.errors import (
    ConnectFailed,
    DecryptError,
    TransportClosed,
    TransportTimeout,
)
from daemon.wire.frames import (
    LENGTH_SIZE,
    MAX_FRAME_LENGTH,
    ConnectionIntro,
    FrameReader,
    FrameWriter,
)
from daemon.wire.noise import NoiseInitiator, NoiseTransport

_T = TypeVar("_T")

WA_WEBSOCKET_URL = "wss://web.whatsapp.com/ws/chat"
WA_ORIGIN = "https://web.whatsapp.com"

_FRAME_OVERHEAD = 3 + 16 + 14 + 29
"""What a frame adds to its plaintext on the way to the socket at most: the length prefix, the
GCM tag, a masked websocket header, and a TLS record's header and tag."""


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Where and how to connect. Defaults are the real service's; the sandbox overrides them."""

    url: str = WA_WEBSOCKET_URL
    """The websocket endpoint."""
    origin: str = WA_ORIGIN
    """Sent as the Origin header, as a browser would."""
    root_key: bytes = WA_ROOT_PUBLIC_KEY
    """The certificate root the server's chain must lead to."""
    intro: ConnectionIntro = field(default_factory=ConnectionIntro)
    """Connection header (the Noise prologue) and optional edge routing info."""
    user_agent: str | None = None
    """A User-Agent header, or None to send none (as WhatsApp Web's websocket does not)."""
    connect_timeout: float = 20.0
    """Seconds for TCP, TLS and the HTTP upgrade."""
    handshake_timeout: float = 20.0
    """Seconds for the whole Noise handshake (both WhatsApp clients use 20 s)."""
    send_timeout: float = 20.0
    """Seconds a send may wait for the socket to drain."""
    receive_timeout: float = 120.0
    """Default seconds ``receive_node`` waits for a frame; the keepalive keeps traffic flowing."""
    close_timeout: float = 5.0
    """Seconds to wait for the closing handshake before dropping the TCP connection."""
    max_message_size: int = 4 * (MAX_FRAME_LENGTH + LENGTH_SIZE)
    """Largest websocket message accepted: room for several maximal frames in one message."""
    ssl_context: ssl.SSLContext | None = None
    """TLS settings for wss:// URLs; None means a verifying context with the system trust
    store (which honours ``SSL_CERT_FILE``)."""


class NoiseWebSocket:
    """An established connection: send and receive binary nodes (or raw node plaintexts).

    A send costs no wait in the common case: the frame is encrypted, handed to the websocket
    protocol and written to the socket at once, with no timer, lock or coroutine of its own.
    Only a write that would take the socket's buffer past its high-water mark (or one queued
    behind such a write) waits for the buffer to drain, under ``send_timeout``: a peer that
    stops reading is detected as before.

    A receive that has to wait is bounded by one timer per connection, moved forward lazily: it
    fires at the earliest deadline it was armed for and re-arms itself for the current one, so
    the frames of a busy connection cost no timer each.
    """

    def __init__(
        self,
        websocket: ClientConnection,
        reader: FrameReader,
        writer: FrameWriter,
        transport: NoiseTransport,
        server: VerifiedChain,
        config: TransportConfig,
        pending: list[bytes],
    ) -> None:
        self._websocket = websocket
        self._protocol = websocket.protocol
        self._reader = reader
        self._writer = writer
        self._transport = transport
        self._config = config
        self._pending = pending
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()
        self._waiting_senders = 0
        """Sends in the waiting path (holding or queued on the lock): later ones queue too."""
        self._write_limit = websocket.transport.get_write_buffer_limits()[1]
        self._receive_lock = asyncio.Lock()
        self._watchdog: asyncio.TimerHandle | None = None
        self._receiver: asyncio.Task[Any] | None = None
        self._receive_deadline = 0.0
        self._receive_expired = False
        self._cancelling = 0
        self.counters = TransportCounters()
        self.server = server
        """The server's verified certificate chain (its static key is ``server.server_static``)."""

    async def send_node(self, node: Node) -> None:
        plaintext = marshal(node)
        if not self._write_now(plaintext):
            await self._write_waiting(plaintext)

    async def receive_node(self, timeout: float | None = None) -> Node:
        """The next node; a frame that does not unmarshal raises daemon.binary.DecodeError."""
        return unmarshal(await self.receive_frame(timeout))

    async def send_frame(self, plaintext: bytes) -> None:
        """Encrypts and sends one frame (a marshalled node, flag byte included)."""
        if not self._write_now(plaintext):
            await self._write_waiting(plaintext)

    def _write_now(self, plaintext: bytes) -> bool:
        """Encrypts and writes ``plaintext`` when that needs no wait; False when it would."""
        websocket = self._websocket
        socket = websocket.transport
        # A TLS record holds 16 KiB: one record's overhead per 8 KiB is a safe upper bound.
        size = len(plaintext) + (len(plaintext) >> 8) + _FRAME_OVERHEAD
        if (
            self._waiting_senders
            or websocket.state is not State.OPEN
            or socket.get_write_buffer_size() + size >= self._write_limit
        ):
            return False
        # Encryption and the write happen with no await between, so frames reach the wire in
        # counter order; the buffer stays under its mark, so websockets would not wait either.
        protocol = self._protocol
        protocol.send_binary(self._writer.encode(self._transport.encrypt(plaintext)))
        for chunk in protocol.data_to_send():
            if chunk:
                socket.write(chunk)
            # An empty chunk ends the stream: only websockets' closing handshake queues one
            # (and writes it itself); do what it does all the same.
            elif socket.can_write_eof():
                socket.write_eof()
            else:
                socket.close()
        self.counters.frames_at_once += 1
        return True

    async def _write_waiting(self, plaintext: bytes) -> None:
        """The path of a write that may have to wait for the socket to drain (or fail)."""
        self._waiting_senders += 1
        try:
            async with self._send_lock:
                encrypted = self._writer.encode(self._transport.encrypt(plaintext))
                self.counters.waiting_writes += 1
                try:
                    await _bounded(
                        self._websocket.send(encrypted), self._config.send_timeout, "send"
                    )
                except TransportTimeout:
                    # The frame may be half written and its counter is spent: the stream is
                    # unusable, and a peer that does not read would not take a close frame.
                    await _abort(self._websocket)
                    raise
        finally:
            self._waiting_senders -= 1

    async def receive_frame(self, timeout: float | None = None) -> bytes:
        """The next decrypted frame. A frame that fails authentication closes the connection."""
        limit = self._config.receive_timeout if timeout is None else timeout
        async with self._receive_lock:
            # A message carries a few frames: a list (a deque is 760 bytes even when empty).
            pending = self._pending
            if not pending:
                task = self._watch_receive(limit)
                try:
                    await _read_bodies(self._websocket, self._reader, pending)
                except asyncio.CancelledError:
                    if (
                        self._receive_expired
                        and task is not None
                        and task.uncancel() <= self._cancelling
                    ):
                        raise TransportTimeout(f"receive timed out after {limit} s") from None
                    raise
                finally:
                    self._receiver = None
                    self._receive_expired = False
            body = pending.pop(0)
            try:
                return self._transport.decrypt(body)
            except DecryptError:
                await self.close()
                raise

    def _watch_receive(self, limit: float) -> asyncio.Task[Any] | None:
        """Puts the current task's receive under the watchdog, ``limit`` seconds from now."""
        deadline = self._loop.time() + limit
        self._receive_deadline = deadline
        self._receiver = task = asyncio.current_task(self._loop)
        watchdog = self._watchdog
        if watchdog is None or watchdog.when() > deadline:
            if watchdog is not None:
                watchdog.cancel()
            self._watchdog = self._loop.call_at(deadline, self._receive_overdue)
            self.counters.receive_timers += 1
        return task

    def _receive_overdue(self) -> None:
        """The watchdog: times out a receive past its deadline, or moves on to the current one."""
        self._watchdog = None
        task = self._receiver
        if task is None:
            return  # nobody waits: the next wait arms it again
        if self._loop.time() < self._receive_deadline:
            self._watchdog = self._loop.call_at(self._receive_deadline, self._receive_overdue)
            self.counters.receive_timers += 1
            return
        self._receive_expired = True
        self._cancelling = task.cancelling()
        task.cancel()

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        await _close(self._websocket, self._config.close_timeout)

    @property
    def closed(self) -> bool:
        return self._websocket.close_code is not None


@dataclass(slots=True)
class TransportCounters:
    """How frames moved: frames written with no wait, frames that waited (for the buffer to
    drain, or behind one that did), and the timers that bounded waiting receives."""

    frames_at_once: int = 0
    waiting_writes: int = 0
    receive_timers: int = 0


async def connect(
    config: TransportConfig,
    *,
    static: KeyPair,
    client_payload: Callable[[], bytes],
    now: Callable[[], float] = time.time,
    ephemeral: KeyPair | None = None,
) -> NoiseWebSocket:
    """Opens the websocket and runs the handshake as initiator.

    ``static`` is the device's Noise key (its login credential); ``client_payload`` builds the
    serialized ClientPayload (login or registration) once the server is verified; ``now`` is
    the clock the certificate validity is checked against. Raises ConnectFailed,
    TransportTimeout, TransportClosed, HandshakeError or CertificateError; on any failure the
    websocket is closed.
    """
    websocket = await _open(config)
    try:
        return await _bounded(
            _handshake(websocket, config, static, client_payload, now, ephemeral),
            config.handshake_timeout,
            "handshake",
        )
    except BaseException:
        await _close(websocket, config.close_timeout)
        raise


async def _open(config: TransportConfig) -> ClientConnection:
    headers: HeadersLike = {"Cache-Control": "no-cache", "Pragma": "no-cache"}
    try:
        return await ws_connect(
            config.url,
            origin=Origin(config.origin),
            additional_headers=headers,
            user_agent_header=config.user_agent,
            compression=None,
            proxy=None,
            open_timeout=config.connect_timeout,
            ping_interval=None,
            close_timeout=config.close_timeout,
            max_size=config.max_message_size,
            ssl=_tls_for(config),
        )
    except ssl.SSLCertVerificationError as exc:
        # Never retried without verification: the operator decides whom to trust.
        raise ConnectFailed(
            f"TLS certificate of {config.url} not trusted: {exc.verify_message or exc}"
        ) from exc
    except InvalidStatus as exc:
        code = exc.response.status_code
        raise ConnectFailed(f"{config.url} refused the upgrade: HTTP {code}", code) from exc
    except TimeoutError as exc:
        raise TransportTimeout(f"connecting to {config.url} timed out") from exc
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise ConnectFailed(f"cannot open {config.url}: {exc}") from exc


def _tls_for(config: TransportConfig) -> ssl.SSLContext | None:
    """The context of a wss:// URL (verifying, with the system trust store unless the config
    brings its own); None for ws://."""
    if not config.url.startswith("wss://"):
        return None
    return config.ssl_context or ssl.create_default_context()


async def _handshake(
    websocket: ClientConnection,
    config: TransportConfig,
    static: KeyPair,
    client_payload: Callable[[], bytes],
    now: Callable[[], float],
    ephemeral: KeyPair | None,
) -> NoiseWebSocket:
    initiator = NoiseInitiator(
        static, root_key=config.root_key, ephemeral=ephemeral, prologue=config.intro.header
    )
    writer = FrameWriter(config.intro)
    reader = FrameReader()
    pending: list[bytes] = []
    await _send(websocket, writer.encode(initiator.client_hello()))
    server_hello = await _next_body(websocket, reader, pending, config.handshake_timeout)
    verified = initiator.read_server_hello(server_hello, now=now())
    finish, transport = initiator.client_finish(client_payload())
    await _send(websocket, writer.encode(finish))
    return NoiseWebSocket(websocket, reader, writer, transport, verified, config, pending)


async def _send(websocket: ClientConnection, data: bytes) -> None:
    try:
        await websocket.send(data)
    except ConnectionClosed as exc:
        raise TransportClosed(f"websocket closed while sending: {exc}") from exc


async def _next_body(
    websocket: ClientConnection,
    reader: FrameReader,
    pending: list[bytes],
    timeout: float,
) -> bytes:
    """The next frame body within ``timeout`` seconds (the handshake's reads)."""
    async with _deadline(timeout, "receive"):
        await _read_bodies(websocket, reader, pending)
    return pending.pop(0)


async def _read_bodies(
    websocket: ClientConnection, reader: FrameReader, pending: list[bytes]
) -> None:
    """Reads websocket messages until one completes a frame; the caller bounds the wait."""
    while not pending:
        try:
            message = await websocket.recv()
        except ConnectionClosed as exc:
            raise TransportClosed(f"websocket closed: {exc}") from exc
        # WhatsApp only sends binary messages; whatsmeow ignores text ones too.
        if isinstance(message, bytes):
            pending.extend(reader.feed(message))


async def _bounded(operation: Awaitable[_T], seconds: float, what: str) -> _T:
    async with _deadline(seconds, what):
        try:
            return await operation
        except ConnectionClosed as exc:
            raise TransportClosed(f"websocket closed during {what}: {exc}") from exc


@contextlib.asynccontextmanager
async def _deadline(seconds: float, what: str) -> AsyncIterator[None]:
    """asyncio.timeout, raising our TransportTimeout instead of TimeoutError."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise TransportTimeout(f"{what} timed out after {seconds} s") from exc


async def _close(websocket: ClientConnection, seconds: float) -> None:
    """Closes gracefully, or drops the TCP connection when the peer does not take our bytes."""
    try:
        async with asyncio.timeout(seconds):
            await websocket.close()
    except TimeoutError:
        await _abort(websocket)


async def _abort(websocket: ClientConnection) -> None:
    websocket.transport.abort()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            await websocket.wait_closed()
