"""``xmlns=w:g2``: group create, metadata, participating list, participant changes, subject,
description, settings, leave, invite links (get, reset, preview, join by code); each change is
announced to every member device with a ``notification type=w:gp2`` (protocol-inventory §11).
Invitees only learn of a new group through the ``create`` notification, so it is sent to every
member's devices, phones included (and to a member added later, before the ``add``).
"""

from __future__ import annotations

import secrets

from daemon.binary import GROUP_SERVER_JID, JID, Node, Server
from sandbox.groups import (
    Group,
    Role,
    group_node,
    new_group_user,
    new_invite_code,
    participant_node,
)
from sandbox.iq import IqContext, IqFailure, bad_request
from sandbox.stanzas import iq_result, new_server_id

_CHANGES = ("add", "remove", "promote", "demote")
_SETTINGS = {
    "announcement": ("announce", True),
    "not_announcement": ("announce", False),
    "locked": ("locked", True),
    "unlocked": ("locked", False),
}


async def handle(ctx: IqContext, iq: Node) -> Node | None:
    to = iq.attr_jid("to")
    kind = iq.attr_str("type")
    if to is None or to.server != Server.GROUP:
        raise bad_request("w:g2 iqs go to a group or to @g.us")
    if to == GROUP_SERVER_JID:
        if kind == "get" and iq.child("participating") is not None:
            return _participating(ctx, iq)
        if kind == "set" and (create := iq.child("create")) is not None:
            return await _create(ctx, iq, create)
        if kind == "set" and (leave := iq.child("leave")) is not None:
            return await _leave(ctx, iq, leave)
        if (invite := iq.child("invite")) is not None:
            return await _by_code(ctx, iq, invite, join=kind == "set")
        raise bad_request("unsupported w:g2 request")
    group = ctx.network.groups.get(to)
    if group is None:
        raise IqFailure(404, "item-not-found")
    if ctx.account.phone_user not in group.participants:
        raise IqFailure(403, "forbidden")
    if iq.child("invite") is not None:
        return await _invite(ctx, iq, group, reset=kind == "set")
    if kind == "get":
        if iq.child("query") is not None:
            return iq_result(iq, [group_node(ctx.network.directory, group)])
        raise bad_request("unsupported w:g2 query")
    for child in iq.children:
        if child.tag in _CHANGES:
            return await _change_participants(ctx, iq, group, child)
        if child.tag == "subject":
            return await _subject(ctx, iq, group, child)
        if child.tag == "description":
            return await _description(ctx, iq, group, child)
        if child.tag in _SETTINGS:
            return await _setting(ctx, iq, group, child.tag)
    raise bad_request("unsupported w:g2 change")


async def _invite(ctx: IqContext, iq: Node, group: Group, *, reset: bool) -> Node:
    """The invite code (admins only); ``set`` replaces it, and the old one stops working."""
    if not group.is_admin(ctx.account.phone_user):
        raise IqFailure(401, "not-authorized")
    if reset or not group.invite_code:
        if group.invite_code:
            ctx.network.groups.revoked_codes.add(group.invite_code)
        group.invite_code = new_invite_code()
        await ctx.network.state.save_group(group)
    return iq_result(iq, [Node("invite", {"code": group.invite_code})])


async def _by_code(ctx: IqContext, iq: Node, invite: Node, *, join: bool) -> Node:
    """``invite(code)`` to ``@g.us``: ``get`` previews the group, ``set`` joins it. A reset
    code is 410 (gone), an unknown one 406 (not acceptable), as whatsmeow expects."""
    code = invite.attr_str("code") or ""
    book = ctx.network.groups
    group = book.by_invite(code)
    if group is None:
        if code in book.revoked_codes:
            raise IqFailure(410, "gone")
        raise IqFailure(406, "not-acceptable")
    if not join:
        return iq_result(iq, [group_node(ctx.network.directory, group)])
    user = ctx.account.phone_user
    if user not in group.participants:
        group.participants[user] = Role.MEMBER
        await ctx.network.state.save_group(group)
        joined = participant_node(ctx.network.directory, user, None)
        await notify(ctx, group, Node("add", {"reason": "invite"}, [joined]))
    return iq_result(iq, [Node("group", {"jid": group.jid})])


def _participating(ctx: IqContext, iq: Node) -> Node:
    groups = ctx.network.groups.of_member(ctx.account.phone_user)
    nodes = [group_node(ctx.network.directory, g) for g in groups]
    return iq_result(iq, [Node("groups", {}, nodes)])


def _member_user(ctx: IqContext, participant: Node) -> str | None:
    jid = participant.attr_jid("jid")
    if jid is None:
        return None
    account = ctx.network.directory.account_of(jid.to_non_ad())
    return account.phone_user if account is not None else None


async def _create(ctx: IqContext, iq: Node, create: Node) -> Node:
    subject = create.attr_str("subject")
    if not subject:
        raise bad_request("create needs a subject")
    now = ctx.network.now()
    group = Group(
        user=new_group_user(ctx.account.phone_user, now),
        subject=subject,
        creator=ctx.account.phone_user,
        created_at=now,
        subject_owner=ctx.account.phone_user,
        subject_time=now,
    )
    group.participants[ctx.account.phone_user] = Role.SUPERADMIN
    for participant in create.children_by_tag("participant"):
        user = _member_user(ctx, participant)
        if user is not None and user not in group.participants:
            group.participants[user] = Role.MEMBER
    for child in create.children:
        if child.tag in _SETTINGS:
            setattr(group, *_SETTINGS[child.tag])
    ctx.network.groups.add(group)
    await ctx.network.state.save_group(group)
    node = group_node(ctx.network.directory, group)
    attrs: dict[str, str | JID] = {}
    if key := create.attr_str("key"):
        attrs["key"] = key
    await notify(ctx, group, Node("create", attrs, [node]))
    return iq_result(iq, [node])


async def _change_participants(ctx: IqContext, iq: Node, group: Group, change: Node) -> Node:
    if not group.is_admin(ctx.account.phone_user):
        raise IqFailure(401, "not-authorized")
    answered: list[Node] = []
    changed: list[Node] = []
    removed: list[str] = []
    added: list[str] = []
    for participant in change.children_by_tag("participant"):
        jid = participant.attr_jid("jid")
        user = _member_user(ctx, participant)
        if jid is None:
            raise bad_request("participant without jid")
        error = _apply(group, change.tag, user)
        if error is None and user is not None:
            node = participant_node(ctx.network.directory, user, group.participants.get(user))
            changed.append(node)
            answered.append(Node("participant", {"jid": jid}))
            if change.tag == "remove":
                removed.append(user)
            elif change.tag == "add":
                added.append(user)
        else:
            answered.append(Node("participant", {"jid": jid, "error": str(error)}))
    await ctx.network.state.save_group(group)
    if added:
        # A new member learns the group as a whole, the way its creation reached the first
        # members (Baileys emits groups.upsert only for this <create> child).
        whole = group_node(ctx.network.directory, group)
        await notify(ctx, group, Node("create", {}, [whole]), only=added)
    if changed:
        await notify(ctx, group, Node(change.tag, {}, changed), also=removed)
    return iq_result(iq, [Node(change.tag, {}, answered)])


def _apply(group: Group, change: str, user: str | None) -> int | None:
    """Changes ``group``; returns an error code for this participant, None on success."""
    if user is None:
        return 404
    present = user in group.participants
    if change == "add":
        if present:
            return 409
        group.participants[user] = Role.MEMBER
    elif not present:
        return 404
    elif change == "remove":
        del group.participants[user]
    elif change == "promote":
        group.participants[user] = Role.ADMIN
    elif group.participants[user] is Role.SUPERADMIN:
        return 406
    else:
        group.participants[user] = Role.MEMBER
    return None


async def _leave(ctx: IqContext, iq: Node, leave: Node) -> Node:
    left: list[Node] = []
    for item in leave.children_by_tag("group"):
        jid = item.attr_jid("id")
        if jid is not None and jid.server != Server.GROUP:
            jid = JID(jid.user, Server.GROUP)
        group = ctx.network.groups.get(jid) if jid is not None else None
        user = ctx.account.phone_user
        if group is None or user not in group.participants:
            continue
        del group.participants[user]
        await ctx.network.state.save_group(group)
        gone = participant_node(ctx.network.directory, user, None)
        await notify(ctx, group, Node("remove", {"reason": "leave"}, [gone]), also=[user])
        left.append(Node("group", {"id": group.jid}))
    return iq_result(iq, [Node("leave", {}, left)])


async def _subject(ctx: IqContext, iq: Node, group: Group, node: Node) -> Node:
    text = node.content_bytes()
    if not text:
        raise bad_request("subject needs text")
    if group.locked and not group.is_admin(ctx.account.phone_user):
        raise IqFailure(401, "not-authorized")
    group.subject = text.decode("utf-8", "replace")
    group.subject_owner = ctx.account.phone_user
    group.subject_time = ctx.network.now()
    await ctx.network.state.save_group(group)
    attrs: dict[str, str | JID] = {
        "subject": group.subject,
        "s_t": str(group.subject_time),
        "s_o": ctx.account.pn,
    }
    await notify(ctx, group, Node("subject", attrs))
    return iq_result(iq)


async def _description(ctx: IqContext, iq: Node, group: Group, node: Node) -> Node:
    body = node.child("body")
    group.description_id = node.attr_str("id") or secrets.token_hex(8).upper()
    group.description = ""
    if node.attr_str("delete") != "true" and body is not None:
        group.description = (body.content_bytes() or b"").decode("utf-8", "replace")
    await ctx.network.state.save_group(group)
    children = (
        [Node("body", {}, group.description.encode())] if group.description else [Node("delete")]
    )
    await notify(ctx, group, Node("description", {"id": group.description_id}, children))
    return iq_result(iq)


async def _setting(ctx: IqContext, iq: Node, group: Group, tag: str) -> Node:
    if not group.is_admin(ctx.account.phone_user):
        raise IqFailure(401, "not-authorized")
    setattr(group, *_SETTINGS[tag])
    await ctx.network.state.save_group(group)
    await notify(ctx, group, Node(tag))
    return iq_result(iq)


async def notify(
    ctx: IqContext,
    group: Group,
    change: Node,
    also: list[str] | None = None,
    *,
    only: list[str] | None = None,
) -> None:
    """``notification type=w:gp2`` about ``change`` to every device of every member (and of
    ``also``, the users just removed), or of the ``only`` users, except the device that made
    the change."""
    network = ctx.network
    attrs: dict[str, str | JID] = {
        "from": group.jid,
        "type": "w:gp2",
        "id": new_server_id(),
        "t": str(network.now()),
        "participant": ctx.account.pn,
        "notify": ctx.account.push_name,
    }
    node = Node("notification", attrs, [change])
    users = only if only is not None else [*group.participants, *(also or [])]
    for user in users:
        for device in network.directory.devices(user):
            if device.jid() != ctx.sender:
                await network.deliver(device.jid(), node)
