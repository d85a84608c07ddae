from __future__ import annotations

import pytest

from daemon.crypto import adv, pair_code
from daemon.crypto.curve import KeyPair
from waproto import wa_adv_pb2


def _pair() -> tuple[KeyPair, KeyPair, bytes, bytes]:
    account, companion = KeyPair.generate(), KeyPair.generate()
    secret = bytes(range(32))
    container = adv.sign_companion(account, companion.public, secret, 777, 3, 1_700_000_000)
    return account, companion, secret, container


def test_adv_round_trip_phone_to_companion_to_server() -> None:
    account, companion, secret, container = _pair()
    accepted = adv.accept_pair_success(container, secret, companion)
    assert accepted.key_index == 3
    assert accepted.raw_id == 777
    assert accepted.account_signature_key == account.public
    reply = wa_adv_pb2.ADVSignedDeviceIdentity.FromString(accepted.reply_identity)
    assert not reply.HasField("accountSignatureKey")
    assert adv.verify_device_signature(accepted.reply_identity, companion.public, account.public)
    assert not adv.verify_device_signature(
        accepted.reply_identity, companion.public, KeyPair.generate().public
    )


def test_adv_wrong_secret_is_hmac_mismatch() -> None:
    _, companion, _, container = _pair()
    with pytest.raises(adv.AdvError) as info:
        adv.accept_pair_success(container, bytes(32), companion)
    assert (info.value.code, info.value.text) == (401, "hmac-mismatch")


def test_adv_identity_signed_for_another_device_is_signature_mismatch() -> None:
    _, _, secret, container = _pair()
    with pytest.raises(adv.AdvError) as info:
        adv.accept_pair_success(container, secret, KeyPair.generate())
    assert info.value.text == "signature-mismatch"


def test_adv_garbage_is_internal_error() -> None:
    with pytest.raises(adv.AdvError) as info:
        adv.accept_pair_success(b"\xff\xff\xff", bytes(32), KeyPair.generate())
    assert info.value.code == 500


def test_hosted_identity_uses_hosted_prefixes() -> None:
    account, companion = KeyPair.generate(), KeyPair.generate()
    secret = bytes(32)
    container = adv.sign_companion(account, companion.public, secret, 1, 1, 5, hosted=True)
    accepted = adv.accept_pair_success(container, secret, companion)
    assert accepted.key_index == 1


def test_pair_code_full_exchange_derives_the_same_adv_secret() -> None:
    code = pair_code.new_code()
    assert len(code) == 8
    companion_eph, companion_id = KeyPair.generate(), KeyPair.generate()
    primary_eph, primary_id = KeyPair.generate(), KeyPair.generate()
    hello = pair_code.wrap_ephemeral(code, companion_eph.public)
    assert len(hello) == 80
    # the phone: the user typed the code (with the dash, in lower case)
    typed = pair_code.display_code(code).lower()
    assert pair_code.unwrap_ephemeral(typed, hello) == companion_eph.public
    notification = pair_code.wrap_ephemeral(typed, primary_eph.public)
    finish = pair_code.companion_finish(
        code, companion_eph, companion_id, notification, primary_id.public
    )
    result = pair_code.primary_open_bundle(
        primary_eph,
        primary_id,
        companion_eph.public,
        finish.wrapped_key_bundle,
        companion_id.public,
    )
    assert result.adv_secret == finish.adv_secret
    assert result.companion_identity_public == companion_id.public


def test_pair_code_wrong_code_fails_cleanly() -> None:
    code = "ABCD2345"
    companion_eph, companion_id = KeyPair.generate(), KeyPair.generate()
    primary_eph, primary_id = KeyPair.generate(), KeyPair.generate()
    notification = pair_code.wrap_ephemeral("ZZZZ9999", primary_eph.public)
    # a wrong code unwraps to a different (random-looking) key, so the bundle cannot open
    finish = pair_code.companion_finish(
        code, companion_eph, companion_id, notification, primary_id.public
    )
    with pytest.raises(pair_code.PairCodeError, match="does not decrypt"):
        pair_code.primary_open_bundle(
            primary_eph,
            primary_id,
            companion_eph.public,
            finish.wrapped_key_bundle,
            companion_id.public,
        )


@pytest.mark.parametrize("bad", ["ABC", "ABCD-234O", "abcd23456", ""])
def test_pair_code_rejects_malformed_codes(bad: str) -> None:
    with pytest.raises(pair_code.PairCodeError):
        pair_code.normalize_code(bad)


def test_new_code_uses_all_forty_bits() -> None:
    assert pair_code.new_code(lambda n: bytes(n)) == "11111111"
    assert pair_code.new_code(lambda n: b"\xff" * n) == "ZZZZZZZZ"
