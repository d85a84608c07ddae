"""PN ↔ LID: canonical account JIDs and the Signal addresses sessions are keyed by."""

from __future__ import annotations

import pytest

from daemon.binary import JID, Node
from daemon.client.addressing import Addressing
from daemon.client.incoming import parse_message
from daemon.signal.address import ProtocolAddress

OWN_PN = JID.parse("15550001111:3@s.whatsapp.net")
OWN_LID = JID.parse("111@lid")
BOB_PN = JID.parse("15550002222@s.whatsapp.net")
BOB_LID = JID.parse("222@lid")


def test_own_identity() -> None:
    addressing = Addressing(OWN_PN, OWN_LID)
    assert addressing.own_pn == OWN_PN.to_non_ad() and addressing.own_device == 3
    assert addressing.is_own(JID.parse("111:7@lid")) and addressing.is_own(OWN_PN.with_device(0))
    assert addressing.is_own_device(OWN_PN) and not addressing.is_own_device(OWN_PN.with_device(0))
    assert addressing.own_sender_key_name(JID.parse("1203@g.us")).sender == ProtocolAddress(
        "111_1", 3
    )


def test_unknown_peers_keep_their_names() -> None:
    addressing = Addressing(OWN_PN, None)
    device = BOB_PN.with_device(2)
    assert addressing.account(device) == BOB_PN
    assert addressing.signal_address(device) == ProtocolAddress("15550002222", 2)
    assert addressing.account(BOB_LID.with_device(1)) == BOB_LID
    assert addressing.lid_of(BOB_PN) is None and addressing.pn_of(BOB_LID) is None
    assert addressing.own_sender_key_name(JID.parse("1@g.us")).sender.name == "15550001111"


def test_learnt_mapping_moves_signal_keys_to_the_lid() -> None:
    addressing = Addressing(OWN_PN, OWN_LID)
    assert addressing.learn(BOB_PN, BOB_LID)
    assert not addressing.learn(BOB_PN, BOB_LID)
    assert addressing.account(BOB_LID.with_device(4)) == BOB_PN
    assert addressing.signal_address(BOB_PN.with_device(4)) == ProtocolAddress("222_1", 4)
    assert addressing.signal_address(BOB_LID.with_device(4)) == ProtocolAddress("222_1", 4)
    sender_key = addressing.sender_key_name(JID.parse("1203@g.us"), BOB_PN.with_device(1))
    assert str(sender_key) == "1203@g.us::222_1::1"
    # A number handed to another person: the old LID no longer maps to it.
    other = JID.parse("333@lid")
    assert addressing.learn(BOB_PN, other)
    assert addressing.lid_of(BOB_PN) == other and addressing.pn_of(BOB_LID) is None
    with pytest.raises(ValueError):
        addressing.learn(BOB_LID, BOB_PN)


def test_a_hosted_device_belongs_to_its_accounts_chat_and_keeps_its_signal_address() -> None:
    addressing = Addressing(OWN_PN, OWN_LID)
    hosted_lid = JID.parse("222:99@hosted.lid")
    hosted_pn = JID.parse("15550002222:99@hosted")
    assert hosted_lid.unhosted() == BOB_LID.with_device(99)
    assert BOB_PN.unhosted() is BOB_PN
    assert addressing.account(hosted_lid) == BOB_LID  # no mapping yet
    assert addressing.signal_address(hosted_pn) == ProtocolAddress("15550002222_128", 99)
    assert addressing.learn(BOB_PN, BOB_LID)
    assert addressing.account(hosted_lid) == BOB_PN
    assert addressing.account(hosted_pn) == BOB_PN
    # Sessions with the hosted device live under its hosted LID address, whichever form.
    assert addressing.signal_address(hosted_pn) == ProtocolAddress("222_129", 99)
    assert addressing.signal_address(hosted_lid) == ProtocolAddress("222_129", 99)
    assert not addressing.is_own(hosted_lid) and addressing.is_own(JID.parse("111:99@hosted.lid"))


def test_a_hosted_devices_message_is_named_by_its_account() -> None:
    node = Node(
        "message",
        {
            "id": "M",
            "from": JID.parse("222:99@hosted.lid"),
            "sender_pn": BOB_PN,
            "t": "1",
            "notify": "Biz",
        },
        [Node("enc", {"v": "2", "type": "msg"}, b"\x01")],
    )
    incoming = parse_message(node)
    assert incoming.sender == JID.parse("222:99@hosted.lid")
    assert incoming.chat == BOB_LID and incoming.sender_alt == BOB_PN
