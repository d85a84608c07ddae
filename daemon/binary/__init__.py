"""WhatsApp's binary node codec ("WABinary"): Node, JID, marshal, unmarshal. Pure, no I/O.

``marshal(node)`` gives a frame payload (flag byte 0x00, then the node) and reproduces Baileys'
encoder byte for byte; ``unmarshal(payload)`` reads the flag byte, inflates compressed frames and
raises ``DecodeError`` (with the failing byte offset) for anything malformed. See ``encoder`` for
how strings and JIDs are written and ``decoder`` for the types values come back as.
"""

from daemon.binary.decoder import unmarshal
from daemon.binary.encoder import marshal
from daemon.binary.errors import AttrError, DecodeError, EncodeError, JIDError
from daemon.binary.jid import (
    BROADCAST_SERVER_JID,
    GROUP_SERVER_JID,
    JID,
    LID_SERVER_JID,
    OFFICIAL_BUSINESS_JID,
    PSA_JID,
    SERVER_JID,
    STATUS_BROADCAST_JID,
    Server,
)
from daemon.binary.node import AttrValue, Content, Node
from daemon.binary.tokens import DICT_VERSION

__all__ = [
    "BROADCAST_SERVER_JID",
    "DICT_VERSION",
    "GROUP_SERVER_JID",
    "JID",
    "LID_SERVER_JID",
    "OFFICIAL_BUSINESS_JID",
    "PSA_JID",
    "SERVER_JID",
    "STATUS_BROADCAST_JID",
    "AttrError",
    "AttrValue",
    "Content",
    "DecodeError",
    "EncodeError",
    "JIDError",
    "Node",
    "Server",
    "marshal",
    "unmarshal",
]
