"""Waiting for the server's ack of a message we sent (protocol-inventory §7.4).

``ack(class=message, id, t[, error][, phash])`` answers every message stanza. A send registers
its id before the stanza goes out and waits; the connection's ``ack`` handler resolves it. When
the socket ends every waiter fails, so a send never hangs on a dead connection.
"""

from __future__ import annotations

import asyncio
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


class ServerAcks:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[ServerAck]] = {}

    def expect(self, message_id: str) -> asyncio.Future[ServerAck]:
        """A future for the ack of ``message_id`` (register it before sending)."""
        future = self._waiting.get(message_id)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiting[message_id] = future
        return future

    def forget(self, message_id: str) -> None:
        self._waiting.pop(message_id, None)

    def resolve(self, ack: ServerAck) -> bool:
        future = self._waiting.pop(ack.message_id, None)
        if future is None or future.done():
            return False
        future.set_result(ack)
        return True

    def fail_all(self, reason: BaseException) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(reason)
