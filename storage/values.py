"""Values that cross the storage boundary: frozen, slotted, validated on construction.

A value that exists is well formed. Constructors raise ``ValueError`` naming the field; the
repositories turn that into :class:`~storage.errors.CorruptAuthState` when the bad value came
from disk, so corruption is reported where it is found and never passed on.

Key material is raw: every Curve25519 key here is the bare 32 bytes. The ``0x05`` type prefix
Signal puts in front of public keys on the wire is the protocol layer's business; only peer
identity keys (:class:`PeerIdentity`) may carry it, because they are stored as received.
Secrets are left out of ``repr`` so a value that ends up in a log line leaks nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_SIZE = 32
SIGNATURE_SIZE = 64
# Prekey and signed-prekey ids travel as 3 bytes big-endian; the registration id as 4.
MAX_PREKEY_ID = 0xFFFFFF
MAX_REGISTRATION_ID = 0xFFFFFFFF
# Peer identity keys arrive as 33 bytes (0x05 || key) from some peers and 32 from others.
DJB_KEY_TYPE = 0x05


class SessionStatus(enum.StrEnum):
    """Where a session's connection state machine stands (ARCHITECTURE principle 2).

    Storage records statuses; which transitions are legal is decided by the state machine in
    ``daemon/client``, not here.
    """

    NEW = "new"
    PAIRING = "pairing"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing_off"
    DISCONNECTED = "disconnected"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    OUTDATED = "outdated"
    BANNED = "banned"
    PASSKEY_REQUIRED = "passkey_required"
    STOPPED = "stopped"
    NEEDS_ATTENTION = "needs_attention"


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One linked-device session as stored."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    auto_connect: bool
    """Connect this session when the daemon starts."""
    active: bool
    """False once an operator disabled the session; the manager leaves it alone."""
    status: SessionStatus
    status_reason: str
    status_changed_at: datetime
    last_error: str | None
    last_connected_at: datetime | None
    last_message_at: datetime | None
    last_status_check: datetime | None


@dataclass(frozen=True, slots=True)
class SessionTransition:
    """One entry of a session's append-only status history."""

    session_id: str
    seq: int
    """1 for the creation entry, then +1 per transition of that session."""
    from_status: SessionStatus | None
    """None only for the creation entry."""
    to_status: SessionStatus
    reason: str
    at: datetime


def _check_size(what: str, value: bytes, size: int) -> None:
    if not isinstance(value, bytes):
        raise ValueError(f"{what} must be bytes, not {type(value).__name__}")
    if len(value) != size:
        raise ValueError(f"{what} must be {size} bytes, got {len(value)}")


def _check_secret(what: str, value: bytes, size: int) -> None:
    _check_size(what, value, size)
    # A zeroed secret is what a full disk or a truncated write leaves behind.
    if not any(value):
        raise ValueError(f"{what} is all zero bytes")


def _check_int(what: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in [{low}, {high}], got {value}")


def x25519_public_key(private: bytes) -> bytes:
    """The Curve25519 public key of a 32-byte private key (clamping included)."""
    return (
        X25519PrivateKey.from_private_bytes(private)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A Curve25519 key pair whose public half is checked against the private half.

    The check costs one scalar multiplication and catches a damaged or mixed-up identity at the
    moment it is saved or loaded, instead of at the next handshake.
    """

    private: bytes = field(repr=False)
    public: bytes

    def __post_init__(self) -> None:
        _check_secret("private key", self.private, KEY_SIZE)
        _check_size("public key", self.public, KEY_SIZE)
        if x25519_public_key(self.private) != self.public:
            raise ValueError("public key does not belong to the private key")


@dataclass(frozen=True, slots=True)
class SignedPreKey:
    key_id: int
    key_pair: KeyPair
    signature: bytes
    """XEdDSA signature by the identity key over 0x05 || public key (not verified here)."""

    def __post_init__(self) -> None:
        _check_int("signed prekey id", self.key_id, 0, MAX_PREKEY_ID)
        _check_secret("signed prekey signature", self.signature, SIGNATURE_SIZE)


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """Everything a new linked device generates before it is paired."""

    noise: KeyPair
    identity: KeyPair
    registration_id: int
    signed_prekey: SignedPreKey
    adv_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_int("registration id", self.registration_id, 0, MAX_REGISTRATION_ID)
        _check_secret("adv secret", self.adv_secret, KEY_SIZE)


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    """A device's keys plus what pairing bound them to, as stored for one session."""

    session_id: str
    keys: DeviceKeys
    signed_device_identity: bytes | None
    """The ADVSignedDeviceIdentity the phone signed at pairing (protobuf bytes); None before."""
    pn_jid: str | None
    lid_jid: str | None
    platform: str | None
    push_name: str | None
    next_prekey_id: int
    """The next one-time prekey id to hand out; only ever grows, so ids are never reused."""
    server_has_prekeys: bool
    created_at: datetime
    paired_at: datetime | None
    retired: bool
    """A retired identity is kept for forensics and never used again."""
    retired_reason: str | None
    logged_out_at: datetime | None

    def __post_init__(self) -> None:
        _check_int("next prekey id", self.next_prekey_id, 1, MAX_PREKEY_ID + 1)
        if self.paired_at is not None and (
            self.signed_device_identity is None or self.pn_jid is None
        ):
            raise ValueError("paired credentials lack the signed device identity or the JID")
        if self.retired != (self.logged_out_at is not None):
            raise ValueError("retired flag and logged_out_at disagree")

    @property
    def is_paired(self) -> bool:
        return self.paired_at is not None


def _check_prekey(key_id: int, private: bytes, public: bytes) -> None:
    # No private/public consistency check here, unlike KeyPair: a first upload is 812 keys and a
    # damaged one-time prekey costs one failed session setup, not the identity.
    _check_int("prekey id", key_id, 1, MAX_PREKEY_ID)
    _check_secret("prekey private key", private, KEY_SIZE)
    _check_size("prekey public key", public, KEY_SIZE)


@dataclass(frozen=True, slots=True)
class PreKey:
    """A one-time prekey to store."""

    key_id: int
    private: bytes = field(repr=False)
    public: bytes

    def __post_init__(self) -> None:
        _check_prekey(self.key_id, self.private, self.public)


@dataclass(frozen=True, slots=True)
class PreKeyRow:
    """A stored one-time prekey."""

    key_id: int
    private: bytes = field(repr=False)
    public: bytes
    uploaded: bool
    created_at: datetime

    def __post_init__(self) -> None:
        _check_prekey(self.key_id, self.private, self.public)


def identity_key_body(key: bytes) -> bytes:
    """The 32 key bytes of a peer identity key given with or without the 0x05 prefix."""
    return key[1:] if len(key) == KEY_SIZE + 1 else key


def check_identity_key(key: bytes) -> None:
    """Raise ValueError unless ``key`` is 32 bytes, or 33 bytes starting with 0x05."""
    if not isinstance(key, bytes):
        raise ValueError(f"identity key must be bytes, not {type(key).__name__}")
    if len(key) == KEY_SIZE + 1:
        if key[0] != DJB_KEY_TYPE:
            raise ValueError(f"33-byte identity key must start with 0x05, not {key[0]:#04x}")
    elif len(key) != KEY_SIZE:
        raise ValueError(f"identity key must be 32 or 33 bytes, got {len(key)}")


class IdentityChange(enum.Enum):
    """What saving a peer's identity key did."""

    NEW = "new"
    UNCHANGED = "unchanged"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """The identity key last seen for a Signal address, with what a trust decision needs."""

    address: str
    identity_key: bytes
    first_seen: datetime
    updated_at: datetime
    trusted: bool

    def __post_init__(self) -> None:
        check_identity_key(self.identity_key)

    def matches(self, key: bytes) -> bool:
        """Whether ``key`` (with or without 0x05) is this identity."""
        return identity_key_body(key) == identity_key_body(self.identity_key)


@dataclass(frozen=True, slots=True)
class AppStateSyncKey:
    """An app-state sync key shared by the primary phone (AppStateSyncKeyShare)."""

    key_id: bytes
    key_data: bytes = field(repr=False)
    fingerprint: bytes
    """The AppStateSyncKeyFingerprint protobuf as received (may be empty)."""
    timestamp: int
    """The phone's timestamp for the key (milliseconds); a newer key replaces an older one."""

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, bytes) or not self.key_id:
            raise ValueError("app-state key id must be non-empty bytes")
        if not isinstance(self.key_data, bytes) or not self.key_data:
            raise ValueError("app-state key data must be non-empty bytes")
        if not isinstance(self.fingerprint, bytes):
            raise ValueError("app-state key fingerprint must be bytes")
        _check_int("app-state key timestamp", self.timestamp, -(2**63), 2**63 - 1)
