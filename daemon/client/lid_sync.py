"""PN ↔ LID mappings the primary phone pushes in a ``LID_MIGRATION_MAPPING_SYNC`` protocol
message (pure). The payload is a serialized ``LIDMigrationMappingSyncPayload`` of numbers: the
user parts of ``<pn>@s.whatsapp.net`` and ``<assignedLid>@lid`` (whatsmeow message.go)."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from daemon.binary import JID, Server
from waproto import wa_e2e_pb2


def lid_sync_mappings(message: wa_e2e_pb2.Message) -> list[tuple[JID, JID]]:
    """The (PN, LID) pairs a LID migration mapping sync message carries ([] for anything
    else, or an unreadable payload)."""
    if not message.HasField("protocolMessage"):
        return []
    protocol = message.protocolMessage
    if (
        protocol.type != wa_e2e_pb2.ProtocolMessage.LID_MIGRATION_MAPPING_SYNC
        or not protocol.HasField("lidMigrationMappingSyncMessage")
    ):
        return []
    try:
        payload = wa_e2e_pb2.LIDMigrationMappingSyncPayload.FromString(
            protocol.lidMigrationMappingSyncMessage.encodedMappingPayload
        )
    except DecodeError:
        return []
    return [
        (JID(str(mapping.pn), Server.PN), JID(str(mapping.assignedLid), Server.LID))
        for mapping in payload.pnToLidMappings
        if mapping.pn and mapping.assignedLid
    ]


def lid_sync_message(mappings: list[tuple[JID, JID]]) -> wa_e2e_pb2.Message:
    """The protocol message a phone sends its companions (the sandbox's phone uses it)."""
    payload = wa_e2e_pb2.LIDMigrationMappingSyncPayload(
        pnToLidMappings=[
            wa_e2e_pb2.LIDMigrationMapping(pn=int(pn.user), assignedLid=int(lid.user))
            for pn, lid in mappings
        ]
    )
    return wa_e2e_pb2.Message(
        protocolMessage=wa_e2e_pb2.ProtocolMessage(
            type=wa_e2e_pb2.ProtocolMessage.LID_MIGRATION_MAPPING_SYNC,
            lidMigrationMappingSyncMessage=wa_e2e_pb2.LIDMigrationMappingSyncMessage(
                encodedMappingPayload=payload.SerializeToString()
            ),
        )
    )
