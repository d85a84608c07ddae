"""The server side of registering a new companion: QR refs, pair codes, pair-success, 515.

A registration socket (a client that connected without ``username``) gets six refs in
``pair-device``; the phone that scans one of them calls ``complete_qr``, which sends
``pair-success`` to that socket, waits for ``pair-device-sign``, checks the companion's device
signature, stores the device and ends the socket with ``stream:error code=515``. For a pair
code the companion announces itself with ``link_code_companion_reg stage=companion_hello``; the
phone calls ``confirm_code``, which runs the primary's side of the code exchange and then the
same pair-success path with the ADV secret both sides derived.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import structlog

from daemon.binary import SERVER_JID, Node
from daemon.crypto import pair_code
from daemon.crypto.adv import sign_companion, verify_device_signature
from daemon.crypto.curve import KeyPair
from sandbox.directory import Account, Device, SignedPreKey
from sandbox.passkey import passkey_request
from sandbox.stanzas import iq_error, iq_result, new_server_id

if TYPE_CHECKING:
    from sandbox.network import Network

log = structlog.get_logger("sandbox.pairing")

REF_COUNT = 6
"""The real server sends six refs; whatsmeow only gives the first QR 60 s when there are six."""
SIGN_TIMEOUT = 30.0
"""Seconds to wait for pair-device-sign (and for companion_finish in code pairing)."""


class PairingFailed(Exception):
    """The pairing could not complete; ``reason`` says why (also what the admin API returns)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RegistrationLink(Protocol):
    """The socket of a device that is registering (implemented by the connection)."""

    async def send(self, node: Node) -> None: ...

    async def restart(self) -> None:
        """Send ``stream:error code=515`` and close: the companion reconnects and logs in."""


@dataclass(slots=True)
class _PendingCode:
    """A companion_hello waiting for the phone to confirm the code."""

    phone_user: str
    wrapped_companion_ephemeral: bytes
    ref: bytes
    finish: asyncio.Future[Node] | None = None


@dataclass(slots=True)
class Registration:
    """One registration socket, from its ClientPayload's devicePairingData."""

    link: RegistrationLink
    noise_public: bytes
    identity_public: bytes
    registration_id: int
    signed_prekey: SignedPreKey
    platform: str
    push_name: str
    refs: list[str] = field(default_factory=list)
    code: _PendingCode | None = None
    busy: bool = False
    """A pairing is under way: a second scan must not start another."""
    closed: bool = False
    waiting: dict[str, asyncio.Future[Node]] = field(default_factory=dict)


class PairingDesk:
    """Pending registrations by ref and by phone number, and the pairing procedures."""

    def __init__(self, network: Network) -> None:
        self._network = network
        self._by_ref: dict[str, Registration] = {}
        self._by_phone: dict[str, Registration] = {}

    # The registration socket's side

    def open(self, registration: Registration) -> list[str]:
        """Registers a new socket and returns the refs to put in pair-device."""
        registration.refs = [f"2@{secrets.token_urlsafe(36)}" for _ in range(REF_COUNT)]
        for ref in registration.refs:
            self._by_ref[ref] = registration
        return registration.refs

    def close(self, registration: Registration) -> None:
        registration.closed = True
        for ref in registration.refs:
            self._by_ref.pop(ref, None)
        if registration.code is not None:
            self._by_phone.pop(registration.code.phone_user, None)
            if registration.code.finish is not None and not registration.code.finish.done():
                registration.code.finish.cancel()
        for waiter in registration.waiting.values():
            if not waiter.done():
                waiter.cancel()

    def registration_for_ref(self, ref: str) -> Registration | None:
        return self._by_ref.get(ref)

    def pending_push_name(self, ref: str) -> str:
        """The push name the registering device gave, if any (for accounts made on the fly)."""
        registration = self._by_ref.get(ref)
        return registration.push_name if registration is not None else ""

    async def handle(self, registration: Registration, node: Node) -> None:
        """A stanza read from a registration socket."""
        if node.tag == "iq":
            kind = node.attr_str("type")
            if kind in ("result", "error"):
                waiter = registration.waiting.pop(node.attr_str("id") or "", None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(node)
                return
            reg = node.child("link_code_companion_reg")
            if reg is not None and node.attr_str("xmlns") == "md":
                await self._link_code_stage(registration, node, reg)
                return
            # Keepalives and anything else an unpaired client asks: a bare result.
            await registration.link.send(iq_result(node))
        # acks, ib (unified_session) and the rest need no answer before pairing.

    async def _link_code_stage(self, registration: Registration, iq: Node, reg: Node) -> None:
        stage = reg.attr_str("stage")
        if stage == "companion_hello":
            await self._companion_hello(registration, iq, reg)
        elif stage == "companion_finish":
            pending = registration.code
            ref = _child_bytes(reg, "link_code_pairing_ref")
            if pending is None or pending.finish is None or ref != pending.ref:
                await registration.link.send(iq_error(iq, 400, "bad-request"))
                return
            await registration.link.send(iq_result(iq))
            if not pending.finish.done():
                pending.finish.set_result(reg)
        else:
            await registration.link.send(iq_error(iq, 400, "bad-request"))

    async def _companion_hello(self, registration: Registration, iq: Node, reg: Node) -> None:
        jid = reg.attr_jid("jid")
        wrapped = _child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")
        if jid is None or not jid.user.isdigit() or wrapped is None or len(wrapped) < 80:
            await registration.link.send(iq_error(iq, 400, "bad-request"))
            return
        ref = secrets.token_urlsafe(24).encode()
        previous = self._by_phone.get(jid.user)
        if previous is not None and previous is not registration:
            previous.code = None
        registration.code = _PendingCode(jid.user, wrapped, ref)
        self._by_phone[jid.user] = registration
        answer = Node("link_code_companion_reg", {}, [Node("link_code_pairing_ref", {}, ref)])
        await registration.link.send(iq_result(iq, [answer]))

    # The phone's side

    async def complete_qr(
        self,
        ref: str,
        account: Account,
        device_identity_container: bytes,
        key_index: int,
        platform: str,
    ) -> Device:
        """Sends pair-success (the phone's signed ADV container) to the socket that showed
        ``ref``, waits for pair-device-sign, checks it and stores the new device."""
        registration = self._by_ref.get(ref)
        if registration is None or registration.closed:
            raise PairingFailed("unknown or expired QR ref")
        return await self._pair(
            registration, account, device_identity_container, key_index, platform
        )

    async def confirm_code(self, account: Account, code: str) -> Device:
        """The phone typed ``code``: runs the primary's side of the code exchange, then pairs."""
        registration = self._by_phone.get(account.phone_user)
        pending = registration.code if registration is not None else None
        if registration is None or pending is None or registration.closed:
            raise PairingFailed(f"no device is waiting for a pair code for {account.phone_user}")
        try:
            companion_ephemeral = pair_code.unwrap_ephemeral(
                code, pending.wrapped_companion_ephemeral
            )
            primary_ephemeral = KeyPair.generate()
            wrapped_primary = pair_code.wrap_ephemeral(code, primary_ephemeral.public)
        except pair_code.PairCodeError as exc:
            raise PairingFailed(f"bad pair code: {exc}") from exc
        pending.finish = asyncio.get_running_loop().create_future()
        notification = Node(
            "notification",
            {
                "from": SERVER_JID,
                "type": "link_code_companion_reg",
                "id": new_server_id(),
                "t": str(self._network.now()),
            },
            [
                Node(
                    "link_code_companion_reg",
                    {"stage": "primary_hello"},
                    [
                        Node("link_code_pairing_ref", {}, pending.ref),
                        Node("primary_identity_pub", {}, account.identity.public),
                        Node(
                            "link_code_pairing_wrapped_primary_ephemeral_pub", {}, wrapped_primary
                        ),
                    ],
                )
            ],
        )
        await registration.link.send(notification)
        try:
            async with asyncio.timeout(SIGN_TIMEOUT):
                finish = await pending.finish
        except (TimeoutError, asyncio.CancelledError) as exc:
            raise PairingFailed("the companion did not finish the code exchange") from exc
        bundle = _child_bytes(finish, "link_code_pairing_wrapped_key_bundle")
        companion_identity = _child_bytes(finish, "companion_identity_public")
        if bundle is None or companion_identity is None:
            raise PairingFailed("companion_finish is missing its key bundle or identity")
        if companion_identity != registration.identity_public:
            raise PairingFailed("companion_finish names another identity than registration")
        try:
            # A wrong code gives a wrong ephemeral key here, so the bundle does not open.
            opened = pair_code.primary_open_bundle(
                primary_ephemeral, account.identity, companion_ephemeral, bundle, companion_identity
            )
        except pair_code.PairCodeError as exc:
            raise PairingFailed(f"key bundle rejected: {exc}") from exc
        registration.code = None
        self._by_phone.pop(account.phone_user, None)
        key_index = account.next_key_index
        container = sign_companion(
            account.identity,
            opened.companion_identity_public,
            opened.adv_secret,
            raw_id=_raw_id(account),
            key_index=key_index,
            timestamp=self._network.now(),
        )
        return await self._pair(registration, account, container, key_index, "android")

    async def _pair(
        self,
        registration: Registration,
        account: Account,
        container: bytes,
        key_index: int,
        platform: str,
    ) -> Device:
        if registration.busy:
            raise PairingFailed("this device is already being paired")
        if self._network.passkeys.requires(account.phone_user):
            # The service wants a passkey assertion before it links anything.
            await registration.link.send(passkey_request(self._network.now()))
            raise PairingFailed(f"{account.phone_user} requires a passkey to link a device")
        registration.busy = True
        try:
            return await self._pair_once(registration, account, container, key_index, platform)
        finally:
            registration.busy = False

    async def _pair_once(
        self,
        registration: Registration,
        account: Account,
        container: bytes,
        key_index: int,
        platform: str,
    ) -> Device:
        network = self._network
        directory = network.directory
        device_id = directory.reserve_device_id(account.phone_user)
        try:
            return await self._sign_and_store(
                registration, account, container, key_index, platform, device_id
            )
        finally:
            directory.release_device_id(account.phone_user, device_id)

    async def _sign_and_store(
        self,
        registration: Registration,
        account: Account,
        container: bytes,
        key_index: int,
        platform: str,
        device_id: int,
    ) -> Device:
        network = self._network
        iq_id = new_server_id()
        waiter: asyncio.Future[Node] = asyncio.get_running_loop().create_future()
        registration.waiting[iq_id] = waiter
        success = Node(
            "iq",
            {
                "from": SERVER_JID,
                "type": "set",
                "id": iq_id,
                "t": str(network.now()),
                "xmlns": "md",
            },
            [
                Node(
                    "pair-success",
                    {},
                    [
                        Node("device-identity", {}, container),
                        Node("platform", {"name": platform}),
                        Node(
                            "device",
                            {
                                "jid": account.pn_device(device_id),
                                "lid": account.lid_device(device_id),
                            },
                        ),
                    ],
                )
            ],
        )
        await registration.link.send(success)
        try:
            async with asyncio.timeout(SIGN_TIMEOUT):
                answer = await waiter
        except (TimeoutError, asyncio.CancelledError) as exc:
            registration.waiting.pop(iq_id, None)
            raise PairingFailed("the companion did not answer pair-success") from exc
        if answer.attr_str("type") == "error":
            error = answer.child("error")
            text = error.attr_str("text") if error is not None else None
            raise PairingFailed(f"the companion refused pair-success: {text or 'error'}")
        identity_node = answer.child("pair-device-sign", "device-identity")
        reply = identity_node.content_bytes() if identity_node is not None else None
        if identity_node is None or reply is None:
            raise PairingFailed("pair-device-sign carries no device-identity")
        if not verify_device_signature(
            reply, registration.identity_public, account.identity.public
        ):
            raise PairingFailed("the companion's device signature does not verify")
        device = Device(
            phone_user=account.phone_user,
            device_id=device_id,
            identity_public=registration.identity_public,
            registration_id=registration.registration_id,
            noise_public=registration.noise_public,
            signed_prekey=registration.signed_prekey,
            key_index=key_index,
            platform=registration.platform,
            push_name=registration.push_name,
            adv_identity=reply,
            created_at=network.now(),
        )
        network.directory.add_device(device)
        account.next_key_index = max(account.next_key_index, key_index + 1)
        async with network.state.transaction():
            await network.state.save_device(device)
            await network.state.save_account(account)
        self.close(registration)
        log.info("sandbox.paired", device=str(device.jid()))
        await registration.link.restart()
        return device


def _raw_id(account: Account) -> int:
    # ADVDeviceIdentity.rawID identifies the account's device list; any stable number works.
    return int(account.lid_user[-9:])


def _child_bytes(node: Node, tag: str) -> bytes | None:
    child = node.child(tag)
    return child.content_bytes() if child is not None else None
