"""Voice and video calls, as far as a linked device sees them: signalling only, no media.

A call is a ``<call from=<caller> id t platform version>`` stanza with one child per step
(whatsmeow call.go): ``offer`` (rings; ``call-id``, ``call-creator``, an ``audio`` and, for
video, a ``video`` child), ``terminate`` (the caller hung up, ``reason``), ``reject`` (a callee
device declined) and ``accept``. The server sends every device of the callee the offer and
keeps it queued until the device acks it (``ack class=call``), like messages.

A companion that declines sends ``<call to=<caller>><reject call-id call-creator count=0/>``;
the server acks it, tells the caller's devices, and the call ends for every other device of
the callee with a ``terminate``. The sandbox remembers every call and how it ended, so a test
can see that a CRM number rejected it instead of letting it ring.

A ``<status>`` stanza (a newsletter status update, whatsmeow a2381054) is delivered the same
way; the client only has to ack it.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field

import structlog

from daemon.binary import JID, Node
from sandbox.directory import Account
from sandbox.network import Network
from sandbox.stanzas import ack, new_server_id

log = structlog.get_logger("sandbox.calls")

CALLER_PLATFORM = "android"
CALLER_VERSION = "2.26.31.72"


class CallState(enum.StrEnum):
    RINGING = "ringing"
    REJECTED = "rejected"
    ENDED = "ended"
    ACCEPTED = "accepted"


@dataclass(slots=True)
class Call:
    call_id: str
    caller: JID
    """The caller's account (phone-number JID)."""
    callee: JID
    video: bool
    started_at: int
    state: CallState = CallState.RINGING
    ended_by: JID | None = None
    """The device that rejected or accepted, or the caller that hung up."""
    reason: str = ""
    devices: list[JID] = field(default_factory=list)
    """The callee devices the offer went to."""


class CallDesk:
    """Every call placed in this sandbox (in memory: a call does not survive a restart)."""

    def __init__(self, network: Network) -> None:
        self._network = network
        self._calls: dict[str, Call] = {}

    def all(self) -> list[Call]:
        return list(self._calls.values())

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    async def place(self, caller: Account, callee: Account, *, video: bool = False) -> Call:
        """The caller's phone rings every companion of the callee."""
        network = self._network
        call = Call(
            call_id=secrets.token_hex(16).upper(),
            caller=caller.pn,
            callee=callee.pn,
            video=video,
            started_at=network.now(),
        )
        self._calls[call.call_id] = call
        media = [Node("audio", {"enc": "opus", "rate": "16000"})]
        if video:
            media.append(Node("video", {"enc": "vp8", "dec": "vp8"}))
        offer = Node(
            "offer",
            {"call-id": call.call_id, "call-creator": caller.pn_device(0)},
            [*media, Node("net", {"medium": "3"})],
        )
        for device in network.directory.devices(callee.phone_user):
            if device.is_phone or device.logged_out:
                continue
            call.devices.append(device.jid())
            await network.deliver(device.jid(), self._stanza(caller.pn, offer))
        log.info("sandbox.call_offered", call_id=call.call_id, devices=len(call.devices))
        return call

    async def hang_up(self, call: Call) -> None:
        """The caller ends a call that is still ringing."""
        if call.state is not CallState.RINGING:
            return
        call.state, call.ended_by, call.reason = CallState.ENDED, call.caller, "timeout"
        await self._terminate(call, call.devices, "timeout")

    async def from_device(self, sender: JID, account: Account, node: Node) -> None:
        """A ``call`` stanza a client sent: acked; a reject ends the call."""
        network = self._network
        await network.deliver(sender, ack(node, t=network.now()), queue=False)
        for child in node.children:
            call = self._calls.get(child.attr_str("call-id") or "")
            if call is None:
                log.debug("sandbox.call_unknown", step=child.tag)
                continue
            if call.state is not CallState.RINGING:
                continue
            if child.tag == "reject":
                call.state, call.reason = CallState.REJECTED, "rejected"
            elif child.tag == "accept":
                call.state, call.reason = CallState.ACCEPTED, "accepted"
            else:
                continue
            call.ended_by = sender
            log.info("sandbox.call_answered", call_id=call.call_id, step=child.tag)
            others = [d for d in call.devices if d != sender]
            reason = "accepted_elsewhere" if child.tag == "accept" else ""
            await self._terminate(call, others, reason)

    async def _terminate(self, call: Call, devices: list[JID], reason: str) -> None:
        attrs: dict[str, str | JID] = {
            "call-id": call.call_id,
            "call-creator": JID(call.caller.user, call.caller.server, 0),
        }
        if reason:
            attrs["reason"] = reason
        terminate = Node("terminate", attrs)
        for device in devices:
            await self._network.deliver(device, self._stanza(call.caller, terminate))

    def _stanza(self, caller: JID, child: Node) -> Node:
        return Node(
            "call",
            {
                "from": caller,
                "id": new_server_id(),
                "t": str(self._network.now()),
                "platform": CALLER_PLATFORM,
                "version": CALLER_VERSION,
            },
            [child],
        )


def call_json(call: Call) -> dict[str, object]:
    return {
        "callId": call.call_id,
        "caller": str(call.caller),
        "callee": str(call.callee),
        "video": call.video,
        "state": call.state.value,
        "endedBy": str(call.ended_by) if call.ended_by is not None else None,
        "reason": call.reason,
        "devices": [str(d) for d in call.devices],
    }


def status_stanza(newsletter: JID, network: Network) -> Node:
    """A newsletter status update as the server pushes it (plaintext, to be acked)."""
    return Node(
        "status",
        {"from": newsletter, "id": new_server_id(), "t": str(network.now()), "type": "text"},
        [Node("plaintext", {}, b"\x0a\x06status")],
    )
