"""Pure pieces of the sandbox: QR strings, media tokens and paths, directory rules, fault rules,
group nodes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from daemon.binary import JID, Node, Server
from daemon.crypto.curve import KeyPair
from sandbox.autoscan import QR_PREFIX, QrCode, QrError, parse_qr
from sandbox.directory import (
    HOSTED_DEVICE_ID,
    Account,
    Device,
    Directory,
    DirectoryError,
    lid_for_phone,
    phone_for_push_name,
)
from sandbox.faults import Direction, StanzaAction, StanzaRule
from sandbox.groups import Group, Role, group_node
from sandbox.media import blob_id_from_path, direct_path_for, token_matches


def test_qr_round_trip_with_and_without_prefix() -> None:
    qr = QrCode("2@abc", b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, "1")
    text = qr.to_string()
    assert text.startswith(QR_PREFIX)
    assert parse_qr(text) == qr
    assert parse_qr(text.removeprefix(QR_PREFIX)) == qr
    four_parts = ",".join(text.removeprefix(QR_PREFIX).split(",")[:4])
    assert parse_qr(four_parts).platform_id == "0"


@pytest.mark.parametrize(
    "text",
    ["", "2@abc", "2@abc,AAAA,AAAA,AAAA,1", "2@abc,!!!,x,y,1", ",,,,"],
)
def test_bad_qr_strings(text: str) -> None:
    with pytest.raises(QrError):
        parse_qr(text)


def test_media_token_is_the_body_hash_padded_or_not() -> None:
    body = b"blob"
    token = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()
    assert token.endswith("=")
    assert token_matches(token, body) and token_matches(token.rstrip("="), body)
    assert not token_matches(token, b"other")


def test_direct_paths_carry_a_query_and_name_the_blob() -> None:
    path = direct_path_for("ab" * 16)
    assert "?" in path
    assert blob_id_from_path(path + "&hash=x&mms-type=image") == "ab" * 16
    assert blob_id_from_path("/v/t62/../../etc/passwd") is None


def test_derived_numbers_are_stable_and_well_formed() -> None:
    assert lid_for_phone("15550001111") == lid_for_phone("15550001111")
    assert len(lid_for_phone("15550001111")) == 15
    assert lid_for_phone("15550001111") != lid_for_phone("15550001112")
    phone = phone_for_push_name("bot")
    assert phone == phone_for_push_name("bot") and phone.startswith("1555") and len(phone) == 11


def make_directory() -> tuple[Directory, Account]:
    directory = Directory()
    identity = KeyPair.generate()
    account = Account("15550001111", "100000000000001", "Alice", identity, 42)
    directory.add_account(account, Device("15550001111", 0, identity.public, 42))
    return directory, account


def test_directory_finds_accounts_and_devices_by_pn_and_lid() -> None:
    directory, account = make_directory()
    companion = Device("15550001111", 1, b"\x05" * 32, 7, noise_public=b"\x06" * 32)
    directory.add_device(companion)
    assert directory.account_of(JID("100000000000001", Server.LID, 1)) is account
    assert directory.device(JID("100000000000001", Server.LID, 1)) is companion
    assert directory.device(JID("15550001111", Server.PN, 1)) is companion
    assert directory.account_of(JID("15550001111", Server.LID)) is None
    assert directory.device_by_noise_key(b"\x06" * 32) is companion
    assert directory.to_lid(JID("15550001111", Server.PN, 1)) == JID(
        "100000000000001", Server.LID, 1
    )
    companion.logged_out = True
    assert [d.device_id for d in directory.devices("15550001111")] == [0]


def test_pn_forms_are_resolved_once_and_never_remember_a_miss() -> None:
    directory, account = make_directory()
    lid = JID("100000000000002", Server.LID, 3)
    assert directory.to_pn(lid) is None
    identity = KeyPair.generate()
    bob = Account("15550002222", "100000000000002", "Bob", identity, 43)
    directory.add_account(bob, Device("15550002222", 0, identity.public, 43))
    pn = directory.to_pn(lid)
    assert pn == JID("15550002222", Server.PN, 3)
    # The network keys every stanza it routes by this form: the second lookup is the first's.
    assert directory.to_pn(lid) is pn
    assert directory.to_pn(JID("15550001111", Server.PN, 1)) == account.pn_device(1)


def test_device_ids_are_reserved_and_never_reused() -> None:
    directory, _ = make_directory()
    first = directory.reserve_device_id("15550001111")
    second = directory.reserve_device_id("15550001111")
    assert (first, second) == (1, 2)
    directory.release_device_id("15550001111", first)
    directory.add_device(Device("15550001111", second, b"\x01" * 32, 1, logged_out=True))
    directory.release_device_id("15550001111", second)
    assert directory.reserve_device_id("15550001111") == 3
    with pytest.raises(DirectoryError):
        directory.reserve_device_id("15559999999")
    with pytest.raises(DirectoryError):
        directory.add_account(*_duplicate(directory))


def _duplicate(directory: Directory) -> tuple[Account, Device]:
    account = directory.account("15550001111")
    return account, Device(account.phone_user, 0, account.identity.public, 1)


def test_stanza_rules_match_direction_device_tag_and_count() -> None:
    device = JID("15550001111", Server.PN, 1)
    rule = StanzaRule(1, Direction.TO_DEVICE, StanzaAction.DROP, device, "message", remaining=1)
    message = Node("message", {"id": "1"})
    assert rule.matches(device, Direction.TO_DEVICE, message)
    assert not rule.matches(device, Direction.FROM_DEVICE, message)
    assert not rule.matches(JID("15550001111", Server.PN, 2), Direction.TO_DEVICE, message)
    assert not rule.matches(device, Direction.TO_DEVICE, Node("receipt"))
    rule.remaining = 0
    assert not rule.matches(device, Direction.TO_DEVICE, message)


def test_group_node_lists_participants_with_roles_and_lids() -> None:
    directory, account = make_directory()
    group = Group("120363000000000001", "Team", account.phone_user, 100)
    group.participants = {account.phone_user: Role.SUPERADMIN, "15550002222": Role.MEMBER}
    node = group_node(directory, group)
    assert node.attr_str("id") == group.user and node.attr_str("subject") == "Team"
    assert node.attr_jid("creator") == account.pn
    first, second = node.children_by_tag("participant")
    assert first.attr_str("type") == "superadmin" and first.attr_jid("lid") == account.lid
    assert second.attr_str("type") is None and second.attr_jid("lid") is None


def test_a_business_hosted_device_lives_on_the_hosted_servers() -> None:
    directory, account = make_directory()
    hosted = Device("15550001111", HOSTED_DEVICE_ID, b"\x07" * 32, 9, key_index=3)
    directory.add_device(hosted)
    assert hosted.is_hosted and hosted.jid() == JID("15550001111", Server.HOSTED, 99)
    assert account.lid_device(99) == JID("100000000000001", Server.HOSTED_LID, 99)
    assert directory.device(JID("100000000000001", Server.HOSTED_LID, 99)) is hosted
    assert directory.device(JID("15550001111", Server.HOSTED, 99)) is hosted
    # Device 99 is never a plain device, and the hosted servers name no other device.
    assert directory.device(JID("15550001111", Server.PN, 99)) is None
    assert directory.device(JID("15550001111", Server.HOSTED, 0)) is None
    assert directory.to_lid(hosted.jid()) == account.lid_device(99)
    assert directory.hosted_device("15550001111") is hosted
    assert [d.device_id for d in directory.devices("15550001111")] == [0]  # groups never
    # Companion ids go around it.
    directory.add_device(Device("15550001111", 98, b"\x08" * 32, 1))
    assert directory.reserve_device_id("15550001111") == 100
    hosted.logged_out = True
    assert directory.hosted_device("15550001111") is None
