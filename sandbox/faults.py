"""Fault injection: the failures a real network and a real server inflict, on demand.

* stanza rules: drop or delay stanzas to or from a device (or every device), or drop the
  connection at one (after sending it to the device, instead of handling it from the device),
  optionally only one tag (and first child's tag) and only the next N of them; applied where the
  server sends to an endpoint and where it reads from a socket;
* drop connections abruptly (the TCP connection is aborted, no close frame);
* send a ``stream:error`` with a given code and close;
* refuse logins with ``<failure reason=N>`` for one device or all;
* log a device out (``stream:error code=401 > conflict type=device_removed``; later logins
  get ``failure reason=401``).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog

from daemon.binary import JID, Node
from sandbox.device_lists import announce
from sandbox.stanzas import device_removed, stream_error

if TYPE_CHECKING:
    from sandbox.directory import Device
    from sandbox.network import Endpoint, Network

log = structlog.get_logger("sandbox.faults")


@runtime_checkable
class Socket(Protocol):
    """A live client socket, as fault injection sees it."""

    device: JID | None
    """The device logged in on it; None while registering."""

    async def deliver(self, node: Node) -> None: ...

    def abort(self) -> None:
        """Drop the TCP connection at once: no stream error, no close frame."""

    async def close_with(self, node: Node) -> None:
        """Send ``node`` (a stream error) and close."""


class Direction(enum.StrEnum):
    TO_DEVICE = "to_device"
    FROM_DEVICE = "from_device"


class StanzaAction(enum.StrEnum):
    DROP = "drop"
    DELAY = "delay"
    DISCONNECT = "disconnect"
    """Abort the device's connections: right after sending it the stanza (to_device), or
    instead of handling the stanza (from_device). A connection lost in the middle of a flow."""
    CORRUPT = "corrupt"
    """To a device only: every ``enc`` arrives with its MAC broken, so the device cannot
    decrypt it (what a damaged session looks like from the receiving side)."""


@dataclass(slots=True)
class StanzaRule:
    rule_id: int
    direction: Direction
    action: StanzaAction
    device: JID | None = None
    """A device (PN form), or None for every device."""
    tag: str | None = None
    """Only stanzas with this tag (message, receipt, iq, ...); None for all."""
    delay: float = 0.0
    remaining: int | None = None
    """How many more stanzas the rule applies to; None for no limit."""
    child: str | None = None
    """Only stanzas whose first child has this tag (``usync`` picks a device-list answer)."""
    source: JID | None = None
    source_alias: JID | None = None
    """The same sender's other address (its LID for a phone number): 2026 traffic names
    LID-migrated senders by LID."""
    """Only stanzas whose ``from`` is this user (any device); None for all."""
    stanza_id: str | None = None
    """Only stanzas with this ``id`` (the ack of one message); None for all."""

    def matches(self, device: JID, direction: Direction, node: Node) -> bool:
        children = node.children
        return (
            self.direction is direction
            and (self.device is None or self.device == device)
            and (self.tag is None or self.tag == node.tag)
            and (self.child is None or (bool(children) and children[0].tag == self.child))
            and (self.remaining is None or self.remaining > 0)
            and (self.source is None or _from_user(node) in self._source_users())
            and (self.stanza_id is None or node.attr_str("id") == self.stanza_id)
        )

    def _source_users(self) -> tuple[str, ...]:
        addresses = (self.source, self.source_alias)
        return tuple(address.user for address in addresses if address is not None)


def _from_user(node: Node) -> str | None:
    sender = node.attrs.get("from")
    return sender.user if isinstance(sender, JID) else None


@dataclass(frozen=True, slots=True)
class LoginRefusal:
    reason: int
    device: JID | None = None


class Faults:
    def __init__(self, network: Network) -> None:
        self._network = network
        self._ids = itertools.count(1)
        self.rules: list[StanzaRule] = []
        self.refusals: list[LoginRefusal] = []
        self._pending: set[asyncio.Task[None]] = set()

    # Stanza rules

    def add_rule(
        self,
        direction: Direction,
        action: StanzaAction,
        *,
        device: JID | None = None,
        tag: str | None = None,
        delay: float = 0.0,
        count: int | None = None,
        child: str | None = None,
        source: JID | None = None,
        source_alias: JID | None = None,
        stanza_id: str | None = None,
    ) -> StanzaRule:
        if action is StanzaAction.DELAY and not 0 < delay <= 600:
            raise ValueError("a delay is between 0 and 600 seconds")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        if action is StanzaAction.CORRUPT and direction is not Direction.TO_DEVICE:
            raise ValueError("corrupt applies to stanzas sent to a device")
        rule = StanzaRule(
            next(self._ids),
            direction,
            action,
            device,
            tag,
            delay,
            count,
            child,
            source,
            source_alias,
            stanza_id,
        )
        self.rules.append(rule)
        return rule

    def remove_rule(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.rule_id != rule_id]
        return len(self.rules) != before

    def clear_rules(self) -> None:
        self.rules.clear()

    def _take(self, device: JID, direction: Direction, node: Node) -> StanzaRule | None:
        for rule in self.rules:
            if rule.matches(device, direction, node):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        return None

    async def deliver_through(self, device: JID, endpoint: Endpoint, node: Node) -> None:
        """Sends ``node`` to ``endpoint`` unless a rule drops or delays it."""
        rule = self._take(device, Direction.TO_DEVICE, node)
        if rule is None:
            await endpoint.deliver(node)
        elif rule.action is StanzaAction.DELAY:
            self._spawn(self._deliver_later(endpoint, node, rule.delay))
        elif rule.action is StanzaAction.DISCONNECT:
            await endpoint.deliver(node)
            dropped = self.drop_connections(device)
            log.info(
                "sandbox.fault_disconnected", device=str(device), tag=node.tag, sockets=dropped
            )
        elif rule.action is StanzaAction.CORRUPT:
            log.info("sandbox.fault_corrupted", device=str(device), tag=node.tag)
            await endpoint.deliver(corrupted(node))
        else:
            log.info("sandbox.fault_dropped", device=str(device), tag=node.tag, to_device=True)

    async def _deliver_later(self, endpoint: Endpoint, node: Node, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await endpoint.deliver(node)
        except Exception as exc:
            log.info("sandbox.delayed_delivery_failed", tag=node.tag, error=repr(exc))

    async def inbound(self, device: JID, node: Node) -> bool:
        """Applies rules to a stanza read from a device; False means drop it. A delay holds
        the socket's reader, so later stanzas from that device wait too (order is kept)."""
        rule = self._take(device, Direction.FROM_DEVICE, node)
        if rule is None:
            return True
        if rule.action is StanzaAction.DELAY:
            await asyncio.sleep(rule.delay)
            return True
        if rule.action is StanzaAction.DISCONNECT:
            dropped = self.drop_connections(device)
            log.info(
                "sandbox.fault_disconnected", device=str(device), tag=node.tag, sockets=dropped
            )
            return False
        log.info("sandbox.fault_dropped", device=str(device), tag=node.tag, to_device=False)
        return False

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def cancel_pending(self) -> None:
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        self._pending.clear()

    # Logins

    def refuse_logins(self, reason: int, device: JID | None = None) -> LoginRefusal:
        refusal = LoginRefusal(reason, device)
        self.refusals.append(refusal)
        return refusal

    def allow_logins(self, device: JID | None = None) -> None:
        """Lifts the refusals for ``device`` (or all refusals when None)."""
        if device is None:
            self.refusals.clear()
        else:
            self.refusals = [r for r in self.refusals if r.device != device]

    def login_refusal(self, device: JID) -> int | None:
        for refusal in self.refusals:
            if refusal.device is None or refusal.device == device:
                return refusal.reason
        return None

    # Connections

    def sockets(self, device: JID | None = None) -> list[Socket]:
        return [s for s in self._network.sockets if device is None or s.device == device]

    def drop_connections(self, device: JID | None = None) -> int:
        sockets = self.sockets(device)
        for socket in sockets:
            socket.abort()
        return len(sockets)

    async def send_stream_error(self, code: int, device: JID | None = None) -> int:
        sockets = self.sockets(device)
        for socket in sockets:
            await socket.close_with(stream_error(code))
        return len(sockets)

    async def log_out(self, device: Device) -> int:
        """Removes a companion: persisted as logged out, its queue dropped, its sockets told
        ``device_removed``. Returns how many sockets were closed."""
        network = self._network
        device.logged_out = True
        device.prekeys.clear()
        jid = device.jid()
        async with network.state.transaction():
            await network.state.save_device(device)
            await network.state.delete_prekeys(device)
            await network.offline.forget(jid)
        sockets = self.sockets(jid)
        for socket in sockets:
            await socket.close_with(device_removed())
        await announce(network, device, added=False)
        return len(sockets)


def corrupted(node: Node) -> Node:
    """``node`` with the last bytes (the MAC) of every ``enc`` flipped."""

    def broken(child: Node) -> Node:
        body = child.content
        if child.tag != "enc" or not isinstance(body, bytes) or len(body) < 8:
            return child
        return Node(child.tag, child.attrs, body[:-8] + bytes(b ^ 0xFF for b in body[-8:]))

    return Node(node.tag, node.attrs, [broken(c) for c in node.children] or node.content)
