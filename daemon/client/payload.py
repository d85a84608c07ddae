"""The ClientPayload sent inside the Noise handshake: registration (new device) or login.

Pure builders: credentials and configuration in, serialized protobuf out. The client version
comes from the configuration every time a payload is built, so changing it at run time takes
effect at the next connection (the service rejects old versions with 405).

Registration carries ``devicePairingData`` (our keys and the MD5 "build hash" of the version
string) and ``passive=false, pull=false``; login carries the phone number and device id with
``passive=true, pull=true`` (protocol-inventory §1.6).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from daemon.binary import JID
from daemon.config import WhatsAppConfig, resolved_client_version
from storage.values import DeviceKeys
from waproto import wa_companion_reg_pb2, wa_handshake_pb2

ClientPayload = wa_handshake_pb2.ClientPayload
DeviceProps = wa_companion_reg_pb2.DeviceProps

DJB_KEY_TYPE = b"\x05"
# What the phone lists us as: the companion "platform" and our own version (not WhatsApp's).
DEVICE_PLATFORM = DeviceProps.PlatformType.CHROME
DEVICE_OS_VERSION = (0, 1, 0)
# History sync we ask for at pairing (whatsmeow's defaults, which the phone honours).
HISTORY_STORAGE_QUOTA_MB = 10240
HISTORY_THUMBNAIL_DAYS = 60


class PayloadError(ValueError):
    """Credentials or configuration that cannot make a valid ClientPayload."""


@dataclass(frozen=True, slots=True)
class AppVersion:
    primary: int
    secondary: int
    tertiary: int

    @classmethod
    def parse(cls, text: str) -> AppVersion:
        parts = text.split(".")
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
            raise PayloadError(f"a client version is three dotted numbers, got {text!r}")
        numbers = [int(p) for p in parts]
        if any(n >= 2**32 for n in numbers):
            raise PayloadError(f"client version {text!r} does not fit 32-bit parts")
        return cls(*numbers)

    def __str__(self) -> str:
        return f"{self.primary}.{self.secondary}.{self.tertiary}"

    def build_hash(self) -> bytes:
        """MD5 of the dotted version string: what ``devicePairingData.buildHash`` carries."""
        return hashlib.md5(str(self).encode(), usedforsecurity=False).digest()


def _base(config: WhatsAppConfig, push_name: str | None) -> wa_handshake_pb2.ClientPayload:
    version = AppVersion.parse(resolved_client_version(config.client_version))
    payload = ClientPayload(
        connectType=ClientPayload.ConnectType.WIFI_UNKNOWN,
        connectReason=ClientPayload.ConnectReason.USER_ACTIVATED,
    )
    agent = payload.userAgent
    agent.platform = ClientPayload.UserAgent.Platform.WEB
    agent.releaseChannel = ClientPayload.UserAgent.ReleaseChannel.RELEASE
    agent.appVersion.primary = version.primary
    agent.appVersion.secondary = version.secondary
    agent.appVersion.tertiary = version.tertiary
    agent.mcc = "000"
    agent.mnc = "000"
    agent.osVersion = "0.1"
    agent.manufacturer = ""
    agent.device = "Desktop"
    agent.osBuildNumber = "0.1"
    agent.localeLanguageIso6391 = "en"
    agent.localeCountryIso31661Alpha2 = "US"
    payload.webInfo.webSubPlatform = ClientPayload.WebInfo.WebSubPlatform.WEB_BROWSER
    if push_name:
        payload.pushName = push_name
    return payload


def build_device_props(config: WhatsAppConfig, require_full_sync: bool = False) -> bytes:
    """The DeviceProps the phone reads at pairing (name, platform, history-sync wishes): the
    history flags are whatsmeow's of 2026-08 (store/clientpayload.go), call-log and group
    history included; a unit test pins every field.

    ``require_full_sync`` asks the phone for the whole history instead of the recent part
    (the ``[sync] full_history`` setting); the phone reads it only at pairing."""
    props = DeviceProps(
        os=config.os_name,
        platformType=DEVICE_PLATFORM,
        requireFullSync=require_full_sync,
    )
    props.version.primary, props.version.secondary, props.version.tertiary = DEVICE_OS_VERSION
    history = props.historySyncConfig
    history.storageQuotaMb = HISTORY_STORAGE_QUOTA_MB
    history.inlineInitialPayloadInE2EeMsg = True
    history.supportCallLogHistory = True
    history.supportBotUserAgentChatHistory = True
    history.supportCagReactionsAndPolls = True
    history.supportBizHostedMsg = True
    history.supportRecentSyncChunkMessageCountTuning = True
    history.supportHostedGroupMsg = True
    history.supportFbidBotChatHistory = True
    history.supportMessageAssociation = True
    history.supportGroupHistory = True
    history.thumbnailSyncDaysLimit = HISTORY_THUMBNAIL_DAYS
    history.supportManusHistory = True
    history.supportHatchHistory = True
    return props.SerializeToString()


def build_registration_payload(
    keys: DeviceKeys,
    config: WhatsAppConfig,
    push_name: str | None = None,
    *,
    require_full_sync: bool = False,
) -> bytes:
    """The payload of a device that has no account yet: the server answers with pair-device."""
    version = AppVersion.parse(resolved_client_version(config.client_version))
    spk = keys.signed_prekey
    if not 0 <= spk.key_id < 2**24:
        raise PayloadError(f"signed prekey id {spk.key_id} does not fit 3 bytes")
    payload = _base(config, push_name)
    data = payload.devicePairingData
    data.eRegid = keys.registration_id.to_bytes(4, "big")
    data.eKeytype = DJB_KEY_TYPE
    data.eIdent = keys.identity.public
    data.eSkeyId = spk.key_id.to_bytes(3, "big")
    data.eSkeyVal = spk.key_pair.public
    data.eSkeySig = spk.signature
    data.buildHash = version.build_hash()
    data.deviceProps = build_device_props(config, require_full_sync)
    payload.passive = False
    payload.pull = False
    return payload.SerializeToString()


def build_login_payload(
    device_jid: JID, config: WhatsAppConfig, push_name: str | None = None
) -> bytes:
    """The payload of a paired device: phone number and device id; the Noise static key that
    carries it is the credential the server checks."""
    if not device_jid.user.isdigit():
        raise PayloadError(f"a login needs our phone-number device JID, got {device_jid}")
    payload = _base(config, push_name)
    payload.username = int(device_jid.user)
    payload.device = device_jid.device
    payload.passive = True
    payload.pull = True
    payload.lidDbMigrated = True
    payload.lc = 1
    return payload.SerializeToString()
