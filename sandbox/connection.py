"""One client connection: frames, the Noise responder, registration or login, the stanza loop.

The websocket carries binary messages only; frames (3-byte length + body) are reassembled
across messages by the frame reader, which also strips the client's ``WA`` intro (its header is
the Noise prologue). The ClientPayload inside the client's last handshake message says what the
client wants: ``devicePairingData`` without ``username`` is a new device registering (it gets
``pair-device`` refs and waits to be scanned), ``username`` + ``device`` is a known device logging
in (``<success>``, then its offline queue, then stanzas flow through ``Network.submit``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import structlog
from aiohttp import WSMsgType, web
from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, SERVER_JID, DecodeError, Node, Server, marshal, unmarshal
from daemon.crypto.curve import verify
from daemon.wire.errors import WireError
from daemon.wire.frames import LENGTH_SIZE, MAX_FRAME_LENGTH, FrameReader, FrameWriter
from daemon.wire.noise import NoiseResponder, NoiseTransport
from sandbox.client_version import REFUSED_REASON, WebVersion
from sandbox.directory import SignedPreKey
from sandbox.pairing import Registration
from sandbox.stanzas import (
    StreamErrorCode,
    failure,
    new_server_id,
    replaced,
    stream_error,
)
from waproto import wa_companion_reg_pb2, wa_handshake_pb2

if TYPE_CHECKING:
    from sandbox.certs import ServerKeys
    from sandbox.config import SandboxConfig
    from sandbox.network import Network

log = structlog.get_logger("sandbox.connection")

MAX_WS_MESSAGE = 4 * (MAX_FRAME_LENGTH + LENGTH_SIZE)
"""Room for several maximal (16 MiB) frames in one websocket message."""
CLOSE_TIMEOUT = 2.0
KEY_TYPE_DJB = b"\x05"

_ClientPayload = wa_handshake_pb2.ClientPayload


class ConnectionClosed(Exception):
    """The client went away (or we closed) before the exchange finished."""


class RefusedPayload(Exception):
    """A ClientPayload the server cannot act on; ``reason`` is the failure code."""

    def __init__(self, reason: int, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def parse_registration(payload: _ClientPayload) -> tuple[int, bytes, SignedPreKey, str]:
    """(registration id, identity key, signed prekey, platform) from devicePairingData."""
    data = payload.devicePairingData
    if len(data.eRegid) != 4 or len(data.eIdent) != 32 or len(data.eSkeyVal) != 32:
        raise RefusedPayload(400, "devicePairingData has malformed keys")
    if len(data.eSkeyId) != 3 or len(data.eSkeySig) != 64:
        raise RefusedPayload(400, "devicePairingData has a malformed signed prekey")
    if not verify(data.eIdent, KEY_TYPE_DJB + data.eSkeyVal, data.eSkeySig):
        raise RefusedPayload(400, "the signed prekey signature does not verify")
    platform = "unknown"
    if data.deviceProps:
        try:
            props = wa_companion_reg_pb2.DeviceProps.FromString(data.deviceProps)
        except ProtoDecodeError as exc:
            raise RefusedPayload(400, f"deviceProps do not parse: {exc}") from exc
        platform = props.os or wa_companion_reg_pb2.DeviceProps.PlatformType.Name(
            props.platformType
        )
    spk = SignedPreKey(int.from_bytes(data.eSkeyId, "big"), data.eSkeyVal, data.eSkeySig)
    return int.from_bytes(data.eRegid, "big"), data.eIdent, spk, platform


class Connection:
    """A client socket (``sandbox.network.Endpoint`` and ``sandbox.faults.Socket``)."""

    acks_required = True
    """What this socket receives stays queued until the client acks it (see offline.py)."""

    def __init__(
        self,
        network: Network,
        keys: ServerKeys,
        config: SandboxConfig,
        request: web.Request,
        websocket: web.WebSocketResponse,
    ) -> None:
        self._network = network
        self._keys = keys
        self._config = config
        self._request = request
        self._ws = websocket
        self._reader = FrameReader(expect_intro=True)
        self._writer = FrameWriter()
        self._frames: list[bytes] = []
        self._transport: NoiseTransport | None = None
        self._send_lock = asyncio.Lock()
        self._closing = False
        self.device: JID | None = None
        self.registration: Registration | None = None

    # Endpoint / Socket

    async def deliver(self, node: Node) -> None:
        await self.send(node)

    async def send(self, node: Node) -> None:
        if self._transport is None:
            raise ConnectionClosed("the handshake has not finished")
        async with self._send_lock:
            if self._ws.closed:
                raise ConnectionClosed("the websocket is closed")
            frame = self._writer.encode(self._transport.encrypt(marshal(node)))
            try:
                await self._ws.send_bytes(frame)
            except ConnectionError as exc:
                raise ConnectionClosed(str(exc)) from exc
        if self.device is not None:
            self._network.record_delivery(self.device, node)

    def abort(self) -> None:
        self._closing = True
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    async def close_with(self, node: Node) -> None:
        self._closing = True
        with contextlib.suppress(ConnectionClosed, ConnectionError):
            await self.send(node)
        await self._ws.close()

    async def restart(self) -> None:
        """RegistrationLink: pairing done, the client must reconnect and log in."""
        await self.close_with(stream_error(StreamErrorCode.RESTART_REQUIRED))

    # Lifecycle

    async def run(self) -> None:
        self._network.sockets.add(self)
        try:
            try:
                async with asyncio.timeout(self._config.handshake_timeout):
                    payload, client_static = await self._handshake()
            except (TimeoutError, WireError, ConnectionClosed, ProtoDecodeError) as exc:
                log.info("sandbox.handshake_failed", error=str(exc))
                return
            if self._outdated(payload):
                await self.close_with(failure(REFUSED_REASON))
            elif payload.HasField("username"):
                await self._login(payload, client_static)
            elif payload.HasField("devicePairingData"):
                await self._register(payload, client_static)
            else:
                await self.close_with(failure(400))
        except ConnectionClosed:
            pass
        finally:
            self._network.sockets.discard(self)
            if self.device is not None:
                self._network.detach(self.device, self)
                if not self._network.is_online(self.device):
                    await self._network.offline.flush(self.device)
            if self.registration is not None:
                self._network.pairing.close(self.registration)
            if not self._ws.closed:
                await self._ws.close()

    def _outdated(self, payload: _ClientPayload) -> bool:
        """A web client older than the minimum the service still accepts (405)."""
        app = payload.userAgent.appVersion
        version = WebVersion(app.primary, app.secondary, app.tertiary)
        if not self._network.versions.refuses(version):
            return False
        log.info("sandbox.client_outdated", version=str(version))
        return True

    async def _handshake(self) -> tuple[_ClientPayload, bytes]:
        hello = await self._next_frame()
        intro = self._reader.intro
        assert intro is not None  # the reader parsed it before yielding the first frame
        responder = NoiseResponder(
            self._keys.static,
            self._keys.cert_chain(self._network.now()),
            prologue=intro.header,
        )
        await self._ws.send_bytes(self._writer.encode(responder.read_client_hello(hello)))
        finished = responder.read_client_finish(await self._next_frame())
        self._transport = finished.transport
        return _ClientPayload.FromString(finished.client_payload), finished.client_static

    async def _next_frame(self) -> bytes:
        while not self._frames:
            message = await self._ws.receive()
            if message.type == WSMsgType.BINARY:
                self._frames.extend(self._reader.feed(message.data))
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                raise ConnectionClosed("the client closed the websocket")
            elif message.type == WSMsgType.ERROR:
                raise ConnectionClosed(f"websocket error: {self._ws.exception()}")
            # Text messages are not part of the protocol; whatsmeow ignores them too.
        return self._frames.pop(0)

    async def _nodes(self) -> AsyncIterator[Node]:
        assert self._transport is not None
        while True:
            try:
                frame = await self._next_frame()
                node = unmarshal(self._transport.decrypt(frame))
            except (WireError, DecodeError) as exc:
                log.info("sandbox.bad_frame", device=str(self.device), error=str(exc))
                return
            except ConnectionClosed:
                return
            yield node

    # Login

    async def _login(self, payload: _ClientPayload, client_static: bytes) -> None:
        network = self._network
        jid = JID(str(payload.username), Server.PN, payload.device)
        refusal = network.faults.login_refusal(jid)
        device = network.directory.device(jid)
        if refusal is not None:
            await self.close_with(failure(refusal))
            return
        if device is None or device.logged_out or device.noise_public != client_static:
            # Unknown, removed, or a Noise key that is not the one bound at pairing.
            await self.close_with(failure(401))
            return
        for old in network.faults.sockets(jid):
            if old is not self:
                network.logins.record_replaced(jid, network.clock())
                await old.close_with(replaced())
        account = network.directory.account(device.phone_user)
        if payload.pushName and payload.pushName != device.push_name:
            device.push_name = payload.pushName
        first_login = device.last_login_at == 0
        device.last_login_at = network.now()
        await network.state.save_device(device)
        self.device = jid
        # Recorded before the client can learn of it: whoever reads the record knows every
        # login in it happened while the client still waited for its ``<success>``.
        network.logins.record(jid, network.clock())
        await self.send(
            Node(
                "success",
                {
                    "t": str(network.now()),
                    "lid": account.lid_device(device.device_id),
                    "creation": str(device.created_at),
                    "location": "sandbox",
                },
            )
        )
        await network.offline.login(jid, self, self.send)
        log.info("sandbox.login", device=str(jid), first=first_login)
        # In the background: the phone's history push must not hold up this socket's reader.
        network.spawn(network.notify_login(device, first_login))
        async for node in self._nodes():
            if await network.faults.inbound(jid, node):
                await network.submit(jid, node)

    # Registration

    async def _register(self, payload: _ClientPayload, client_static: bytes) -> None:
        try:
            registration_id, identity, spk, platform = parse_registration(payload)
        except RefusedPayload as exc:
            log.info("sandbox.registration_refused", error=str(exc))
            await self.close_with(failure(exc.reason))
            return
        registration = Registration(
            link=self,
            noise_public=client_static,
            identity_public=identity,
            registration_id=registration_id,
            signed_prekey=spk,
            platform=platform,
            push_name=payload.pushName,
        )
        self.registration = registration
        refs = self._network.pairing.open(registration)
        await self.send(
            Node(
                "iq",
                {"from": SERVER_JID, "type": "set", "id": new_server_id(), "xmlns": "md"},
                [Node("pair-device", {}, [Node("ref", {}, ref.encode()) for ref in refs])],
            )
        )
        if self._config.auto_scan:
            from sandbox.autoscan import auto_scan

            self._network.spawn(auto_scan(self._network, registration, self._config))
        async for node in self._nodes():
            await self._network.pairing.handle(registration, node)
