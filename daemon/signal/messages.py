"""Wire forms of the four Signal messages WhatsApp carries (see waproto/wa_signal.proto).

Parsing checks the version byte, the protobuf and the presence and size of every field libsignal
requires, and keeps the exact received bytes in ``serialized``: MACs and signatures are checked
over what arrived, never over a re-encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from daemon.signal import curve
from daemon.signal.errors import InvalidKeyError, InvalidMessageError, InvalidVersionError
from daemon.signal.kdf import hmac_sha256
from waproto import wa_signal_pb2 as pb

CURRENT_VERSION = 3
VERSION_BYTE = bytes(((CURRENT_VERSION << 4) | CURRENT_VERSION,))
"""0x33: message version 3 in the high nibble, the sender's current version 3 in the low one."""

MAC_SIZE = 8
SIGNATURE_SIZE = curve.SIGNATURE_SIZE
CHAIN_KEY_SIZE = 32


def _check_version(data: bytes, what: str) -> None:
    if not data:
        raise InvalidMessageError(f"empty {what}")
    version = data[0] >> 4
    if version != CURRENT_VERSION:
        kind = "legacy" if version < CURRENT_VERSION else "unknown"
        raise InvalidVersionError(f"{kind} {what} version {version} (byte {data[0]:#04x})")


def _key(data: bytes, what: str) -> bytes:
    try:
        return curve.parse_public(data)
    except InvalidKeyError as exc:
        raise InvalidMessageError(f"bad {what}: {exc}") from exc


# --- SignalMessage ("msg") ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignalMessage:
    """version || SignalMessage protobuf || 8-byte MAC."""

    ratchet_key: bytes
    counter: int
    previous_counter: int
    ciphertext: bytes
    serialized: bytes

    @property
    def mac(self) -> bytes:
        return self.serialized[-MAC_SIZE:]

    @property
    def authenticated_part(self) -> bytes:
        """What the MAC covers after the two identity keys: version || protobuf."""
        return self.serialized[:-MAC_SIZE]


def signal_message_mac(
    mac_key: bytes, sender_identity: bytes, receiver_identity: bytes, authenticated_part: bytes
) -> bytes:
    """HMAC-SHA256(macKey, 0x05||senderIK || 0x05||receiverIK || version || protobuf)[:8]."""
    return hmac_sha256(
        mac_key, b"\x05" + sender_identity + b"\x05" + receiver_identity + authenticated_part
    )[:MAC_SIZE]


def build_signal_message(
    *,
    ratchet_key: bytes,
    counter: int,
    previous_counter: int,
    ciphertext: bytes,
    mac_key: bytes,
    sender_identity: bytes,
    receiver_identity: bytes,
) -> SignalMessage:
    body = (
        VERSION_BYTE
        + pb.SignalMessage(
            ephemeralKey=b"\x05" + ratchet_key,
            counter=counter,
            previousCounter=previous_counter,
            ciphertext=ciphertext,
        ).SerializeToString()
    )
    mac = signal_message_mac(mac_key, sender_identity, receiver_identity, body)
    return SignalMessage(ratchet_key, counter, previous_counter, ciphertext, body + mac)


def parse_signal_message(data: bytes) -> SignalMessage:
    _check_version(data, "SignalMessage")
    if len(data) <= 1 + MAC_SIZE:
        raise InvalidMessageError(f"SignalMessage too short ({len(data)} bytes)")
    try:
        proto = pb.SignalMessage.FromString(data[1:-MAC_SIZE])
    except DecodeError as exc:
        raise InvalidMessageError(f"SignalMessage protobuf does not parse: {exc}") from exc
    if not (proto.HasField("ephemeralKey") and proto.HasField("counter")):
        raise InvalidMessageError("SignalMessage lacks its ratchet key or counter")
    if not proto.HasField("ciphertext"):
        raise InvalidMessageError("SignalMessage lacks its ciphertext")
    return SignalMessage(
        _key(proto.ephemeralKey, "SignalMessage ratchet key"),
        proto.counter,
        proto.previousCounter,
        proto.ciphertext,
        bytes(data),
    )


# --- PreKeySignalMessage ("pkmsg") -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreKeySignalMessage:
    """version || PreKeySignalMessage protobuf (which wraps a whole SignalMessage)."""

    registration_id: int
    prekey_id: int | None
    signed_prekey_id: int
    base_key: bytes
    identity_key: bytes
    message: SignalMessage
    serialized: bytes


def build_prekey_message(
    *,
    registration_id: int,
    prekey_id: int | None,
    signed_prekey_id: int,
    base_key: bytes,
    identity_key: bytes,
    message: SignalMessage,
) -> PreKeySignalMessage:
    proto = pb.PreKeySignalMessage(
        registrationId=registration_id,
        signedPreKeyId=signed_prekey_id,
        baseKey=b"\x05" + base_key,
        identityKey=b"\x05" + identity_key,
        message=message.serialized,
    )
    # libsignal leaves the field out when the bundle had no one-time prekey.
    if prekey_id is not None:
        proto.preKeyId = prekey_id
    serialized = VERSION_BYTE + proto.SerializeToString()
    return PreKeySignalMessage(
        registration_id, prekey_id, signed_prekey_id, base_key, identity_key, message, serialized
    )


def parse_prekey_message(data: bytes) -> PreKeySignalMessage:
    _check_version(data, "PreKeySignalMessage")
    try:
        proto = pb.PreKeySignalMessage.FromString(data[1:])
    except DecodeError as exc:
        raise InvalidMessageError(f"PreKeySignalMessage protobuf does not parse: {exc}") from exc
    for field in ("signedPreKeyId", "baseKey", "identityKey", "message"):
        if not proto.HasField(field):
            raise InvalidMessageError(f"PreKeySignalMessage lacks {field}")
    return PreKeySignalMessage(
        proto.registrationId,
        proto.preKeyId if proto.HasField("preKeyId") else None,
        proto.signedPreKeyId,
        _key(proto.baseKey, "PreKeySignalMessage base key"),
        _key(proto.identityKey, "PreKeySignalMessage identity key"),
        parse_signal_message(proto.message),
        bytes(data),
    )


# --- SenderKeyMessage ("skmsg") ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SenderKeyMessage:
    """version || SenderKeyMessage protobuf || 64-byte signature over everything before it."""

    key_id: int
    iteration: int
    ciphertext: bytes
    serialized: bytes

    @property
    def signed_part(self) -> bytes:
        return self.serialized[:-SIGNATURE_SIZE]

    @property
    def signature(self) -> bytes:
        return self.serialized[-SIGNATURE_SIZE:]

    def verify(self, signing_key: bytes) -> bool:
        return curve.verify(signing_key, self.signed_part, self.signature)


def build_sender_key_message(
    *,
    key_id: int,
    iteration: int,
    ciphertext: bytes,
    signing_private: bytes,
    nonce: bytes | None = None,
) -> SenderKeyMessage:
    body = (
        VERSION_BYTE
        + pb.SenderKeyMessage(
            id=key_id, iteration=iteration, ciphertext=ciphertext
        ).SerializeToString()
    )
    signature = curve.sign(signing_private, body, nonce)
    return SenderKeyMessage(key_id, iteration, ciphertext, body + signature)


def parse_sender_key_message(data: bytes) -> SenderKeyMessage:
    _check_version(data, "SenderKeyMessage")
    if len(data) <= 1 + SIGNATURE_SIZE:
        raise InvalidMessageError(f"SenderKeyMessage too short ({len(data)} bytes)")
    try:
        proto = pb.SenderKeyMessage.FromString(data[1:-SIGNATURE_SIZE])
    except DecodeError as exc:
        raise InvalidMessageError(f"SenderKeyMessage protobuf does not parse: {exc}") from exc
    for field in ("id", "iteration", "ciphertext"):
        if not proto.HasField(field):
            raise InvalidMessageError(f"SenderKeyMessage lacks {field}")
    return SenderKeyMessage(proto.id, proto.iteration, proto.ciphertext, bytes(data))


# --- SenderKeyDistributionMessage (inside Message.senderKeyDistributionMessage) ----------------


@dataclass(frozen=True, slots=True)
class SenderKeyDistributionMessage:
    """version || SenderKeyDistributionMessage protobuf."""

    key_id: int
    iteration: int
    chain_key: bytes
    signing_key: bytes
    serialized: bytes


def build_distribution_message(
    *, key_id: int, iteration: int, chain_key: bytes, signing_key: bytes
) -> SenderKeyDistributionMessage:
    serialized = (
        VERSION_BYTE
        + pb.SenderKeyDistributionMessage(
            id=key_id,
            iteration=iteration,
            chainKey=chain_key,
            signingKey=curve.serialize_public(signing_key),
        ).SerializeToString()
    )
    return SenderKeyDistributionMessage(key_id, iteration, chain_key, signing_key, serialized)


def parse_distribution_message(data: bytes) -> SenderKeyDistributionMessage:
    _check_version(data, "SenderKeyDistributionMessage")
    try:
        proto = pb.SenderKeyDistributionMessage.FromString(data[1:])
    except DecodeError as exc:
        raise InvalidMessageError(
            f"SenderKeyDistributionMessage protobuf does not parse: {exc}"
        ) from exc
    for field in ("id", "iteration", "chainKey", "signingKey"):
        if not proto.HasField(field):
            raise InvalidMessageError(f"SenderKeyDistributionMessage lacks {field}")
    if len(proto.chainKey) != CHAIN_KEY_SIZE:
        raise InvalidMessageError(
            f"SenderKeyDistributionMessage chain key is {len(proto.chainKey)} bytes, not 32"
        )
    return SenderKeyDistributionMessage(
        proto.id,
        proto.iteration,
        proto.chainKey,
        _key(proto.signingKey, "SenderKeyDistributionMessage signing key"),
        bytes(data),
    )
