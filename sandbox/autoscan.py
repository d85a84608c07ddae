"""Scanning without a human: QR strings, and the account a registering device is linked to.

Used by ``--auto-scan`` (a phone scans every new registration at once) and by the
Baileys-compatible ``POST /admin/mock-phone/scan-qr``, whose account is created on the fly with
a phone number derived from the device's push name (or, without one, from its Noise key) so the
same client gets the same number every run.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from sandbox.directory import Account, phone_for_push_name
from sandbox.pairing import PairingFailed, Registration
from sandbox.phone import SimulatedPhone

if TYPE_CHECKING:
    from sandbox.config import SandboxConfig
    from sandbox.network import Network, Phone

log = structlog.get_logger("sandbox.autoscan")

QR_PREFIX = "https://wa.me/settings/linked_devices#"


class QrError(ValueError):
    """Not a linking QR string."""


@dataclass(frozen=True, slots=True)
class QrCode:
    ref: str
    noise_public: bytes
    identity_public: bytes
    adv_secret: bytes
    platform_id: str

    def to_string(self) -> str:
        parts = [
            self.ref,
            base64.b64encode(self.noise_public).decode(),
            base64.b64encode(self.identity_public).decode(),
            base64.b64encode(self.adv_secret).decode(),
            self.platform_id,
        ]
        return QR_PREFIX + ",".join(parts)


def parse_qr(text: str) -> QrCode:
    """``[https://wa.me/settings/linked_devices#]ref,noise,identity,adv[,platform]``."""
    body = text.strip().split("#", 1)[-1]
    parts = body.split(",")
    if len(parts) not in (4, 5) or not parts[0]:
        raise QrError("a linking QR is ref,noise key,identity key,adv secret[,platform]")
    try:
        noise, identity, adv = (base64.b64decode(p, validate=True) for p in parts[1:4])
    except ValueError as exc:
        raise QrError(f"QR keys are not base64: {exc}") from None
    if len(noise) != 32 or len(identity) != 32 or len(adv) != 32:
        raise QrError("QR keys and adv secret are 32 bytes each")
    return QrCode(parts[0], noise, identity, adv, parts[4] if len(parts) == 5 else "0")


def phone_for_registration(registration: Registration) -> str:
    return phone_for_push_name(registration.push_name or registration.noise_public.hex())


async def account_for_registration(network: Network, registration: Registration) -> Account:
    """The account whose phone links this device: found or created from its push name."""
    phone_user = phone_for_registration(registration)
    account = network.directory.find_account(phone_user)
    if account is None:
        # Baileys' harness contract: its accounts are served as legacy clients (Baileys rc14
        # sends tctokens but no cstoken), see sandbox.service_rules.
        account = await network.create_account(
            phone_user, push_name=registration.push_name, enforcing=False
        )
    return account


def history_inline(phone: Phone) -> None:
    """Makes a phone push every history chunk inline: Baileys (the client behind the
    mock-phone and auto-scan paths) downloads history blobs only from WhatsApp's own media
    host, so blobs on the sandbox's would never reach it (push names and recent chats lost)."""
    if isinstance(phone, SimulatedPhone):
        history = dataclasses.replace(phone.settings.history, inline_everything=True)
        phone.settings = dataclasses.replace(phone.settings, history=history)


async def auto_scan(network: Network, registration: Registration, config: SandboxConfig) -> None:
    if not registration.refs:
        return
    try:
        account = await account_for_registration(network, registration)
        phone = network.phones.get(account.phone_user)
        if phone is None:
            log.warning("sandbox.auto_scan_no_phone", account=account.phone_user)
            return
        history_inline(phone)
        qr = QrCode(
            registration.refs[0],
            registration.noise_public,
            registration.identity_public,
            config.auto_scan_adv_secret,
            "1",
        )
        await phone.scan_qr(qr.to_string())
    except PairingFailed as exc:
        log.info("sandbox.auto_scan_failed", reason=exc.reason)
