"""LID migration mapping sync messages (pure)."""

from __future__ import annotations

from daemon.binary import JID
from daemon.client.lid_sync import lid_sync_mappings, lid_sync_message
from waproto import wa_e2e_pb2

PN = JID.parse("15550002222@s.whatsapp.net")
LID = JID.parse("123456789012345@lid")


def test_the_mappings_a_phone_pushes_are_read_back() -> None:
    message = lid_sync_message([(PN, LID)])
    assert lid_sync_mappings(message) == [(PN, LID)]
    assert lid_sync_mappings(wa_e2e_pb2.Message.FromString(message.SerializeToString())) == [
        (PN, LID)
    ]


def test_other_messages_and_broken_payloads_carry_no_mappings() -> None:
    assert lid_sync_mappings(wa_e2e_pb2.Message(conversation="hi")) == []
    broken = lid_sync_message([(PN, LID)])
    broken.protocolMessage.lidMigrationMappingSyncMessage.encodedMappingPayload = b"\xff\xff"
    assert lid_sync_mappings(broken) == []
