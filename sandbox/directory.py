"""Accounts and devices the sandbox knows: who exists, under which JIDs, with which keys.

An account is one phone number with its LID and the primary's identity key pair (the "account
key" that signs companions). Device 0 of every account is its simulated phone; companions get
1, 2, ... A business account may also have a hosted (Cloud API) device: always device
``HOSTED_DEVICE_ID`` (99), named ``<pn>:99@hosted`` / ``<lid>:99@hosted.lid`` and never a plain
``@s.whatsapp.net`` / ``@lid`` device (Baileys rejects device 99 on those servers). Every device
record holds what other clients fetch about it: identity key,
registration id, signed prekey, one-time prekeys, key index. Companions also carry the Noise
static key they log in with.

The directory is the in-memory view; ``sandbox.state`` persists every change.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from daemon.binary import JID, Server
from daemon.crypto.curve import KeyPair

HOSTED_DEVICE_ID = 99
"""The device id of a business's hosted (Cloud API) device (Baileys lid-mapping, libsignal)."""


# JIDs are immutable and checked on construction; routing and the phones name the same few
# devices for every stanza, so each is built once.
@functools.lru_cache(maxsize=65536)
def device_jid(user: str, device_id: int, *, lid: bool) -> JID:
    """A device of an account under its PN or LID user; device 99 lives on the hosted servers."""
    if device_id == HOSTED_DEVICE_ID:
        return JID(user, Server.HOSTED_LID if lid else Server.HOSTED, device_id)
    return JID(user, Server.LID if lid else Server.PN, device_id)


class DirectoryError(LookupError):
    """An account or device that does not exist, or one that already does."""


@dataclass(frozen=True, slots=True)
class SignedPreKey:
    key_id: int
    public: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class PreKey:
    key_id: int
    public: bytes


@dataclass(slots=True)
class Account:
    """One WhatsApp account: a phone number, its LID and the primary's identity key pair."""

    phone_user: str
    lid_user: str
    push_name: str
    identity: KeyPair
    """The primary phone's Signal identity; it is also the ADV account signing key."""
    registration_id: int
    """The primary phone's Signal registration id."""
    next_key_index: int = 1
    """ADV key index the phone gives the next companion (ADVDeviceIdentity.keyIndex)."""
    created_at: int = 0

    @property
    def pn(self) -> JID:
        return device_jid(self.phone_user, 0, lid=False)

    @property
    def lid(self) -> JID:
        return device_jid(self.lid_user, 0, lid=True)

    def pn_device(self, device_id: int) -> JID:
        return device_jid(self.phone_user, device_id, lid=False)

    def lid_device(self, device_id: int) -> JID:
        return device_jid(self.lid_user, device_id, lid=True)


@dataclass(slots=True)
class Device:
    """One device of an account. Device 0 is the simulated phone."""

    phone_user: str
    device_id: int
    identity_public: bytes
    registration_id: int
    noise_public: bytes | None = None
    """The Noise static key a companion logs in with; None for the phone."""
    signed_prekey: SignedPreKey | None = None
    prekeys: dict[int, PreKey] = field(default_factory=dict)
    key_index: int = 0
    platform: str = ""
    push_name: str = ""
    """What the device called itself (ClientPayload pushName), if anything."""
    adv_identity: bytes = b""
    """The ADVSignedDeviceIdentity the companion countersigned (pair-device-sign content)."""
    logged_out: bool = False
    created_at: int = 0
    last_login_at: int = 0
    """0 until the device's first login after pairing."""

    @property
    def is_phone(self) -> bool:
        return self.device_id == 0

    @property
    def is_hosted(self) -> bool:
        """A business's hosted (Cloud API) device: 1:1 chats reach it, groups never do."""
        return self.device_id == HOSTED_DEVICE_ID

    def jid(self) -> JID:
        return device_jid(self.phone_user, self.device_id, lid=False)


_ACCOUNT_SERVERS = frozenset({Server.PN, Server.LID, Server.HOSTED, Server.HOSTED_LID})
_LID_SERVERS = frozenset({Server.LID, Server.HOSTED_LID})


def lid_for_phone(phone_user: str) -> str:
    """A stable, LID-looking user for a phone number: 15 digits derived from its hash."""
    digest = hashlib.sha256(b"wamd-sandbox-lid:" + phone_user.encode()).digest()
    return str(100_000_000_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000_000_000)


def phone_for_push_name(push_name: str) -> str:
    """The phone number an account created on the fly gets: derived from the device's push
    name (so a test that names its client gets the same number every run), in the reserved
    fictional US range +1 555 01xx xxxx."""
    digest = hashlib.sha256(b"wamd-sandbox-phone:" + push_name.encode()).digest()
    return f"1555{int.from_bytes(digest[:8], 'big') % 10_000_000:07d}"


class Directory:
    """Accounts by phone user and LID user; devices by (phone user, device id)."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._by_lid: dict[str, str] = {}
        self._devices: dict[str, dict[int, Device]] = {}
        self._reserved: dict[str, set[int]] = {}
        # PN device JID of every JID to_pn resolved: the network keys each stanza it routes
        # by it (several per relayed message). Accounts are never removed and never change
        # users, so a found form stays true; misses are not kept.
        self._pn_forms: dict[JID, JID] = {}

    # Accounts

    def add_account(self, account: Account, phone_device: Device) -> None:
        if account.phone_user in self._accounts:
            raise DirectoryError(f"account {account.phone_user} already exists")
        if account.lid_user in self._by_lid:
            raise DirectoryError(f"LID {account.lid_user} is already taken")
        if phone_device.device_id != 0 or phone_device.phone_user != account.phone_user:
            raise DirectoryError("an account's first device is its phone, device 0")
        self._accounts[account.phone_user] = account
        self._by_lid[account.lid_user] = account.phone_user
        self._devices[account.phone_user] = {0: phone_device}

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def account(self, user: str) -> Account:
        """The account of a phone user or a LID user."""
        found = self.find_account(user)
        if found is None:
            raise DirectoryError(f"no account {user}")
        return found

    def find_account(self, user: str) -> Account | None:
        account = self._accounts.get(user)
        if account is None and (phone := self._by_lid.get(user)) is not None:
            account = self._accounts.get(phone)
        return account

    def account_of(self, jid: JID) -> Account | None:
        """The account a PN or LID JID (with or without device, hosted or not) belongs to."""
        if jid.server not in _ACCOUNT_SERVERS:
            return None
        account = self.find_account(jid.user)
        if account is None:
            return None
        expected = account.lid_user if jid.server in _LID_SERVERS else account.phone_user
        return account if jid.user == expected else None

    # Devices

    def add_device(self, device: Device) -> None:
        devices = self._devices.get(device.phone_user)
        if devices is None:
            raise DirectoryError(f"no account {device.phone_user}")
        if device.device_id in devices:
            raise DirectoryError(f"device {device.phone_user}:{device.device_id} exists")
        devices[device.device_id] = device

    def remove_device(self, phone_user: str, device_id: int) -> Device:
        devices = self._devices.get(phone_user, {})
        device = devices.pop(device_id, None)
        if device is None:
            raise DirectoryError(f"no device {phone_user}:{device_id}")
        return device

    def reserve_device_id(self, phone_user: str) -> int:
        """The next companion id, held back until released (pairing in progress). Ids of
        logged-out devices are not reused: clients key Signal sessions by device id."""
        if phone_user not in self._devices:
            raise DirectoryError(f"no account {phone_user}")
        taken = set(self._devices[phone_user]) | self._reserved.get(phone_user, set())
        device_id = max(taken - {HOSTED_DEVICE_ID}) + 1
        if device_id == HOSTED_DEVICE_ID:
            device_id += 1
        if device_id > 255:
            raise DirectoryError(f"account {phone_user} has no free device id")
        self._reserved.setdefault(phone_user, set()).add(device_id)
        return device_id

    def release_device_id(self, phone_user: str, device_id: int) -> None:
        self._reserved.get(phone_user, set()).discard(device_id)

    def devices(self, phone_user: str) -> list[Device]:
        """An account's phone and companions, phone first, in device id order (logged-out
        ones and the hosted device excluded: see ``hosted_device``)."""
        devices = self._devices.get(phone_user, {})
        return [
            devices[i]
            for i in sorted(devices)
            if not devices[i].logged_out and not devices[i].is_hosted
        ]

    def device(self, jid: JID) -> Device | None:
        """The device a PN or LID device JID names (device 99 only on the hosted servers)."""
        account = self.account_of(jid)
        if account is None or (jid.device == HOSTED_DEVICE_ID) != jid.is_hosted:
            return None
        return self._devices.get(account.phone_user, {}).get(jid.device)

    def hosted_device(self, phone_user: str) -> Device | None:
        """The account's hosted (Cloud API) device, when it is a business that has one."""
        device = self._devices.get(phone_user, {}).get(HOSTED_DEVICE_ID)
        return None if device is None or device.logged_out else device

    def device_by_noise_key(self, noise_public: bytes) -> Device | None:
        for devices in self._devices.values():
            for device in devices.values():
                if device.noise_public == noise_public:
                    return device
        return None

    def all_devices(self) -> Iterator[Device]:
        for devices in self._devices.values():
            yield from devices.values()

    def to_pn(self, jid: JID) -> JID | None:
        """The PN form (same device) of a PN or LID JID of a known account."""
        pn = self._pn_forms.get(jid)
        if pn is None:
            account = self.account_of(jid)
            if account is None:
                return None
            pn = self._pn_forms[jid] = account.pn_device(jid.device)
        return pn

    def to_lid(self, jid: JID) -> JID | None:
        account = self.account_of(jid)
        return None if account is None else account.lid_device(jid.device)
