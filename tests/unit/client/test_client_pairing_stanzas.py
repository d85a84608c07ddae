"""Pairing stanzas: pair-device refs, pair-success with a phone-signed identity, the signed
answer, and the phone-code stanzas; plus QR strings from our credentials."""

from __future__ import annotations

import pytest

from daemon.binary import JID, SERVER_JID, Node, Server
from daemon.client.credentials import new_device_keys
from daemon.client.errors import InvalidPhoneNumber, StanzaError
from daemon.client.pair_code import (
    build_companion_finish,
    build_companion_hello,
    normalize_phone,
    parse_hello_answer,
    parse_primary_hello,
)
from daemon.client.pairing import (
    build_pair_sign,
    parse_pair_device,
    parse_pair_success,
    primary_identity_address,
)
from daemon.client.qr import QrPayload
from daemon.crypto import pair_code
from daemon.crypto.adv import accept_pair_success, sign_companion, verify_device_signature
from daemon.crypto.curve import KeyPair


def test_pair_device_refs() -> None:
    node = Node(
        "iq",
        {"from": SERVER_JID, "type": "set", "id": "1", "xmlns": "md"},
        [Node("pair-device", {}, [Node("ref", {}, b"2@abc"), Node("ref", {}, b"2@def")])],
    )
    assert parse_pair_device(node) == ["2@abc", "2@def"]
    with pytest.raises(StanzaError):
        parse_pair_device(Node("iq", {}, [Node("pair-device")]))


def pair_success(container: bytes, lid: bool = True) -> Node:
    device_attrs: dict[str, str | JID] = {"jid": JID("15550001111", Server.PN, 4)}
    if lid:
        device_attrs["lid"] = JID("987654321", Server.LID, 4)
    return Node(
        "iq",
        {"from": SERVER_JID, "type": "set", "id": "77", "t": "1700000000", "xmlns": "md"},
        [
            Node(
                "pair-success",
                {},
                [
                    Node("device-identity", {}, container),
                    Node("platform", {"name": "android"}),
                    Node("device", device_attrs),
                    Node("biz", {"name": "Shop"}),
                ],
            )
        ],
    )


def test_pair_success_round_trip_with_a_phone_signature() -> None:
    keys = new_device_keys()
    account = KeyPair.generate()
    container = sign_companion(
        account, keys.identity.public, keys.adv_secret, raw_id=5, key_index=3, timestamp=1
    )
    node = pair_success(container)
    success = parse_pair_success(node)
    assert success.jid == JID("15550001111", Server.PN, 4)
    assert success.lid == JID("987654321", Server.LID, 4)
    assert (success.platform, success.business_name, success.server_time) == (
        "android",
        "Shop",
        1700000000,
    )
    assert str(primary_identity_address(success)) == "987654321_1.0"
    identity = KeyPair(keys.identity.private, keys.identity.public)
    accepted = accept_pair_success(success.device_identity, keys.adv_secret, identity)
    answer = build_pair_sign(node, accepted)
    assert answer.attrs["type"] == "result" and answer.attrs["id"] == "77"
    signed = answer.child("pair-device-sign", "device-identity")
    assert signed is not None and signed.attrs == {"key-index": "3"}
    assert verify_device_signature(signed.content_bytes() or b"", identity.public, account.public)


def test_pair_success_without_lid_trusts_the_pn_account() -> None:
    success = parse_pair_success(pair_success(b"x", lid=False))
    assert success.lid is None
    assert str(primary_identity_address(success)) == "15550001111.0"


@pytest.mark.parametrize(
    "node",
    [
        Node("iq", {}, [Node("pair-success")]),
        Node("iq", {}, [Node("pair-success", {}, [Node("device-identity", {}, b"x")])]),
        Node(
            "iq",
            {},
            [
                Node(
                    "pair-success",
                    {},
                    [
                        Node("device-identity", {}, b"x"),
                        Node("device", {"jid": JID("15550001111", Server.PN, 0)}),
                    ],
                )
            ],
        ),
    ],
)
def test_incomplete_pair_success_is_refused(node: Node) -> None:
    with pytest.raises(StanzaError):
        parse_pair_success(node)


def test_qr_string_carries_our_public_keys() -> None:
    keys = new_device_keys()
    text = QrPayload("2@ref", keys.noise.public, keys.identity.public, keys.adv_secret, "1")
    parsed = QrPayload.parse(text.to_string())
    assert parsed.noise_public == keys.noise.public and parsed.platform_id == "1"


@pytest.mark.parametrize(
    ("given", "digits"),
    [("+1 (555) 010-9999", "15550109999"), ("4915123456789", "4915123456789")],
)
def test_phone_numbers(given: str, digits: str) -> None:
    assert normalize_phone(given) == digits


@pytest.mark.parametrize("bad", ["", "+12345", "0049151234567", "1" * 21])
def test_bad_phone_numbers(bad: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(bad)


def test_code_pairing_stanzas_and_crypto_agree_with_the_phone_side() -> None:
    keys = new_device_keys()
    code = pair_code.new_code(lambda n: bytes(range(n)))
    companion_eph = KeyPair.generate()
    wrapped = pair_code.wrap_ephemeral(code, companion_eph.public)
    hello = build_companion_hello("15550001111", wrapped, keys.noise.public, "1", "Chrome (Linux)")
    reg = hello.child("link_code_companion_reg")
    assert reg is not None
    assert reg.attrs["stage"] == "companion_hello"
    assert reg.attrs["jid"] == JID("15550001111", Server.PN)
    assert [c.tag for c in reg.children] == [
        "link_code_pairing_wrapped_companion_ephemeral_pub",
        "companion_server_auth_key_pub",
        "companion_platform_id",
        "companion_platform_display",
        "link_code_pairing_nonce",
    ]
    answer = Node(
        "iq", {}, [Node("link_code_companion_reg", {}, [Node("link_code_pairing_ref", {}, b"REF")])]
    )
    assert parse_hello_answer(answer) == b"REF"

    # The phone's side, then ours.
    primary = KeyPair.generate()
    primary_eph = KeyPair.generate()
    notification = Node(
        "notification",
        {"type": "link_code_companion_reg"},
        [
            Node(
                "link_code_companion_reg",
                {"stage": "primary_hello"},
                [
                    Node("link_code_pairing_ref", {}, b"REF"),
                    Node("primary_identity_pub", {}, primary.public),
                    Node(
                        "link_code_pairing_wrapped_primary_ephemeral_pub",
                        {},
                        pair_code.wrap_ephemeral(code, primary_eph.public),
                    ),
                ],
            )
        ],
    )
    parsed = parse_primary_hello(notification)
    identity = KeyPair(keys.identity.private, keys.identity.public)
    finish = pair_code.companion_finish(
        code,
        companion_eph,
        identity,
        parsed.wrapped_primary_ephemeral,
        parsed.primary_identity_public,
    )
    stanza = build_companion_finish("15550001111", finish, parsed.ref)
    finish_reg = stanza.child("link_code_companion_reg")
    assert finish_reg is not None and finish_reg.attrs["stage"] == "companion_finish"
    bundle = finish_reg.child("link_code_pairing_wrapped_key_bundle")
    assert bundle is not None
    opened = pair_code.primary_open_bundle(
        primary_eph, primary, companion_eph.public, bundle.content_bytes() or b"", identity.public
    )
    assert opened.adv_secret == finish.adv_secret


def test_incomplete_primary_hello_is_refused() -> None:
    with pytest.raises(StanzaError):
        parse_primary_hello(Node("notification", {}, [Node("link_code_companion_reg")]))
