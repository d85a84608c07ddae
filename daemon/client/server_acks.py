"""The server's ack of a message we sent (protocol-inventory §7.4).

``ack(class=message, id, t[, error][, phash])`` answers every message stanza. A send waits for
it by message id (``AwaitedAnswers[ServerAck]``, daemon/client/awaited_answers.py): registered
before the stanza goes out, resolved by the connection's ``ack`` handler, failed when the socket
ends, so a send never hangs on a dead connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.binary import AttrError, Node


@dataclass(frozen=True, slots=True)
class ServerAck:
    message_id: str
    timestamp: int | None
    error: int | None
    phash: str | None = None
    """The hash of the devices the server delivered to, when it differs from ours."""


def parse_server_ack(node: Node) -> ServerAck | None:
    """The ack of one of our messages, or None for an ack of something else."""
    if node.attr_str("class") != "message":
        return None
    message_id = node.attr_str("id")
    if not message_id:
        return None
    try:
        timestamp = node.attr_int("t")
        error = node.attr_int("error")
    except AttrError:
        timestamp, error = None, 500
    return ServerAck(message_id, timestamp, error, node.attr_str("phash") or None)
