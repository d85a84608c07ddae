"""The sandbox's routing core: one ``Network`` per running server.

Everything that takes part in the simulated WhatsApp network is an ``Endpoint`` attached under a
device JID: a websocket connection of a companion, or an account's simulated phone (device 0).
Stanzas *from* a device enter through ``Network.submit`` (a socket connection calls it for every
stanza it reads; the phone calls it for every stanza it "sends"), and stanzas *to* a device
leave through ``Network.deliver``, which hands them to the attached endpoint or queues them
offline. The server side of pairing lives in ``network.pairing``; the phones live in
``network.phones`` by account phone user.

This module is the contract between the core and ``sandbox/phone`` (whose
``phone_factory()`` is the default ``PhoneFactory``); keep it small and stable.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from daemon.binary import JID, Node
from daemon.crypto.curve import KeyPair
from sandbox.directory import Account, Device, Directory, DirectoryError, lid_for_phone
from sandbox.logins import LoginLog

if TYPE_CHECKING:
    from sandbox.app_state import AppStateServer
    from sandbox.faults import Faults, Socket
    from sandbox.groups import GroupBook
    from sandbox.media import MediaStore
    from sandbox.offline import OfflineQueue
    from sandbox.pairing import PairingDesk
    from sandbox.profiles import ProfilePictures
    from sandbox.state import SandboxState

log = structlog.get_logger("sandbox.network")

DELIVERY_LOG_SIZE = 1000

__all__ = [
    "Endpoint",
    "HostedDeviceFactory",
    "HostedEndpoint",
    "LoginHook",
    "Network",
    "Phone",
    "PhoneFactory",
    "PhoneMedia",
    "PhoneMessage",
    "PhoneStore",
]


class Endpoint(Protocol):
    """Something stanzas are delivered to: a socket connection or a simulated phone."""

    acks_required: bool
    """Whether its peer acks what it receives (a socket), so that a stanza sent to it stays
    owed until acked; an in-process phone cannot lose a stanza. A plain attribute, not a
    runtime protocol check: every delivery reads it."""

    async def deliver(self, node: Node) -> None: ...


class PhoneStore(Protocol):
    """Persistent key-value storage for one phone's own state (Signal records, settings).

    ``namespace`` groups keys ("session", "prekey", "identity", ...); values are opaque bytes
    the phone serializes itself. Survives a sandbox restart.
    """

    async def get(self, namespace: str, key: str) -> bytes | None: ...

    async def put(self, namespace: str, key: str, value: bytes) -> None: ...

    async def delete(self, namespace: str, key: str) -> None: ...

    async def items(self, namespace: str) -> dict[str, bytes]: ...


@dataclass(frozen=True, slots=True)
class PhoneMedia:
    """The attachment of a media message a phone received, as it downloaded it."""

    media_type: str
    """"image", "video", "audio", "ptt", "document" or "sticker"."""
    mimetype: str
    sha256: str
    """Hex SHA-256 of the decrypted bytes (empty when the download failed)."""
    length: int
    file_name: str = ""
    error: str = ""
    """Why the download or its checks failed; empty when the bytes verified."""
    direct_path: str = ""
    """Where the blob is on the media host: the same for every message announcing one
    upload (a forward, or a campaign's file)."""


@dataclass(frozen=True, slots=True)
class PhoneMessage:
    """One message a phone received and decrypted: what the admin API shows."""

    id: str
    chat: JID
    """The 1:1 peer (account JID) or the group."""
    sender: JID
    """The sending device."""
    timestamp: int
    kind: str
    """"text", "reply", "reaction", "edit", "revoke", "media", "location", "contact",
    "protocol" or "other"."""
    text: str = ""
    """The text, or a media message's caption."""
    quoted_id: str = ""
    """The message a reply or reaction refers to."""
    media: PhoneMedia | None = None
    """What the phone downloaded for a media message."""
    enc_media_type: str = ""
    """The ``mediatype`` of the ``enc`` it came in (a sender sets it on media, retries too)."""


class Phone(Protocol):
    """An account's simulated primary phone, as the core and the admin API use it."""

    account: Account

    @property
    def messages_received(self) -> list[PhoneMessage]: ...

    auto_reply: bool
    """When set, the phone answers every text it receives with ``echo: <text>``."""

    async def start(self) -> None:
        """Load or create its Signal state, attach as device 0 and upload its prekeys."""

    async def stop(self) -> None: ...

    async def scan_qr(self, qr: str) -> Device: ...

    async def confirm_pair_code(self, code: str) -> Device: ...

    async def send_text(self, to: JID, text: str) -> str:
        """Sends a text to a user (all their devices, and our own companions); returns its id."""

    async def send_reply(self, to: JID, text: str, quoted_id: str) -> str: ...

    async def send_reaction(self, to: JID, message_id: str, emoji: str) -> str: ...

    async def send_group_text(self, group: JID, text: str) -> str: ...

    async def mark_read(self, chat: JID, message_ids: list[str]) -> None: ...


class HostedEndpoint(Protocol):
    """A business account's hosted (Cloud API) device, as the core and the admin API use it."""

    account: Account
    stanzas: list[Node]
    """Every stanza the service delivered to the device."""

    @property
    def messages_received(self) -> list[PhoneMessage]: ...

    async def start(self) -> None:
        """Load or create its identity and device record, attach as device 99, upload
        prekeys."""

    async def stop(self) -> None: ...

    async def send_text(self, to: JID, text: str) -> str:
        """A 1:1 text from the business through its hosted device; returns its id."""


HostedDeviceFactory = Callable[[Account, "Network"], HostedEndpoint]
"""Builds the (not yet started) hosted device of a business account."""

PhoneFactory = Callable[[Account, "Network"], Phone]
"""Builds the (not yet started) phone of an account; ``Network.add_phone`` starts it."""

LoginHook = Callable[[Device, bool], Awaitable[None]]
"""Called after a companion's ``<success>`` was sent: (device, first_login)."""


class Network:
    """Directory, attached endpoints, routing and pairing of one running sandbox."""

    def __init__(
        self,
        directory: Directory,
        state: SandboxState,
        *,
        phone_factory: PhoneFactory | None = None,
        hosted_device_factory: HostedDeviceFactory | None = None,
        clock: Callable[[], float] = time.time,
        logins: LoginLog | None = None,
    ) -> None:
        from sandbox.app_state import AppStateServer
        from sandbox.calls import CallDesk
        from sandbox.client_version import VersionPolicy
        from sandbox.faults import Faults
        from sandbox.groups import GroupBook
        from sandbox.media import MediaStore
        from sandbox.offline import OfflineQueue
        from sandbox.pairing import PairingDesk
        from sandbox.passkey import PasskeyPolicy
        from sandbox.profiles import ProfilePictures
        from sandbox.routing import Router
        from sandbox.service_rules import ServiceRules
        from storage.sandbox_rules import SandboxRulesStore

        self.directory = directory
        self.state = state
        self.clock = clock
        self.phone_factory = phone_factory
        self.phones: dict[str, Phone] = {}
        self.on_device_login: list[LoginHook] = []
        self.logins = LoginLog() if logins is None else logins
        """Every companion login with its time (the server's record survives restarts)."""
        self.pairing: PairingDesk = PairingDesk(self)
        self.faults: Faults = Faults(self)
        self.offline: OfflineQueue = OfflineQueue(self)
        self.media: MediaStore = MediaStore(state)
        self.app_state: AppStateServer = AppStateServer(self)
        self.groups: GroupBook = GroupBook()
        self.pictures: ProfilePictures = ProfilePictures(self)
        self.calls: CallDesk = CallDesk(self)
        self.versions: VersionPolicy = VersionPolicy()
        self.passkeys: PasskeyPolicy = PasskeyPolicy()
        self.rules: ServiceRules = ServiceRules(SandboxRulesStore(state.db))
        """The 2026 service rules (LID-first DMs, privacy tokens, restrictions) per account."""
        self.sockets: set[Socket] = set()
        """Every live client socket, logged in or registering (fault injection uses it)."""
        self.media_host = "127.0.0.1"
        """host[:port] that media_conn announces; the server sets it once it listens."""
        self._endpoints: dict[JID, list[Endpoint]] = {}
        self._router = Router(self)
        self._tasks: set[asyncio.Task[None]] = set()
        self.hosted_device_factory = hosted_device_factory
        self.hosted_devices: dict[str, HostedEndpoint] = {}
        """Running hosted (Cloud API) devices of business accounts, by account phone user."""
        self.hosted_group_parts: dict[str, int] = {}
        """Group sends that addressed an account's hosted device (never delivered)."""
        self.delivery_log: dict[JID, collections.deque[Node]] = {}
        """The last stanzas each device's socket was sent (the admin API shows them)."""

    def now(self) -> int:
        return int(self.clock())

    def record_delivery(self, device: JID, node: Node) -> None:
        log_ = self.delivery_log.get(device)
        if log_ is None:
            log_ = self.delivery_log[device] = collections.deque(maxlen=DELIVERY_LOG_SIZE)
        log_.append(node)

    # Endpoints

    def attach(self, device: JID, endpoint: Endpoint) -> None:
        """``device`` is the AD JID in PN form, e.g. ``15551234567:0@s.whatsapp.net``."""
        self._endpoints.setdefault(self._key(device), []).append(endpoint)

    def detach(self, device: JID, endpoint: Endpoint) -> None:
        key = self._key(device)
        attached = self._endpoints.get(key, [])
        if endpoint in attached:
            attached.remove(endpoint)
        if not attached:
            self._endpoints.pop(key, None)

    def endpoint(self, device: JID) -> Endpoint | None:
        """The device's first attached endpoint (the one deliveries go to), if any."""
        attached = self._endpoints.get(self._key(device))
        return attached[0] if attached else None

    def is_online(self, device: JID) -> bool:
        return bool(self._endpoints.get(self._key(device)))

    def _key(self, device: JID) -> JID:
        pn = self.directory.to_pn(device)
        return pn if pn is not None else JID(device.user, device.server, device.device)

    # Stanzas

    async def submit(self, sender: JID, node: Node) -> None:
        """A stanza from device ``sender``, handled exactly like one read from its socket."""
        await self._router.handle(self._key(sender), node)

    async def deliver(self, device: JID, node: Node, *, queue: bool = True) -> bool:
        """Hands ``node`` to the device's endpoint; queues it offline when none is attached
        (and ``queue``). Returns True when it was handed over right away."""
        key = self._key(device)

        async def send(endpoint: Endpoint, stanza: Node) -> None:
            await self.faults.deliver_through(key, endpoint, stanza)

        return await self.offline.deliver(key, node, queue=queue, send=send)

    async def notify_login(self, device: Device, first_login: bool) -> None:
        for hook in list(self.on_device_login):
            try:
                await hook(device, first_login)
            except Exception:
                log.exception("sandbox.login_hook_failed", device=str(device.jid()))
        if first_login and not device.is_phone:
            # Others learn of the new device once its phone has welcomed it.
            from sandbox.device_lists import announce

            await announce(self, device, added=True)

    # Accounts and phones

    async def create_account(
        self,
        phone_user: str,
        *,
        push_name: str = "",
        lid_user: str | None = None,
        identity: KeyPair | None = None,
        enforcing: bool = True,
        hosted: bool = False,
    ) -> Account:
        """Creates (and persists) an account with its phone, and starts the phone.
        ``enforcing``: the service holds the account's traffic to the 2026 rules
        (``sandbox.service_rules``); off only for legacy clients such as Baileys' harness.
        ``hosted``: a business with a hosted (Cloud API) device besides its phone."""
        if not phone_user.isdigit() or not 5 <= len(phone_user) <= 20:
            raise DirectoryError(f"a phone number is 5 to 20 digits, got {phone_user!r}")
        if self.directory.find_account(phone_user) is not None:
            raise DirectoryError(f"account {phone_user} already exists")
        identity = identity or KeyPair.generate()
        account = Account(
            phone_user=phone_user,
            lid_user=lid_user or lid_for_phone(phone_user),
            push_name=push_name or f"Phone {phone_user[-4:]}",
            identity=identity,
            registration_id=secrets.randbelow(16380) + 1,
            created_at=self.now(),
        )
        phone_device = Device(
            phone_user=phone_user,
            device_id=0,
            identity_public=identity.public,
            registration_id=account.registration_id,
            platform="android",
            push_name=account.push_name,
            created_at=account.created_at,
        )
        self.directory.add_account(account, phone_device)
        await self.state.save_account(account)
        await self.state.save_device(phone_device)
        await self.rules.set_enforcing(account.phone_user, enforcing)
        await self.add_phone(account)
        if hosted:
            await self.set_hosted(account, True)
        return account

    async def set_hosted(self, account: Account, on: bool) -> HostedEndpoint | None:
        """Gives a business account its hosted (Cloud API) device (its identity made once and
        kept), or takes it away (the device record is marked logged out)."""
        running = self.hosted_devices.pop(account.phone_user, None)
        if running is not None:
            await running.stop()
        if not on:
            device = self.directory.hosted_device(account.phone_user)
            if device is not None:
                device.logged_out = True
                await self.state.save_device(device)
            return None
        if self.hosted_device_factory is None:
            raise DirectoryError("this sandbox runs without simulated devices")
        hosted = self.hosted_device_factory(account, self)
        self.hosted_devices[account.phone_user] = hosted
        await hosted.start()
        return hosted

    async def add_phone(self, account: Account) -> Phone | None:
        """Builds and starts the phone of ``account`` (no-op without a phone factory)."""
        if self.phone_factory is None or account.phone_user in self.phones:
            return self.phones.get(account.phone_user)
        phone = self.phone_factory(account, self)
        self.phones[account.phone_user] = phone
        await phone.start()
        return phone

    def phone_store(self, account_user: str) -> PhoneStore:
        return self.state.phone_store(account_user)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Runs ``coro`` in the background, tracked so ``close`` can cancel it."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for hosted in list(self.hosted_devices.values()):
            try:
                await hosted.stop()
            except Exception:
                log.exception("sandbox.hosted_stop_failed", account=hosted.account.phone_user)
        self.hosted_devices.clear()
        for phone in list(self.phones.values()):
            try:
                await phone.stop()
            except Exception:
                log.exception("sandbox.phone_stop_failed", account=phone.account.phone_user)
        self.phones.clear()
        await self.faults.cancel_pending()
        await self.offline.flush_all()
