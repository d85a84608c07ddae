"""The phone's side of QR linking: the ADV container it signs is what a companion accepts."""

from __future__ import annotations

import pytest

from daemon.client.qr import QrPayload
from daemon.crypto import adv
from daemon.crypto.curve import KeyPair
from sandbox.directory import Account
from sandbox.phone.pairing import PairingError, adv_raw_id, scan_qr
from waproto import wa_adv_pb2


def _companion_qr(adv_secret: bytes) -> tuple[KeyPair, str]:
    identity = KeyPair.generate()
    qr = QrPayload("2@ref-one", KeyPair.generate().public, identity.public, adv_secret, "1")
    return identity, qr.to_string()


def test_scanned_container_is_accepted_by_the_companion() -> None:
    account = KeyPair.generate()
    secret = bytes(range(32))
    companion, text = _companion_qr(secret)

    scanned = scan_qr(text, account, raw_id=123456789, key_index=3, timestamp=1_700_000_000)

    assert scanned.ref == "2@ref-one"
    accepted = adv.accept_pair_success(scanned.device_identity, secret, companion)
    assert accepted.key_index == 3
    assert accepted.raw_id == 123456789
    assert accepted.timestamp == 1_700_000_000
    assert accepted.account_signature_key == account.public
    # The companion's countersignature is what the server checks before storing the device.
    assert adv.verify_device_signature(accepted.reply_identity, companion.public, account.public)


def test_container_is_bound_to_the_qr_secret_and_identity() -> None:
    account = KeyPair.generate()
    companion, text = _companion_qr(b"\x01" * 32)
    scanned = scan_qr(text, account, raw_id=1, key_index=1, timestamp=1)

    with pytest.raises(adv.AdvError) as wrong_secret:
        adv.accept_pair_success(scanned.device_identity, b"\x02" * 32, companion)
    assert wrong_secret.value.text == "hmac-mismatch"
    with pytest.raises(adv.AdvError) as other_device:
        adv.accept_pair_success(scanned.device_identity, b"\x01" * 32, KeyPair.generate())
    assert other_device.value.text == "signature-mismatch"


def test_container_is_an_e2ee_identity() -> None:
    account = KeyPair.generate()
    _, text = _companion_qr(bytes(32))
    scanned = scan_qr(text, account, raw_id=7, key_index=2, timestamp=5)
    outer = wa_adv_pb2.ADVSignedDeviceIdentityHMAC.FromString(scanned.device_identity)
    signed = wa_adv_pb2.ADVSignedDeviceIdentity.FromString(outer.details)
    details = wa_adv_pb2.ADVDeviceIdentity.FromString(signed.details)
    assert outer.accountType == wa_adv_pb2.E2EE
    assert details.deviceType == wa_adv_pb2.E2EE
    assert not signed.HasField("deviceSignature")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://wa.me/settings/linked_devices#ref,only,three",
        "ref,AAAA,AAAA,AAAA,1",
        "ref,@@@@,AAAA,AAAA,1",
    ],
)
def test_unreadable_qr_is_refused(text: str) -> None:
    with pytest.raises(PairingError, match="unreadable pairing QR"):
        scan_qr(text, KeyPair.generate(), raw_id=1, key_index=1, timestamp=1)


def test_key_index_zero_belongs_to_the_phone() -> None:
    _, text = _companion_qr(bytes(32))
    with pytest.raises(PairingError, match="start at 1"):
        scan_qr(text, KeyPair.generate(), raw_id=1, key_index=0, timestamp=1)


def test_raw_id_is_stable_per_account() -> None:
    identity = KeyPair.generate()
    account = Account("15550001111", "123456789012345", "Ann", identity, registration_id=7)
    assert adv_raw_id(account) == 789012345
    assert adv_raw_id(account) == adv_raw_id(
        Account("15550001111", "123456789012345", "Ann", identity, registration_id=7)
    )
