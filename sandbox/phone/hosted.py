"""The hosted (Cloud API) device of a sandbox business account.

A business that uses the Cloud API has, besides its phone, a device the service hosts for it:
device 99 of the account, named ``<pn>:99@hosted`` and ``<lid>:99@hosted.lid``, listed by usync
with ``is_hosted=true`` and Signal-addressed as ``<user>_128.99`` / ``<user>_129.99`` (whatsmeow
types/jid.go, user.go ``parseDeviceList``; Baileys ``extractDeviceJids``, lid-mapping).

This one is a real Signal party in-process, like the simulated phone: it has its own identity
and registration id (kept beside the phone's state, ``HostedStore``), uploads its prekeys,
decrypts the 1:1 messages clients encrypt for it and receipts them (a retry receipt, with keys,
when it cannot decrypt), answers others' retry receipts by encrypting again, and replies as the
business would: to the peer's LID with ``peer_recipient_pn`` and the business's privacy token.
It takes no part in groups (the service never delivers group traffic to it) and sends no copies
to the business's own devices.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict

import structlog
from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.binary import JID, Node
from daemon.client.ids import new_message_id
from daemon.signal import (
    DuplicateMessageError,
    EncType,
    InvalidKeyError,
    InvalidSignatureError,
    KeyPair,
    MissingPreKeyError,
    NoSessionForMessageError,
    ProtocolAddress,
    SessionCipher,
    SignalError,
    UntrustedIdentityError,
    generate_prekeys,
    generate_signed_prekey,
    pad,
    unpad,
)
from sandbox.directory import HOSTED_DEVICE_ID, Account, Device
from sandbox.network import Network, PhoneMessage, PhoneStore
from sandbox.phone import client_stanzas as cs
from sandbox.phone.link import StanzaLink
from sandbox.phone.privacy import token_node
from sandbox.phone.signal_store import PhoneSignalStore
from waproto import wa_e2e_pb2

__all__ = ["HostedDevice", "HostedDeviceError", "HostedStore"]

log = structlog.get_logger("sandbox.hosted")

SIGNED_PREKEY_ID = 1
PREKEY_BATCH = 30
MIN_PREKEYS = 10
MAX_RETRIES = 5
MAX_SENT_KEPT = 256
"""Sent messages kept to answer retry receipts."""
REQUEST_TIMEOUT_S = 15.0
_PREFIX = "hosted."
_META = "meta"
_IDENTITY = "identity_private"
_REGISTRATION = "registration_id"


class HostedDeviceError(Exception):
    """A send the hosted device could not carry out."""


class HostedStore:
    """The hosted device's own state, beside the phone's in the account's ``PhoneStore``:
    every namespace prefixed with ``hosted.``."""

    def __init__(self, backend: PhoneStore) -> None:
        self._backend = backend

    async def get(self, namespace: str, key: str) -> bytes | None:
        return await self._backend.get(_PREFIX + namespace, key)

    async def put(self, namespace: str, key: str, value: bytes) -> None:
        await self._backend.put(_PREFIX + namespace, key, value)

    async def delete(self, namespace: str, key: str) -> None:
        await self._backend.delete(_PREFIX + namespace, key)

    async def items(self, namespace: str) -> dict[str, bytes]:
        return await self._backend.items(_PREFIX + namespace)


class HostedDevice:
    """Device 99 of a business ``account``; implements ``sandbox.network.HostedEndpoint``."""

    acks_required = False
    """An in-process endpoint: nothing delivered to it is lost, so nothing stays owed."""

    def __init__(self, account: Account, network: Network) -> None:
        self.account = account
        self._network = network
        self._jid = account.pn_device(HOSTED_DEVICE_ID)
        self._backend = HostedStore(network.phone_store(account.phone_user))
        self._identity: KeyPair | None = None
        self._registration_id = 0
        self._store: PhoneSignalStore | None = None
        self._link = StanzaLink(
            network,
            self._jid,
            self._handle,
            timeout=REQUEST_TIMEOUT_S,
            failure=HostedDeviceError,
            name=f"hosted-{account.phone_user}",
        )
        self._lock = asyncio.Lock()
        self._received: list[PhoneMessage] = []
        self._seen: set[tuple[JID, str]] = set()
        self._retries: dict[str, int] = {}
        self._sent: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        """Message id -> (server time, plaintext) of what it sent, for retry receipts."""
        self.stanzas: list[Node] = []
        """Every stanza the service delivered to this device, in order."""

    @property
    def jid(self) -> JID:
        return self._jid

    @property
    def messages_received(self) -> list[PhoneMessage]:
        return list(self._received)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Loads or creates its identity and device record, attaches, uploads prekeys."""
        if self._link.running:
            return
        identity, registration_id = await self._load_identity()
        self._identity, self._registration_id = identity, registration_id
        self._store = PhoneSignalStore(self._backend, identity, registration_id)
        await self._store.load()
        if not self._store.signed_prekey_ids():
            await self._store.store_signed_prekey(
                generate_signed_prekey(identity, SIGNED_PREKEY_ID)
            )
        await self._register(identity, registration_id)
        self._link.start()
        await self._network.offline.login(self._jid, self, self.deliver)
        await self._refill_prekeys()

    async def stop(self) -> None:
        self._network.detach(self._jid, self)
        await self._link.stop()

    async def idle(self) -> None:
        """Waits until every stanza delivered so far is handled."""
        await self._link.join()

    async def _load_identity(self) -> tuple[KeyPair, int]:
        private = await self._backend.get(_META, _IDENTITY)
        registration = await self._backend.get(_META, _REGISTRATION)
        if private is not None and registration is not None:
            return KeyPair.from_private(private), int(registration.decode())
        identity = KeyPair.generate()
        registration_id = secrets.randbelow(16380) + 1
        await self._backend.put(_META, _IDENTITY, identity.private)
        await self._backend.put(_META, _REGISTRATION, str(registration_id).encode())
        return identity, registration_id

    async def _register(self, identity: KeyPair, registration_id: int) -> None:
        """The service's record of the device: created once (with the account's next key
        index), brought back if the business had switched its hosted device off."""
        network, account = self._network, self.account
        existing = network.directory.device(self._jid)
        if existing is not None:
            if existing.logged_out:
                existing.logged_out = False
                await network.state.save_device(existing)
            return
        device = Device(
            phone_user=account.phone_user,
            device_id=HOSTED_DEVICE_ID,
            identity_public=identity.public,
            registration_id=registration_id,
            key_index=account.next_key_index,
            platform="hosted",
            push_name=account.push_name,
            created_at=network.now(),
        )
        account.next_key_index += 1
        network.directory.add_device(device)
        async with network.state.transaction():
            await network.state.save_account(account)
            await network.state.save_device(device)

    # --- Endpoint ------------------------------------------------------------------------------

    async def deliver(self, node: Node) -> None:
        self.stanzas.append(node)
        await self._link.deliver(node)

    # --- keys and sessions ---------------------------------------------------------------------

    def _signal(self) -> tuple[PhoneSignalStore, KeyPair]:
        if self._store is None or self._identity is None:
            raise HostedDeviceError("the hosted device is not started")
        return self._store, self._identity

    async def _refill_prekeys(self) -> None:
        store, identity = self._signal()
        if cs.parse_prekey_count(await self._link.iq(cs.prekey_count_iq)) >= MIN_PREKEYS:
            return
        start = await store.allocate_prekey_ids(PREKEY_BATCH)
        prekeys = generate_prekeys(start, PREKEY_BATCH)
        await store.store_prekeys(prekeys)
        signed = await store.load_signed_prekey(SIGNED_PREKEY_ID)
        if signed is None:
            raise HostedDeviceError("the hosted device has no signed prekey")
        answer = await self._link.iq(
            lambda iq_id: cs.prekey_upload_iq(
                iq_id,
                registration_id=self._registration_id,
                identity_public=identity.public,
                prekeys=prekeys,
                signed_prekey=signed,
            )
        )
        if answer.attr_str("type") != "result":
            raise HostedDeviceError("the server refused the hosted device's prekeys")

    def _address(self, device: JID) -> ProtocolAddress:
        """Sessions under the peer's LID device address, whichever form a stanza used."""
        lid = self._network.directory.to_lid(device)
        return ProtocolAddress.from_jid(lid if lid is not None else device)

    # --- sending -------------------------------------------------------------------------------

    async def send_text(self, to: JID, text: str) -> str:
        """A 1:1 text from the business, sent by its hosted device; returns its id."""
        network = self._network
        peer = network.directory.account_of(to.to_non_ad())
        if peer is None or peer.phone_user == self.account.phone_user:
            raise HostedDeviceError(f"{to} is not another account")
        store, _ = self._signal()
        sessions = SessionCipher(store)
        message_id = new_message_id(self.account.phone_user, network.now())
        body = wa_e2e_pb2.Message(conversation=text).SerializeToString()
        async with self._lock:
            answer = await self._link.iq(lambda iq_id: cs.usync_devices_iq(iq_id, [peer.lid]))
            devices = [d for u in cs.parse_usync_devices(answer) for d in u.device_jids()]
            await self._ensure_sessions(sessions, devices)
            fanout: dict[JID, Node] = {}
            for device in devices:
                address = self._address(device)
                if not await sessions.has_session(address):
                    continue
                encrypted = await sessions.encrypt(address, pad(body))
                kind = EncType(encrypted.message.type)
                fanout[device] = cs.enc_node(cs.EncNode(kind, encrypted.message.body))
            if not fanout:
                raise HostedDeviceError(f"{to} has no device the hosted device can reach")
            token = token_node(network.rules, self.account, peer, network.now())
            node = cs.message_stanza(
                message_id,
                peer.lid,
                "text",
                fanout=fanout,
                content=[token] if token is not None else (),
                attrs={"peer_recipient_pn": peer.pn},
            )
            ack = await self._link.request("ack", message_id, node)
        if error := ack.attr_str("error"):
            raise HostedDeviceError(f"the server refused message {message_id}: error {error}")
        self._sent[message_id] = (ack.attr_int("t") or network.now(), body)
        while len(self._sent) > MAX_SENT_KEPT:
            self._sent.popitem(last=False)
        return message_id

    async def _ensure_sessions(
        self, sessions: SessionCipher, devices: list[JID], *, force: bool = False
    ) -> None:
        missing = [d for d in devices if force or not await sessions.has_session(self._address(d))]
        if not missing:
            return
        bundles = cs.parse_prekey_bundles(
            await self._link.iq(lambda iq_id: cs.prekey_fetch_iq(iq_id, missing))
        )
        for jid, bundle in bundles.items():
            try:
                await sessions.process_bundle(self._address(jid), bundle)
            except (InvalidSignatureError, InvalidKeyError, UntrustedIdentityError) as exc:
                log.warning("sandbox.hosted.bad_bundle", device=str(jid), error=str(exc))

    # --- receiving -----------------------------------------------------------------------------

    async def _handle(self, node: Node) -> None:
        if node.tag == "message":
            await self._on_message(node)
        elif node.tag == "notification":
            await self._link.submit(cs.ack(node))
            if node.attr_str("type") == "encrypt" and node.child("count") is not None:
                async with self._lock:
                    await self._refill_prekeys()
        elif node.tag == "receipt":
            await self._link.submit(cs.ack(node))
            if node.attr_str("type") == "retry":
                await self._answer_retry(node)

    async def _on_message(self, node: Node) -> None:
        try:
            incoming = cs.parse_incoming_message(node)
        except cs.StanzaError as exc:
            log.warning("sandbox.hosted.bad_message", error=str(exc))
            await self._link.submit(cs.ack(node, error=487))
            return
        if incoming.is_group:
            log.warning("sandbox.hosted.group_message", id=incoming.message_id)
            await self._link.submit(cs.ack(node))
            return
        async with self._lock:
            try:
                content = await self._decrypt(incoming)
            except DuplicateMessageError:
                content = None
            except (SignalError, ProtoDecodeError, cs.StanzaError) as exc:
                await self._ask_retry(incoming, exc)
                return
        to = incoming.raw_from or incoming.sender
        await self._link.submit(cs.receipt([incoming.message_id], to))
        self._retries.pop(incoming.message_id, None)
        if content is not None:
            self._accept(incoming, content)

    async def _decrypt(self, incoming: cs.IncomingMessage) -> wa_e2e_pb2.Message | None:
        store, _ = self._signal()
        sessions = SessionCipher(store)
        address = self._address(incoming.sender)
        content: wa_e2e_pb2.Message | None = None
        for enc in incoming.encs:
            if enc.kind is EncType.SKMSG:
                raise cs.StanzaError("a sender-key message reached a hosted device")
            plaintext = (await sessions.decrypt(address, enc.kind, enc.body)).plaintext
            content = wa_e2e_pb2.Message.FromString(unpad(plaintext))
        return content

    async def _answer_retry(self, node: Node) -> None:
        """Encrypts a message again for the one device that could not decrypt it: on the
        keys it sent, or on a fresh bundle from the second try on."""
        try:
            request = cs.parse_retry_receipt(node)
        except (cs.StanzaError, SignalError) as exc:
            log.warning("sandbox.hosted.bad_retry", error=str(exc))
            return
        sent = self._sent.get(request.message_id)
        if sent is None or request.count > MAX_RETRIES:
            log.info("sandbox.hosted.retry_ignored", message=request.message_id)
            return
        timestamp, body = sent
        store, _ = self._signal()
        sessions = SessionCipher(store)
        device = request.requester
        address = self._address(device)
        async with self._lock:
            if request.bundle is not None:
                await sessions.process_bundle(address, request.bundle)
            elif request.count > 1:
                await self._ensure_sessions(sessions, [device], force=True)
            encrypted = await sessions.encrypt(address, pad(body))
            kind = EncType(encrypted.message.type)
            enc = cs.enc_node(cs.EncNode(kind, encrypted.message.body, request.count))
            attrs: dict[str, str | JID] = {"t": str(timestamp), "device_fanout": "false"}
            await self._link.submit(
                cs.message_stanza(request.message_id, device, "text", content=[enc], attrs=attrs)
            )

    async def _ask_retry(self, incoming: cs.IncomingMessage, error: Exception) -> None:
        store, identity = self._signal()
        count = self._retries.get(incoming.message_id, 0) + 1
        log.info("sandbox.hosted.decrypt_failed", message=incoming.message_id, error=repr(error))
        if count > MAX_RETRIES:
            self._retries.pop(incoming.message_id, None)
            source = incoming.raw_from or incoming.sender
            stanza = Node("message", {"id": incoming.message_id, "from": source})
            await self._link.submit(cs.ack(stanza, error=500))
            return
        self._retries[incoming.message_id] = count
        keys = None
        if count > 1 or isinstance(error, (NoSessionForMessageError, MissingPreKeyError)):
            start = await store.allocate_prekey_ids(1)
            [prekey] = generate_prekeys(start, 1)
            await store.store_prekeys([prekey])
            signed = await store.load_signed_prekey(SIGNED_PREKEY_ID)
            if signed is not None:
                keys = (identity.public, prekey, signed)
        await self._link.submit(
            cs.retry_receipt(
                incoming, count=count, registration_id=self._registration_id, keys=keys
            )
        )

    def _accept(self, incoming: cs.IncomingMessage, content: wa_e2e_pb2.Message) -> None:
        directory = self._network.directory
        chat = directory.to_pn(incoming.chat.to_non_ad()) or incoming.chat.to_non_ad()
        key = (chat, incoming.message_id)
        if key in self._seen:
            return
        self._seen.add(key)
        text = content.conversation or content.extendedTextMessage.text
        self._received.append(
            PhoneMessage(
                id=incoming.message_id,
                chat=chat,
                sender=directory.to_pn(incoming.sender) or incoming.sender,
                timestamp=incoming.timestamp,
                kind="text" if text else "other",
                text=text,
            )
        )
