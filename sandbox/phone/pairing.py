"""The phone's half of linking a companion by QR: read the QR, vouch for the companion's key.

Pure functions over keys and bytes; the stanza exchange around them (pair-success,
pair-device-sign, 515) is the server's (``sandbox.pairing``), and so is the pair-code exchange,
which needs the registration socket's state at every step. The phone vouches for the companion's
identity key with an ADV container (``daemon.crypto.adv.sign_companion``) HMAC-ed with the adv
secret printed in the QR, so only the device that showed that QR can accept it.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.client.qr import QrError, QrPayload
from daemon.crypto import adv
from daemon.crypto.curve import KeyPair
from sandbox.directory import Account

__all__ = ["PairingError", "ScannedQr", "adv_raw_id", "scan_qr"]


class PairingError(ValueError):
    """The phone refuses to link: an unreadable QR or an impossible key index."""


def adv_raw_id(account: Account) -> int:
    """``ADVDeviceIdentity.rawID``: names the account's device list, stable for its lifetime.

    The same rule as the server's pair-code path (``sandbox.pairing``), so companions linked by
    QR and by code, and the app-state key fingerprint, agree on it.
    """
    return int(account.lid_user[-9:])


@dataclass(frozen=True, slots=True)
class ScannedQr:
    """What the phone read from a QR and the container it signed for ``pair-success``."""

    qr: QrPayload
    device_identity: bytes  # ADVSignedDeviceIdentityHMAC
    key_index: int
    timestamp: int

    @property
    def ref(self) -> str:
        return self.qr.ref


def scan_qr(
    text: str,
    account_identity: KeyPair,
    *,
    raw_id: int,
    key_index: int,
    timestamp: int,
) -> ScannedQr:
    """Reads the QR string a companion shows and signs its identity key for ``key_index``."""
    try:
        qr = QrPayload.parse(text)
    except QrError as exc:
        raise PairingError(f"unreadable pairing QR: {exc}") from None
    if key_index < 1:
        raise PairingError(f"companion key indexes start at 1, got {key_index}")
    container = adv.sign_companion(
        account_identity, qr.identity_public, qr.adv_secret, raw_id, key_index, timestamp
    )
    return ScannedQr(qr, container, key_index, timestamp)
