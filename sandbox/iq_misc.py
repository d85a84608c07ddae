"""The small iq namespaces: keepalive, passive/active, props, blocklist, privacy, media_conn,
dirty bits, telemetry, logout (``md``), app state, profile."""

from __future__ import annotations

import secrets

from daemon.binary import JID, Node
from sandbox import app_state, profiles
from sandbox.iq import IqContext, IqFailure, IqHandler, bad_request
from sandbox.media import MEDIA_AUTH_TTL, MEDIA_TTL
from sandbox.service_rules import privacy_token_notification
from sandbox.stanzas import iq_result, new_server_id

PRIVACY_DEFAULTS = (
    ("readreceipts", "all"),
    ("last", "all"),
    ("online", "all"),
    ("profile", "all"),
    ("status", "all"),
    ("groupadd", "all"),
    ("calladd", "all"),
    ("messages", "all"),
)
"""``readreceipts=all`` matters: Baileys only sends real ``read`` receipts when it says so."""


async def _empty(ctx: IqContext, iq: Node) -> Node | None:
    return iq_result(iq)


async def _props(ctx: IqContext, iq: Node) -> Node | None:
    if iq.child("props") is None:
        raise bad_request("props missing")
    return iq_result(iq, [Node("props", {"protocol": "1", "hash": "sandbox"}, [])])


async def _blocklist(ctx: IqContext, iq: Node) -> Node | None:
    state = ctx.network.state
    user = ctx.account.phone_user
    if iq.attr_str("type") == "set":
        item = iq.child("item")
        target = item.attr_jid("jid") if item is not None else None
        action = item.attr_str("action") if item is not None else None
        if target is None or action not in ("block", "unblock"):
            raise bad_request("item(action=block|unblock, jid) expected")
        await state.set_blocked(user, str(target.to_non_ad()), action == "block")
        return iq_result(iq)
    items = [Node("item", {"jid": JID.parse(j)}) for j in await state.blocklist(user)]
    return iq_result(iq, [Node("list", {}, items)])


async def _privacy(ctx: IqContext, iq: Node) -> Node | None:
    if iq.attr_str("type") == "get":
        categories = [Node("category", {"name": n, "value": v}) for n, v in PRIVACY_DEFAULTS]
        return iq_result(iq, [Node("privacy", {}, categories)])
    tokens = iq.child("tokens")
    if tokens is not None:
        issued = []
        for token in tokens.children_by_tag("token"):
            jid = token.attr_jid("jid")
            if jid is None:
                raise bad_request("token without jid")
            attrs: dict[str, str | JID] = {"jid": jid, "t": str(ctx.network.now())}
            issued.append(Node("token", attrs, secrets.token_bytes(16)))
            await issue_privacy_token(ctx, jid)
        return iq_result(iq, [Node("tokens", {}, issued)])
    return iq_result(iq)


async def issue_privacy_token(ctx: IqContext, jid: JID) -> None:
    """The asking account lets ``jid``'s account write to it: the token is kept for the
    server's checks and handed to that account's devices in a ``privacy_token``
    notification."""
    network = ctx.network
    subject = network.directory.account_of(jid.to_non_ad())
    if subject is None or subject.phone_user == ctx.account.phone_user:
        return
    issued = await network.rules.issue(ctx.account.phone_user, subject.phone_user, network.now())
    for device in network.directory.devices(subject.phone_user):
        notification = privacy_token_notification(
            ctx.account, subject.pn_device(device.device_id), issued, new_server_id()
        )
        await network.deliver(device.jid(), notification)


async def _media_conn(ctx: IqContext, iq: Node) -> Node | None:
    if iq.child("media_conn") is None:
        raise bad_request("media_conn missing")
    # whatsmeow requires all four attributes and a hostname on every host.
    conn = Node(
        "media_conn",
        {
            "auth": ctx.network.media.auth,
            "ttl": str(MEDIA_TTL),
            "auth_ttl": str(MEDIA_AUTH_TTL),
            "max_buckets": "12",
        },
        [Node("host", {"hostname": ctx.network.media_host})],
    )
    return iq_result(iq, [conn])


async def _md(ctx: IqContext, iq: Node) -> Node | None:
    remove = iq.child("remove-companion-device")
    if remove is None:
        raise bad_request("unsupported md request")
    target = remove.attr_jid("jid")
    network = ctx.network
    device = network.directory.device(target) if target is not None else None
    if device is None or device.phone_user != ctx.account.phone_user or device.device_id == 0:
        raise IqFailure(404, "item-not-found")
    # Answer first: the device may be the asking one, whose socket the logout closes.
    await network.deliver(ctx.sender, iq_result(iq), queue=False)
    await network.faults.log_out(device)
    return None


HANDLERS: dict[str, IqHandler] = {
    "w:p": _empty,
    "passive": _empty,
    "urn:xmpp:whatsapp:dirty": _empty,
    "w:stats": _empty,
    "status": _empty,
    "abt": _props,
    "w": _props,
    "blocklist": _blocklist,
    "privacy": _privacy,
    "w:m": _media_conn,
    "md": _md,
    "w:sync:app:state": app_state.handle_iq,
    "w:profile:picture": profiles.handle_iq,
}
