"""ClientPayload builders: the fields of protocol-inventory §1.6, parsed back from the bytes."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from daemon.binary import JID
from daemon.client.credentials import new_device_keys
from daemon.client.payload import (
    AppVersion,
    PayloadError,
    build_device_props,
    build_login_payload,
    build_registration_payload,
)
from daemon.config import REAL_CLIENT_VERSION, WhatsAppConfig
from daemon.signal.curve import verify
from waproto import wa_companion_reg_pb2, wa_handshake_pb2

Payload = wa_handshake_pb2.ClientPayload


def test_registration_payload_carries_our_keys() -> None:
    keys = new_device_keys()
    config = WhatsAppConfig()
    payload = Payload.FromString(build_registration_payload(keys, config, "Sales"))
    assert not payload.HasField("username")
    assert payload.passive is False and payload.pull is False
    assert payload.pushName == "Sales"
    assert payload.connectType == Payload.ConnectType.WIFI_UNKNOWN
    assert payload.connectReason == Payload.ConnectReason.USER_ACTIVATED
    agent = payload.userAgent
    assert agent.platform == Payload.UserAgent.Platform.WEB
    assert agent.releaseChannel == Payload.UserAgent.ReleaseChannel.RELEASE
    assert (agent.appVersion.primary, agent.appVersion.secondary, agent.appVersion.tertiary) == (
        2,
        3000,
        int(REAL_CLIENT_VERSION.split(".")[2]),
    )
    assert (agent.mcc, agent.mnc, agent.osVersion, agent.device) == ("000", "000", "0.1", "Desktop")
    assert (agent.localeLanguageIso6391, agent.localeCountryIso31661Alpha2) == ("en", "US")
    assert payload.webInfo.webSubPlatform == Payload.WebInfo.WebSubPlatform.WEB_BROWSER

    data = payload.devicePairingData
    assert data.eRegid == keys.registration_id.to_bytes(4, "big")
    assert data.eKeytype == b"\x05"
    assert data.eIdent == keys.identity.public
    assert data.eSkeyId == b"\x00\x00\x01"  # signed prekey id 1, three bytes
    assert data.eSkeyVal == keys.signed_prekey.key_pair.public
    assert verify(keys.identity.public, b"\x05" + data.eSkeyVal, data.eSkeySig)
    assert data.buildHash == hashlib.md5(REAL_CLIENT_VERSION.encode()).digest()
    props = wa_companion_reg_pb2.DeviceProps.FromString(data.deviceProps)
    assert props.os == config.os_name
    assert props.platformType == wa_companion_reg_pb2.DeviceProps.PlatformType.CHROME
    assert props.requireFullSync is False
    assert props.historySyncConfig.storageQuotaMb == 10240
    assert props.historySyncConfig.inlineInitialPayloadInE2EeMsg is True


def test_login_payload_names_the_device() -> None:
    payload = Payload.FromString(
        build_login_payload(JID("15550001111", "s.whatsapp.net", 7), WhatsAppConfig(), "Bob")
    )
    assert payload.username == 15550001111
    assert payload.device == 7
    assert payload.passive is True and payload.pull is True
    assert payload.lidDbMigrated is True
    assert payload.lc == 1
    assert not payload.HasField("devicePairingData")
    assert payload.pushName == "Bob"


def test_client_version_is_read_at_build_time() -> None:
    keys = new_device_keys()
    config = replace(WhatsAppConfig(), client_version="2.3000.1234")
    payload = Payload.FromString(build_registration_payload(keys, config))
    assert payload.userAgent.appVersion.tertiary == 1234
    assert payload.devicePairingData.buildHash == hashlib.md5(b"2.3000.1234").digest()
    assert not payload.HasField("pushName")


@pytest.mark.parametrize("bad", ["2.3000", "2.x.1", "2.3000.99999999999", ""])
def test_bad_versions_are_refused(bad: str) -> None:
    with pytest.raises(PayloadError):
        AppVersion.parse(bad)


def test_login_needs_a_phone_number_jid() -> None:
    with pytest.raises(PayloadError):
        build_login_payload(JID("abc", "lid", 1), WhatsAppConfig())


def test_full_history_setting_reaches_device_props() -> None:
    keys = new_device_keys()
    config = WhatsAppConfig()
    for wanted in (True, False):
        payload = Payload.FromString(
            build_registration_payload(keys, config, require_full_sync=wanted)
        )
        props = wa_companion_reg_pb2.DeviceProps.FromString(payload.devicePairingData.deviceProps)
        assert props.requireFullSync is wanted


def test_device_props_and_login_fields_follow_current_whatsmeow() -> None:
    """Every field we send, pinned (whatsmeow 33cfac51 store/clientpayload.go), so a change
    is deliberate."""
    props = wa_companion_reg_pb2.DeviceProps.FromString(
        build_device_props(WhatsAppConfig(os_name="wamd"))
    )
    history = props.historySyncConfig
    assert {f.name: v for f, v in history.ListFields()} == {
        "storageQuotaMb": 10240,
        "inlineInitialPayloadInE2EeMsg": True,
        "supportCallLogHistory": True,
        "supportBotUserAgentChatHistory": True,
        "supportCagReactionsAndPolls": True,
        "supportBizHostedMsg": True,
        "supportRecentSyncChunkMessageCountTuning": True,
        "supportHostedGroupMsg": True,
        "supportFbidBotChatHistory": True,
        "supportMessageAssociation": True,
        "supportGroupHistory": True,
        "thumbnailSyncDaysLimit": 60,
        "supportManusHistory": True,
        "supportHatchHistory": True,
    }
    assert props.os == "wamd" and not props.requireFullSync
    assert (props.version.primary, props.version.secondary, props.version.tertiary) == (0, 1, 0)
    login = Payload.FromString(
        build_login_payload(JID.parse("15550001111:7@s.whatsapp.net"), WhatsAppConfig(), "Ann")
    )
    assert {f.name for f, _ in login.ListFields()} == {
        "username",
        "passive",
        "userAgent",
        "webInfo",
        "pushName",
        "connectType",
        "connectReason",
        "device",
        "pull",
        "lidDbMigrated",
        "lc",
    }
    agent = login.userAgent
    assert (agent.mcc, agent.mnc, agent.osVersion, agent.device, agent.osBuildNumber) == (
        "000",
        "000",
        "0.1",
        "Desktop",
        "0.1",
    )
    assert (agent.localeLanguageIso6391, agent.localeCountryIso31661Alpha2) == ("en", "US")
    assert login.passive and login.pull and login.lidDbMigrated and login.lc == 1
