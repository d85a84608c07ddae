"""What the server does with each stanza a device sends (protocol-inventory §13.4).

* ``iq``: answered by the handler of its xmlns (``sandbox.iq``);
* ``message``: acked to the sender with the server time, then fanned out: one copy per device
  listed in ``participants`` (each with its own ``enc``), for groups every member device also
  gets the shared ``skmsg``; a message without ``participants`` (a peer message) goes to the
  one device it names (own account, non-AD: the phone);
* ``receipt``: acked, counts as the ack of the messages it names, and is forwarded to the
  original sender's devices (``inactive`` becomes a plain delivery receipt; ``retry`` goes only
  to the device that sent the message);
* ``ack``: removes the acked stanza from the device's queue;
* ``presence`` / ``chatstate``: relayed, never queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from daemon.binary import JID, Node
from daemon.log import UnknownKinds
from sandbox import iq_groups, iq_misc, iq_prekeys, iq_usync
from sandbox.device_lists import expected_phash
from sandbox.directory import Account, Device
from sandbox.iq import IqContext, IqFailure, IqHandler
from sandbox.service_rules import NACK_NO_PRIVACY_TOKEN, Verdict
from sandbox.stanzas import ack, iq_error

if TYPE_CHECKING:
    from sandbox.network import Network

log = structlog.get_logger("sandbox.routing")

FORWARDED_RECEIPTS = {None: None, "inactive": None, "read": "read", "played": "played"}
"""Receipt types relayed to the sender's devices, and the type they arrive with there.
``inactive`` (sent by clients that have not announced presence) arrives as a plain delivery
receipt: otherwise the sender would never see its message delivered."""
SELF_RECEIPTS = frozenset(
    {"sender", "peer_msg", "hist_sync", "read-self", "played-self", "server-error"}
)
"""Receipts among one account's own devices: relayed, as they are, to the one device named
(``server-error``, a media-retry request, goes to the phone: ``to`` is the own account)."""
_CARRIED_MESSAGE_ATTRS = ("type", "edit", "category", "push_priority", "expiration")


@dataclass(frozen=True, slots=True)
class _Sender:
    jid: JID
    device: Device
    account: Account

    def address(self, lid: bool) -> JID:
        """This device's JID in the addressing (PN or LID) of the conversation."""
        if lid:
            return self.account.lid_device(self.device.device_id)
        return self.account.pn_device(self.device.device_id)

    @property
    def push_name(self) -> str:
        return self.device.push_name or self.account.push_name


class Router:
    def __init__(self, network: Network) -> None:
        self._network = network
        self._iq: dict[str, IqHandler] = iq_handlers()
        self._subscribers: dict[str, set[JID]] = {}
        self._available: dict[str, set[int]] = {}
        self._unknown = UnknownKinds(log, "sandbox.unhandled_stanza")

    async def handle(self, sender: JID, node: Node) -> None:
        try:
            await self._dispatch(sender, node)
        except Exception:
            # One stanza the sandbox cannot handle must not take the device's connection down.
            log.exception("sandbox.stanza_failed", device=str(sender), tag=node.tag)

    async def _dispatch(self, sender: JID, node: Node) -> None:
        network = self._network
        device = network.directory.device(sender)
        account = network.directory.account_of(sender)
        if device is None or account is None or device.logged_out:
            log.info("sandbox.stanza_from_unknown_device", device=str(sender), tag=node.tag)
            return
        who = _Sender(sender, device, account)
        tag = node.tag
        if tag == "iq":
            await self._iq_stanza(who, node)
        elif tag == "message":
            await self._message(who, node)
        elif tag == "receipt":
            await self._receipt(who, node)
        elif tag == "ack":
            if (stanza_class := node.attr_str("class")) and (stanza_id := node.attr_str("id")):
                await network.offline.acknowledge(sender, stanza_class, [stanza_id])
        elif tag == "presence":
            await self._presence(who, node)
        elif tag == "chatstate":
            await self._chatstate(who, node)
        elif tag == "call":
            await network.calls.from_device(who.jid, who.account, node)
        elif tag != "ib":
            # ib (unified_session, offline_batch) needs no server action; anything else is new.
            self._unknown.note(f"stanza:{tag}")

    # iq

    async def _iq_stanza(self, who: _Sender, iq: Node) -> None:
        if iq.attr_str("type") not in ("get", "set"):
            return  # answers to server-initiated iqs; none are pending outside pairing
        handler = self._iq.get(iq.attr_str("xmlns") or "")
        try:
            if handler is None:
                self._unknown.note(f"iq:{iq.attr_str('xmlns') or ''}")
                raise IqFailure(501, "feature-not-implemented")
            answer = await handler(IqContext(self._network, who.jid, who.device, who.account), iq)
        except IqFailure as exc:
            answer = iq_error(iq, exc.code, exc.text)
        except Exception:
            log.exception("sandbox.iq_handler_failed", xmlns=iq.attr_str("xmlns"))
            answer = iq_error(iq, 500, "internal-server-error")
        if answer is not None:
            await self._network.deliver(who.jid, answer, queue=False)

    # message

    async def _message(self, who: _Sender, message: Node) -> None:
        network = self._network
        to = message.attr_jid("to")
        t = network.now()
        if to is None or not message.attr_str("id"):
            await network.deliver(who.jid, ack(message, t=t, error=400), queue=False)
            return
        if not to.is_group and (verdict := self._verdict(who, message, to, t)) is not None:
            if verdict is Verdict.NO_TOKEN:
                await network.deliver(
                    who.jid, ack(message, sender=to, error=NACK_NO_PRIVACY_TOKEN), queue=False
                )
                return
            if verdict is Verdict.DROP_PN:
                log.info("sandbox.pn_dm_dropped", device=str(who.jid), id=message.attr_str("id"))
                await network.deliver(who.jid, ack(message, sender=to, t=t), queue=False)
                return
        server_ack = ack(message, sender=to, t=t)
        phash = expected_phash(network, who.account, who.device.device_id, message, to)
        if phash is not None:
            server_ack = Node(server_ack.tag, {**server_ack.attrs, "phash": phash})
        await network.deliver(who.jid, server_ack, queue=False)
        participants = message.child("participants")
        copies = (
            self._group_copies(who, message, to, participants)
            if to.is_group
            else self._direct_copies(who, message, to, participants)
        )
        for device_jid, copy in copies:
            await network.deliver(device_jid, _stamp(copy, t))

    def _verdict(self, who: _Sender, message: Node, to: JID, now: int) -> Verdict | None:
        """The 2026 rules for a 1:1 message to another account (None: not such a message)."""
        target = self._network.directory.account_of(to.to_non_ad())
        if (
            target is None
            or target.phone_user == who.account.phone_user
            or message.attr_str("category") == "peer"
        ):
            return None
        return self._network.rules.verdict(who.account, target, message, now)

    def _direct_copies(
        self, who: _Sender, message: Node, to: JID, participants: Node | None
    ) -> list[tuple[JID, Node]]:
        directory = self._network.directory
        target = directory.account_of(to.to_non_ad())
        if target is None:
            return []
        lid = to.unhosted().is_lid
        base: dict[str, str | JID] = {"id": message.attr_str("id") or ""}
        base.update(_carried(message))
        base["from"] = who.address(lid)
        own = target.phone_user == who.account.phone_user
        if own and message.attr_str("category") != "peer":
            base["recipient"] = to.to_non_ad()
        else:
            base["notify"] = who.push_name
            if lid:
                if who.account.phone_user not in self._network.rules.hidden_numbers:
                    base["sender_pn"] = who.account.pn
            else:
                base["sender_lid"] = who.account.lid
        extras = [c for c in message.children if c.tag in ("device-identity", "meta")]
        copies: list[tuple[JID, Node]] = []
        if participants is None:
            # A single enc for one device: the named device, or the primary (peer messages).
            device = directory.device(to)
            if device is None or device.logged_out or device.jid() == who.jid:
                return []
            encs = message.children_by_tag("enc")
            copies.append((device.jid(), Node("message", dict(base), [*encs, *extras])))
            return copies
        for entry in participants.children_by_tag("to"):
            jid = entry.attr_jid("jid")
            device = directory.device(jid) if jid is not None else None
            if device is None or device.logged_out or device.jid() == who.jid:
                continue
            if device.phone_user not in (target.phone_user, who.account.phone_user):
                continue
            attrs = dict(base)
            if device.phone_user == who.account.phone_user and not own:
                # Our own other devices see the chat it went to (deviceSentMessage inside),
                # and its phone number beside a LID (whatsmeow reads peer_recipient_pn).
                attrs["recipient"] = to.to_non_ad()
                attrs.pop("notify", None)
                if lid:
                    attrs["peer_recipient_pn"] = target.pn
            copies.append((device.jid(), _with_encs(attrs, entry.children_by_tag("enc"), extras)))
        return copies

    def _group_copies(
        self, who: _Sender, message: Node, to: JID, participants: Node | None
    ) -> list[tuple[JID, Node]]:
        network = self._network
        group = network.groups.get(to)
        if group is None or who.account.phone_user not in group.participants:
            return []
        own_encs: dict[JID, list[Node]] = {}
        for entry in participants.children_by_tag("to") if participants is not None else []:
            jid = entry.attr_jid("jid")
            device = network.directory.device(jid) if jid is not None else None
            if device is not None and device.is_hosted:
                # Hosted (Cloud API) devices take no part in groups: counted, never delivered.
                network.hosted_group_parts[device.phone_user] = (
                    network.hosted_group_parts.get(device.phone_user, 0) + 1
                )
                log.warning("sandbox.hosted_device_in_group_send", device=str(who.jid))
            elif device is not None:
                own_encs[device.jid()] = entry.children_by_tag("enc")
        shared = message.children_by_tag("enc")
        extras = [c for c in message.children if c.tag in ("device-identity", "meta")]
        attrs: dict[str, str | JID] = {"id": message.attr_str("id") or ""}
        attrs.update(_carried(message))
        attrs.update(
            {
                "from": group.jid,
                "participant": who.address(False),
                "participant_lid": who.account.lid_device(who.device.device_id),
                "addressing_mode": "pn",
                "notify": who.push_name,
            }
        )
        copies: list[tuple[JID, Node]] = []
        for member in group.participants:
            for device in network.directory.devices(member):
                jid = device.jid()
                if jid == who.jid:
                    continue
                encs = [*own_encs.get(jid, []), *shared]
                if encs:
                    copies.append((jid, _with_encs(dict(attrs), encs, extras)))
        return copies

    # receipts

    async def _receipt(self, who: _Sender, receipt: Node) -> None:
        network = self._network
        first_id = receipt.attr_str("id") or ""
        ids = [first_id] + [
            item.attr_str("id") or "" for item in (receipt.child("list") or Node("list")).children
        ]
        to = receipt.attr_jid("to")
        await network.deliver(who.jid, ack(receipt, sender=to), queue=False)
        # A receipt is how clients ack the messages they decrypted.
        await network.offline.acknowledge(who.jid, "message", [i for i in ids if i])
        kind = receipt.attr_str("type")
        if to is None:
            return
        participant = receipt.attr_jid("participant")
        original = participant if to.is_group and participant is not None else to
        if kind == "retry" or kind in SELF_RECEIPTS:
            await self._forward_to_device(who, receipt, to, original)
        elif kind in FORWARDED_RECEIPTS:
            await self._forward_receipt(who, receipt, to, original, FORWARDED_RECEIPTS[kind])

    def _receipt_attrs(self, who: _Sender, receipt: Node, to: JID) -> dict[str, str | JID]:
        attrs: dict[str, str | JID] = {
            "id": receipt.attr_str("id") or "",
            "t": receipt.attr_str("t") or str(self._network.now()),
        }
        if to.is_group:
            attrs["from"] = to
            attrs["participant"] = who.address(False)
        else:
            attrs["from"] = who.address(to.unhosted().is_lid)
        if (recipient := receipt.attr_jid("recipient")) is not None:
            attrs["recipient"] = recipient
        return attrs

    async def _forward_receipt(
        self, who: _Sender, receipt: Node, to: JID, original: JID, kind: str | None
    ) -> None:
        network = self._network
        sender_account = network.directory.account_of(original.to_non_ad())
        if sender_account is None:
            return
        attrs = self._receipt_attrs(who, receipt, to)
        if kind is not None:
            attrs["type"] = kind
        children = receipt.children_by_tag("list")
        devices = network.directory.devices(sender_account.phone_user)
        if (hosted := network.directory.hosted_device(sender_account.phone_user)) is not None:
            devices.append(hosted)
        for device in devices:
            if device.jid() != who.jid:
                await network.deliver(device.jid(), Node("receipt", dict(attrs), children or None))

    async def _forward_to_device(self, who: _Sender, receipt: Node, to: JID, original: JID) -> None:
        """A retry receipt (with its keys) goes only to the device that sent the message; a
        non-AD ``to`` names the primary."""
        device = self._network.directory.device(original)
        if device is None or device.logged_out or device.jid() == who.jid:
            return
        attrs = self._receipt_attrs(who, receipt, to)
        attrs["type"] = receipt.attr_str("type") or ""
        await self._network.deliver(device.jid(), Node("receipt", attrs, receipt.children or None))

    # presence and chatstate

    async def _presence(self, who: _Sender, presence: Node) -> None:
        network = self._network
        kind = presence.attr_str("type")
        if kind == "subscribe":
            target = presence.attr_jid("to")
            account = network.directory.account_of(target.to_non_ad()) if target else None
            if target is None or account is None:
                return
            self._subscribers.setdefault(account.phone_user, set()).add(who.jid)
            await network.deliver(
                who.jid, self._presence_of(account, target.to_non_ad()), queue=False
            )
            return
        if kind not in ("available", "unavailable", None):
            return
        if (name := presence.attr_str("name")) and name != who.device.push_name:
            who.device.push_name = name
            await network.state.save_device(who.device)
        online = self._available.setdefault(who.account.phone_user, set())
        if kind == "unavailable":
            online.discard(who.device.device_id)
        else:
            online.add(who.device.device_id)
        update = self._presence_of(who.account, who.account.pn)
        for subscriber in list(self._subscribers.get(who.account.phone_user, ())):
            if network.is_online(subscriber):
                await network.deliver(subscriber, update, queue=False)

    def _presence_of(self, account: Account, as_jid: JID) -> Node:
        if self._available.get(account.phone_user):
            return Node("presence", {"from": as_jid})
        return Node("presence", {"from": as_jid, "type": "unavailable", "last": "deny"})

    async def _chatstate(self, who: _Sender, chatstate: Node) -> None:
        network = self._network
        to = chatstate.attr_jid("to")
        if to is None:
            return
        if to.is_group:
            group = network.groups.get(to)
            if group is None or who.account.phone_user not in group.participants:
                return
            attrs: dict[str, str | JID] = {"from": to, "participant": who.account.pn}
            members = list(group.participants)
        else:
            account = network.directory.account_of(to.to_non_ad())
            if account is None:
                return
            attrs = {"from": who.account.lid if to.is_lid else who.account.pn}
            members = [account.phone_user]
        relayed = Node("chatstate", attrs, chatstate.children)
        for member in members:
            for device in network.directory.devices(member):
                if device.jid() != who.jid:
                    await network.deliver(device.jid(), relayed, queue=False)


def iq_handlers() -> dict[str, IqHandler]:
    """xmlns -> handler, for every namespace the sandbox answers."""
    table: dict[str, IqHandler] = {
        "encrypt": iq_prekeys.handle,
        "usync": iq_usync.handle,
        "w:g2": iq_groups.handle,
    }
    table.update(iq_misc.HANDLERS)
    return table


def _carried(message: Node) -> dict[str, str | JID]:
    return {
        key: value
        for key in _CARRIED_MESSAGE_ATTRS
        if (value := message.attrs.get(key)) is not None
    }


def _with_encs(attrs: dict[str, str | JID], encs: list[Node], extras: list[Node]) -> Node:
    # device-identity only travels with a pkmsg (the receiver needs it to trust the session).
    has_pkmsg = any(e.attr_str("type") == "pkmsg" for e in encs)
    kept = [e for e in extras if e.tag != "device-identity" or has_pkmsg]
    return Node("message", attrs, [*encs, *kept])


def _stamp(message: Node, t: int) -> Node:
    return Node(message.tag, {**message.attrs, "t": str(t)}, message.content)
