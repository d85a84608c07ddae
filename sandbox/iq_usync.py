"""``xmlns=usync``: who is on WhatsApp, their devices, LIDs and statuses.

Answers ``usync > [result, list > user(jid) > <protocol>*]`` for the protocols the query names
(protocol-inventory §7.2). Non-zero devices always carry ``key-index`` (Baileys drops devices
without one), a business's hosted (Cloud API) device is listed as ``device(id=99, key-index,
is_hosted=true)`` (whatsmeow user.go ``parseDeviceList``, Baileys ``USyncDeviceProtocol``), and
every known user gets ``lid(val)`` (without it Baileys fetches no prekeys). Users may be asked
by PN, by LID, or by ``contact`` phone number.
"""

from __future__ import annotations

from daemon.binary import JID, Node, Server
from sandbox.directory import Account
from sandbox.iq import IqContext, bad_request
from sandbox.stanzas import iq_result

_STATUS_TEXT = b"Hey there! I am using WhatsApp."


async def handle(ctx: IqContext, iq: Node) -> Node | None:
    usync = iq.child("usync")
    if usync is None:
        raise bad_request("usync missing")
    query = usync.child("query")
    protocols = [p.tag for p in query.children] if query is not None else []
    users = usync.child("list")
    answered = [
        _answer_user(ctx, user, protocols)
        for user in (users.children_by_tag("user") if users is not None else [])
    ]
    attrs = {
        key: value
        for key in ("sid", "mode", "context")
        if (value := usync.attr_str(key)) is not None
    }
    attrs.update({"last": "true", "index": "0"})
    result = Node("result", {}, [Node(p) for p in protocols])
    return iq_result(iq, [Node("usync", dict(attrs), [result, Node("list", {}, answered)])])


def _lookup(ctx: IqContext, user: Node) -> tuple[JID | None, Account | None]:
    jid = user.attr_jid("jid")
    if jid is not None:
        return jid, ctx.network.directory.account_of(jid.to_non_ad())
    contact = user.child("contact")
    text = contact.content_bytes() if contact is not None else None
    if text is None:
        return None, None
    digits = "".join(ch for ch in text.decode("utf-8", "replace") if ch.isdigit())
    account = ctx.network.directory.find_account(digits) if digits else None
    if account is not None:
        return account.pn, account
    return (JID(digits, Server.PN) if digits else None), None


def _answer_user(ctx: IqContext, user: Node, protocols: list[str]) -> Node:
    jid, account = _lookup(ctx, user)
    children: list[Node] = []
    for protocol in protocols:
        if protocol == "devices":
            children.append(_devices(ctx, account))
        elif protocol == "lid":
            children.append(Node("lid", {"val": account.lid}) if account else Node("lid"))
        elif protocol == "contact":
            children.append(Node("contact", {"type": "in" if account else "out"}))
        elif protocol == "status" and account is not None:
            children.append(Node("status", {"t": str(account.created_at)}, _STATUS_TEXT))
        elif protocol == "disappearing_mode":
            children.append(Node("disappearing_mode", {"duration": "0", "t": "0"}))
    attrs: dict[str, str | JID] = {}
    if jid is not None:
        attrs["jid"] = jid.to_non_ad()
    return Node("user", attrs, children)


def _devices(ctx: IqContext, account: Account | None) -> Node:
    devices: list[Node] = []
    if account is not None:
        directory = ctx.network.directory
        listed = directory.devices(account.phone_user)
        if (hosted := directory.hosted_device(account.phone_user)) is not None:
            listed.append(hosted)
        for device in listed:
            attrs = {"id": str(device.device_id)}
            if device.device_id != 0:
                attrs["key-index"] = str(device.key_index)
            if device.is_hosted:
                attrs["is_hosted"] = "true"
            devices.append(Node("device", dict(attrs)))
    return Node("devices", {}, [Node("device-list", {}, devices)])
