"""ADV ("account device verification"): the primary phone vouches for a companion device.

The phone signs the companion's identity key with the account (primary identity) key and HMACs
the result with the ADV secret the companion put in its QR code (or derived in code pairing), so
only the device that showed that QR can accept it. The companion checks both, countersigns, and
sends the identity back without the account key (the server already knows it). Prefixes follow
WhatsApp: account signature ``06 00``, device signature ``06 01``, and ``06 05`` / ``06 06`` for
HOSTED accounts.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.crypto.curve import KeyPair, sign, verify
from waproto import wa_adv_pb2

ACCOUNT_SIGNATURE_PREFIX = b"\x06\x00"
DEVICE_SIGNATURE_PREFIX = b"\x06\x01"
HOSTED_ACCOUNT_SIGNATURE_PREFIX = b"\x06\x05"
HOSTED_DEVICE_SIGNATURE_PREFIX = b"\x06\x06"


class AdvError(ValueError):
    """A pair-success identity that must be refused. ``code``/``text`` are what to answer."""

    def __init__(self, code: int, text: str, detail: str) -> None:
        super().__init__(f"{text}: {detail}")
        self.code = code
        self.text = text


@dataclass(frozen=True, slots=True)
class AcceptedIdentity:
    """What the companion keeps after pair-success, and what it answers with."""

    signed_identity: bytes  # ADVSignedDeviceIdentity with our device signature, account key kept
    reply_identity: bytes  # the same without accountSignatureKey: pair-device-sign content
    key_index: int
    account_signature_key: bytes
    raw_id: int
    timestamp: int


def _is_hosted(value: int) -> bool:
    return value == wa_adv_pb2.HOSTED


def sign_companion(
    account: KeyPair,
    companion_identity_public: bytes,
    adv_secret: bytes,
    raw_id: int,
    key_index: int,
    timestamp: int,
    hosted: bool = False,
) -> bytes:
    """The phone's side: an ADVSignedDeviceIdentityHMAC for pair-success > device-identity."""
    kind = wa_adv_pb2.HOSTED if hosted else wa_adv_pb2.E2EE
    details = wa_adv_pb2.ADVDeviceIdentity(
        rawID=raw_id, timestamp=timestamp, keyIndex=key_index, accountType=kind, deviceType=kind
    ).SerializeToString()
    prefix = HOSTED_ACCOUNT_SIGNATURE_PREFIX if hosted else ACCOUNT_SIGNATURE_PREFIX
    signed = wa_adv_pb2.ADVSignedDeviceIdentity(
        details=details,
        accountSignatureKey=account.public,
        accountSignature=sign(account.private, prefix + details + companion_identity_public),
    ).SerializeToString()
    hmac_prefix = HOSTED_ACCOUNT_SIGNATURE_PREFIX if hosted else b""
    mac = hmac.new(adv_secret, hmac_prefix + signed, hashlib.sha256).digest()
    return wa_adv_pb2.ADVSignedDeviceIdentityHMAC(
        details=signed, HMAC=mac, accountType=kind
    ).SerializeToString()


def accept_pair_success(container: bytes, adv_secret: bytes, identity: KeyPair) -> AcceptedIdentity:
    """The companion's side: checks HMAC and account signature, adds the device signature."""
    try:
        outer = wa_adv_pb2.ADVSignedDeviceIdentityHMAC.FromString(container)
        signed = wa_adv_pb2.ADVSignedDeviceIdentity.FromString(outer.details)
        device = wa_adv_pb2.ADVDeviceIdentity.FromString(signed.details)
    except ProtoDecodeError as exc:
        raise AdvError(500, "internal-error", f"undecodable device identity: {exc}") from None
    hmac_prefix = HOSTED_ACCOUNT_SIGNATURE_PREFIX if _is_hosted(outer.accountType) else b""
    expected = hmac.new(adv_secret, hmac_prefix + outer.details, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, outer.HMAC):
        raise AdvError(401, "hmac-mismatch", "ADV HMAC does not match our adv secret")
    account_prefix = (
        HOSTED_ACCOUNT_SIGNATURE_PREFIX
        if _is_hosted(device.deviceType)
        else ACCOUNT_SIGNATURE_PREFIX
    )
    message = account_prefix + signed.details + identity.public
    if not verify(signed.accountSignatureKey, message, signed.accountSignature):
        raise AdvError(401, "signature-mismatch", "account signature does not verify")
    signed.deviceSignature = sign(
        identity.private,
        DEVICE_SIGNATURE_PREFIX + signed.details + identity.public + signed.accountSignatureKey,
    )
    full = signed.SerializeToString()
    account_key = signed.accountSignatureKey
    signed.ClearField("accountSignatureKey")
    return AcceptedIdentity(
        signed_identity=full,
        reply_identity=signed.SerializeToString(),
        key_index=device.keyIndex,
        account_signature_key=account_key,
        raw_id=device.rawID,
        timestamp=device.timestamp,
    )


def verify_device_signature(
    reply_identity: bytes, companion_identity_public: bytes, account_public: bytes
) -> bool:
    """The server's / phone's check of pair-device-sign: the companion countersigned."""
    try:
        signed = wa_adv_pb2.ADVSignedDeviceIdentity.FromString(reply_identity)
    except ProtoDecodeError:
        return False
    message = DEVICE_SIGNATURE_PREFIX + signed.details + companion_identity_public + account_public
    return verify(companion_identity_public, message, signed.deviceSignature)
