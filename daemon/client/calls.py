"""Incoming calls and status stanzas: recorded, acknowledged, and (optionally) declined.

A ``<call from=<caller> id t>`` stanza carries one signalling step (whatsmeow call.go):
``offer`` / ``offer_notice`` (it rings), ``terminate`` (the caller hung up), ``reject`` and
``accept`` (one of our devices answered), and media steps a companion has no use for. The
service redelivers every call stanza we do not ack on each reconnect, so each is acked — after
its event is committed (persist before ack), like a message.

With ``calls.auto_reject`` an offer is declined at once with
``<call to=<caller> id from=<us>><reject call-id call-creator count=0/></call>``: a CRM number
must not ring on the phone forever while nobody can answer.

``<status>`` stanzas (newsletter status updates, whatsmeow a2381054) carry nothing wamd
stores; they are acked so the service stops sending them again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.acks import build_ack
from daemon.client.call_events import CallEnded, CallOffered
from daemon.client.connection import Connection
from daemon.client.ids import new_message_id
from daemon.client.message_context import MessagingContext
from daemon.client.message_events import MessagingEvent
from daemon.log import mask_phone


class CallStep(enum.StrEnum):
    OFFER = "offer"
    OFFER_NOTICE = "offer_notice"
    TERMINATE = "terminate"
    REJECT = "reject"
    ACCEPT = "accept"


_ENDING = {
    CallStep.TERMINATE: "",
    CallStep.REJECT: "rejected_elsewhere",
    CallStep.ACCEPT: "accepted_elsewhere",
}


@dataclass(frozen=True, slots=True)
class CallSignal:
    step: CallStep
    call_id: str
    caller: JID
    """``from`` of the stanza: the calling account."""
    creator: JID
    """``call-creator``: the calling device."""
    at: int
    video: bool
    group: JID | None
    reason: str


def parse_call(node: Node) -> CallSignal | None:
    """The step of a call stanza, or None for steps (and shapes) wamd does not act on."""
    if len(node.children) != 1:
        return None
    child = node.children[0]
    try:
        step = CallStep(child.tag)
    except ValueError:
        return None
    try:
        caller = node.attr_jid("from")
        creator = child.attr_jid("call-creator") or caller
        group = child.attr_jid("group-jid")
        at = node.attr_int("t") or 0
    except (AttrError, JIDError):
        return None
    call_id = child.attr_str("call-id")
    if caller is None or creator is None or not call_id:
        return None
    return CallSignal(
        step=step,
        call_id=call_id,
        caller=caller,
        creator=creator,
        at=at,
        video=child.child("video") is not None or child.attr_str("media") == "video",
        group=group,
        reason=child.attr_str("reason") or "",
    )


def build_reject(own: JID, signal: CallSignal, message_id: str) -> Node:
    """Declines a ringing call (whatsmeow RejectCall)."""
    reject = Node(
        "reject",
        {"call-id": signal.call_id, "call-creator": signal.creator.to_non_ad(), "count": "0"},
    )
    return Node(
        "call",
        {"id": message_id, "from": own.to_non_ad(), "to": signal.caller.to_non_ad()},
        [reject],
    )


class CallHandler:
    def __init__(self, m: MessagingContext, connection: Connection) -> None:
        self._m = m
        self._connection = connection
        self.rejected = 0
        """Calls this handler declined (for tests and metrics)."""

    async def on_call(self, node: Node) -> None:
        m = self._m
        signal = parse_call(node)
        if signal is None:
            m.log.debug("client.call_step_ignored", step=_first_tag(node))
            await self._connection.send(build_ack(node))
            return
        reject = signal.step is CallStep.OFFER and m.session.options.auto_reject_calls
        events: list[MessagingEvent] = []
        caller = str(signal.caller.to_non_ad())
        at = float(signal.at or m.now())
        if signal.step in (CallStep.OFFER, CallStep.OFFER_NOTICE):
            group = str(signal.group) if signal.group is not None else None
            events.append(
                CallOffered(m.session_id, signal.call_id, caller, at, signal.video, group, reject)
            )
            if reject:
                events.append(CallEnded(m.session_id, signal.call_id, caller, at, "rejected"))
        else:
            reason = _ENDING[signal.step] or signal.reason or "ended"
            events.append(CallEnded(m.session_id, signal.call_id, caller, at, reason))
        async with m.unit() as unit:
            unit.extend(events)
        m.log.info(
            "client.call",
            step=signal.step.value,
            call_id=signal.call_id,
            caller=mask_phone(caller),
            rejected=reject,
        )
        await self._connection.send(build_ack(node))
        if reject:
            own = m.addressing.own_pn
            message_id = new_message_id(own.user, m.now())
            await self._connection.send(build_reject(own, signal, message_id))
            self.rejected += 1

    async def on_status(self, node: Node) -> None:
        self._m.log.debug("client.status_stanza", source=str(node.attrs.get("from", "")))
        await self._connection.send(build_ack(node))


def _first_tag(node: Node) -> str:
    return node.children[0].tag if node.children else ""
