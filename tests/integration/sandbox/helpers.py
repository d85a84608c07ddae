"""A tiny test-only WhatsApp client for the sandbox, built from ``daemon.wire`` pieces.

It registers (pair-device refs, pair-success checked with ``daemon.crypto.adv``,
pair-device-sign, 515), logs in, and exchanges raw stanzas. A background reader routes iq
answers to their waiters and keeps every other stanza in an inbox the tests inspect.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from daemon.binary import JID, SERVER_JID, Node, Server
from daemon.client.ids import RequestIds
from daemon.crypto import adv, pair_code
from daemon.crypto.curve import KeyPair, sign
from daemon.wire.errors import TransportClosed, WireError
from daemon.wire.transport import NoiseWebSocket, TransportConfig, connect
from sandbox.app import SandboxServer
from sandbox.directory import Account, Device
from waproto import wa_companion_reg_pb2, wa_handshake_pb2

TIMEOUT = 10.0


@dataclass(slots=True)
class DeviceKeys:
    """Everything a companion generates before it registers."""

    noise: KeyPair = field(default_factory=KeyPair.generate)
    identity: KeyPair = field(default_factory=KeyPair.generate)
    signed_prekey: KeyPair = field(default_factory=KeyPair.generate)
    signed_prekey_id: int = 1
    registration_id: int = field(default_factory=lambda: int.from_bytes(os.urandom(2), "big") | 1)
    adv_secret: bytes = field(default_factory=lambda: os.urandom(32))
    signed_prekey_signature: bytes = b""

    def __post_init__(self) -> None:
        # XEdDSA signatures are randomized: sign once, so every use shows the same bytes.
        if not self.signed_prekey_signature:
            self.signed_prekey_signature = sign(
                self.identity.private, b"\x05" + self.signed_prekey.public
            )


@dataclass(slots=True)
class Companion:
    """A paired companion: its keys and the JID it logs in as."""

    keys: DeviceKeys
    jid: JID
    push_name: str = ""


def registration_payload(keys: DeviceKeys, push_name: str = "") -> bytes:
    props = wa_companion_reg_pb2.DeviceProps(
        os="wamd-test", platformType=wa_companion_reg_pb2.DeviceProps.CHROME
    )
    payload = wa_handshake_pb2.ClientPayload(
        passive=False,
        pull=False,
        pushName=push_name,
        connectType=wa_handshake_pb2.ClientPayload.WIFI_UNKNOWN,
        connectReason=wa_handshake_pb2.ClientPayload.USER_ACTIVATED,
        devicePairingData=wa_handshake_pb2.ClientPayload.DevicePairingRegistrationData(
            eRegid=keys.registration_id.to_bytes(4, "big"),
            eKeytype=b"\x05",
            eIdent=keys.identity.public,
            eSkeyId=keys.signed_prekey_id.to_bytes(3, "big"),
            eSkeyVal=keys.signed_prekey.public,
            eSkeySig=keys.signed_prekey_signature,
            buildHash=b"\x00" * 16,
            deviceProps=props.SerializeToString(),
        ),
    )
    return payload.SerializeToString()


def login_payload(jid: JID, push_name: str = "") -> bytes:
    payload = wa_handshake_pb2.ClientPayload(
        username=int(jid.user),
        device=jid.device,
        passive=True,
        pull=True,
        pushName=push_name,
        connectType=wa_handshake_pb2.ClientPayload.WIFI_UNKNOWN,
        connectReason=wa_handshake_pb2.ClientPayload.USER_ACTIVATED,
    )
    return payload.SerializeToString()


def qr_string(ref: str, keys: DeviceKeys) -> str:
    parts = [
        ref,
        base64.b64encode(keys.noise.public).decode(),
        base64.b64encode(keys.identity.public).decode(),
        base64.b64encode(keys.adv_secret).decode(),
        "1",
    ]
    return "https://wa.me/settings/linked_devices#" + ",".join(parts)


def client_ssl_context(server: SandboxServer) -> ssl.SSLContext | None:
    if not server.config.tls:
        return None
    context = ssl.create_default_context(cafile=str(server.state_dir / "tls.crt"))
    return context


class TestClient:
    """One websocket connection to the sandbox."""

    __test__ = False  # not a pytest test class

    def __init__(self, socket: NoiseWebSocket, *, auto_ack: bool = True) -> None:
        self.socket = socket
        self.auto_ack = auto_ack
        self.inbox: list[Node] = []
        self.closed = asyncio.Event()
        self.close_reason: str = ""
        self._arrived = asyncio.Condition()
        self._waiters: dict[str, asyncio.Future[Node]] = {}
        self._ids = RequestIds()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        server: SandboxServer,
        payload: bytes,
        static: KeyPair,
        *,
        auto_ack: bool = True,
    ) -> TestClient:
        config = TransportConfig(
            url=server.ws_url,
            root_key=server.root_public_key,
            ssl_context=client_ssl_context(server),
            connect_timeout=TIMEOUT,
            handshake_timeout=TIMEOUT,
        )
        socket = await connect(config, static=static, client_payload=lambda: payload)
        return cls(socket, auto_ack=auto_ack)

    async def _read(self) -> None:
        try:
            while True:
                node = await self.socket.receive_node(timeout=3600)
                waiter = self._waiters.pop(node.attr_str("id") or "", None)
                if node.tag == "iq" and waiter is not None and not waiter.done():
                    waiter.set_result(node)
                    continue
                if self.auto_ack and node.tag in ("receipt", "notification"):
                    await self.send(ack_for(node))
                async with self._arrived:
                    self.inbox.append(node)
                    self._arrived.notify_all()
        except (WireError, TransportClosed) as exc:
            self.close_reason = str(exc)
        finally:
            self.closed.set()
            async with self._arrived:
                self._arrived.notify_all()

    def next_id(self) -> str:
        return self._ids.next()

    async def send(self, node: Node) -> None:
        await self.socket.send_node(node)

    async def iq(
        self, xmlns: str, kind: str, content: list[Node] | None = None, **attrs: Any
    ) -> Node:
        iq_id = self.next_id()
        to = attrs.pop("to", SERVER_JID)
        node = Node("iq", {"id": iq_id, "xmlns": xmlns, "type": kind, "to": to, **attrs}, content)
        waiter: asyncio.Future[Node] = asyncio.get_running_loop().create_future()
        self._waiters[iq_id] = waiter
        await self.send(node)
        async with asyncio.timeout(TIMEOUT):
            return await waiter

    async def wait_for(
        self, predicate: Callable[[Node], bool], timeout: float = TIMEOUT, *, take: bool = True
    ) -> Node:
        """The first stanza in the inbox (now or later) that matches; removed when ``take``."""
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for node in self.inbox:
                    if predicate(node):
                        if take:
                            self.inbox.remove(node)
                        return node
                if self.closed.is_set():
                    raise ConnectionError(f"connection closed: {self.close_reason}")
                await self._arrived.wait()

    async def wait_closed(self, timeout: float = TIMEOUT) -> None:
        async with asyncio.timeout(timeout):
            await self.closed.wait()

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def ack_for(node: Node) -> Node:
    attrs: dict[str, str | JID] = {"class": node.tag, "id": node.attr_str("id") or ""}
    if (sender := node.attrs.get("from")) is not None:
        attrs["to"] = sender
    if (kind := node.attr_str("type")) is not None:
        attrs["type"] = kind
    if (participant := node.attrs.get("participant")) is not None:
        attrs["participant"] = participant
    return Node("ack", attrs)


def tag_is(tag: str, **attrs: str) -> Callable[[Node], bool]:
    def predicate(node: Node) -> bool:
        return node.tag == tag and all(node.attr_str(k) == v for k, v in attrs.items())

    return predicate


# Registration and login


@dataclass(slots=True)
class Registering:
    client: TestClient
    keys: DeviceKeys
    refs: list[str]

    @property
    def qr(self) -> str:
        return qr_string(self.refs[0], self.keys)


async def start_registration(
    server: SandboxServer, keys: DeviceKeys | None = None, push_name: str = ""
) -> Registering:
    keys = keys or DeviceKeys()
    client = await TestClient.open(server, registration_payload(keys, push_name), keys.noise)
    pair_device = await client.wait_for(
        lambda n: n.tag == "iq" and n.child("pair-device") is not None
    )
    await client.send(
        Node("iq", {"to": SERVER_JID, "type": "result", "id": pair_device.attr_str("id") or ""})
    )
    refs = [
        (ref.content_bytes() or b"").decode()
        for ref in (pair_device.child("pair-device") or Node("x")).children_by_tag("ref")
    ]
    return Registering(client, keys, refs)


async def answer_pair_success(registering: Registering) -> JID:
    """Checks pair-success like a real companion and countersigns; returns our device JID."""
    client, keys = registering.client, registering.keys
    success = await client.wait_for(lambda n: n.tag == "iq" and n.child("pair-success") is not None)
    pair = success.child("pair-success")
    assert pair is not None
    container = (pair.child("device-identity") or Node("x")).content_bytes() or b""
    accepted = adv.accept_pair_success(container, keys.adv_secret, keys.identity)
    device = pair.child("device")
    assert device is not None
    jid = device.attr_jid("jid")
    assert jid is not None
    sign_node = Node(
        "pair-device-sign",
        {},
        [Node("device-identity", {"key-index": str(accepted.key_index)}, accepted.reply_identity)],
    )
    await client.send(
        Node(
            "iq",
            {"to": SERVER_JID, "type": "result", "id": success.attr_str("id") or ""},
            [sign_node],
        )
    )
    return jid


async def expect_restart(client: TestClient) -> None:
    error = await client.wait_for(lambda n: n.tag == "stream:error")
    assert error.attr_str("code") == "515"
    await client.wait_closed()


async def pair_with_phone(
    server: SandboxServer, account: Account, push_name: str = "", keys: DeviceKeys | None = None
) -> Companion:
    """Registers a companion and has the account's simulated phone scan its QR."""
    registering = await start_registration(server, keys, push_name)
    phone = server.network.phones[account.phone_user]
    scan = asyncio.create_task(phone.scan_qr(registering.qr))
    jid = await answer_pair_success(registering)
    device = await scan
    await expect_restart(registering.client)
    assert device.jid() == jid
    return Companion(registering.keys, jid, push_name)


async def pair_directly(
    server: SandboxServer, account: Account, push_name: str = "", keys: DeviceKeys | None = None
) -> Companion:
    """Registers a companion, completing the QR on the server with an ADV container signed by
    the account key (what a phone does), without a simulated phone."""
    registering = await start_registration(server, keys, push_name)
    keys = registering.keys
    container = adv.sign_companion(
        account.identity,
        keys.identity.public,
        keys.adv_secret,
        raw_id=1,
        key_index=account.next_key_index,
        timestamp=server.network.now(),
    )
    complete = asyncio.create_task(
        server.network.pairing.complete_qr(
            registering.refs[0], account, container, account.next_key_index, "android"
        )
    )
    jid = await answer_pair_success(registering)
    device: Device = await complete
    await expect_restart(registering.client)
    assert device.jid() == jid
    return Companion(keys, jid, push_name)


async def login(
    server: SandboxServer, companion: Companion, *, auto_ack: bool = True
) -> TestClient:
    """Logs in and waits for ``success`` and the ``ib > offline`` marker."""
    client = await TestClient.open(
        server,
        login_payload(companion.jid, companion.push_name),
        companion.keys.noise,
        auto_ack=auto_ack,
    )
    await client.wait_for(tag_is("success"))
    await client.wait_for(lambda n: n.tag == "ib" and n.child("offline") is not None, take=False)
    return client


async def upload_prekeys(
    client: TestClient, keys: DeviceKeys, count: int, first_id: int = 1
) -> None:
    prekeys = [KeyPair.generate() for _ in range(count)]
    key_nodes = [
        Node(
            "key",
            {},
            [Node("id", {}, (first_id + i).to_bytes(3, "big")), Node("value", {}, k.public)],
        )
        for i, k in enumerate(prekeys)
    ]
    skey = Node(
        "skey",
        {},
        [
            Node("id", {}, keys.signed_prekey_id.to_bytes(3, "big")),
            Node("value", {}, keys.signed_prekey.public),
            Node("signature", {}, keys.signed_prekey_signature),
        ],
    )
    answer = await client.iq(
        "encrypt",
        "set",
        [
            Node("registration", {}, keys.registration_id.to_bytes(4, "big")),
            Node("type", {}, b"\x05"),
            Node("identity", {}, keys.identity.public),
            Node("list", {}, key_nodes),
            skey,
        ],
    )
    assert answer.attr_str("type") == "result", answer


def text_message(message_id: str, to: JID, devices: dict[JID, bytes], kind: str = "msg") -> Node:
    """A message stanza with one opaque ``enc`` per device (the server never decrypts)."""
    entries = [
        Node("to", {"jid": device}, [Node("enc", {"v": "2", "type": kind}, payload)])
        for device, payload in devices.items()
    ]
    return Node(
        "message", {"id": message_id, "to": to, "type": "text"}, [Node("participants", {}, entries)]
    )


async def admin(
    server: SandboxServer, method: str, path: str, payload: Any = None, *, data: str | None = None
) -> tuple[int, Any]:
    """Calls the admin API; returns (status, decoded JSON)."""
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(server) or False)
    async with aiohttp.ClientSession(connector=connector) as session:
        kwargs: dict[str, Any] = {"json": payload} if data is None else {"data": data}
        async with session.request(method, f"{server.origin}{path}", **kwargs) as response:
            return response.status, await response.json(content_type=None)


def companion_hello_node(jid: JID, code: str, ephemeral: KeyPair, keys: DeviceKeys) -> Node:
    """``link_code_companion_reg stage=companion_hello`` as whatsmeow sends it."""
    wrapped = pair_code.wrap_ephemeral(code, ephemeral.public)
    return Node(
        "link_code_companion_reg",
        {"jid": jid, "stage": "companion_hello", "should_show_push_notification": "true"},
        [
            Node("link_code_pairing_wrapped_companion_ephemeral_pub", {}, wrapped),
            Node("companion_server_auth_key_pub", {}, keys.noise.public),
            Node("companion_platform_id", {}, b"1"),
            Node("companion_platform_display", {}, b"Chrome (Linux)"),
            Node("link_code_pairing_nonce", {}, b"\x00"),
        ],
    )


def companion_finish_node(jid: JID, finish: pair_code.CompanionFinish, ref: bytes) -> Node:
    return Node(
        "link_code_companion_reg",
        {"jid": jid, "stage": "companion_finish"},
        [
            Node("link_code_pairing_wrapped_key_bundle", {}, finish.wrapped_key_bundle),
            Node("companion_identity_public", {}, finish.companion_identity_public),
            Node("link_code_pairing_ref", {}, ref),
        ],
    )


def child_bytes(node: Node, *path: str) -> bytes:
    child = node.child(*path)
    value = child.content_bytes() if child is not None else None
    assert value is not None, f"{node.tag} has no {'/'.join(path)}"
    return value


def pn(user: str, device: int = 0) -> JID:
    return JID(user, Server.PN, device)
