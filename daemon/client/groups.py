"""Group queries and changes (``xmlns=w:g2``) and the ``w:gp2`` notifications that announce
them (protocol-inventory §11, pure).

A ``group`` node is ``group(id, subject, s_t, s_o, creation, creator, addressing_mode) >
participant(jid[, lid | phone_number][, type=admin|superadmin])*``; ``id`` is the user part (or
a whole JID). Notifications are ``notification(from=<group>, type=w:gp2, participant=<actor>) >
one change``: ``create > group``, ``add|remove|promote|demote > participant*``, ``subject``,
``delete``, ``description``, ``announcement``/``not_announcement``, ``locked``/``unlocked``,
``invite``, and others we do not store.

Invite links (whatsmeow ``group.go``): ``get`` (or ``set`` to reset) ``invite`` to the group
answers ``invite(code)``; joining is ``set`` ``invite(code)`` to ``@g.us``, answered with
``group(jid)`` (or ``membership_approval_request(jid)`` when admins must approve); a revoked
code is refused with 410, an invalid one with 406.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.binary import GROUP_SERVER_JID, JID, AttrError, JIDError, Node, Server
from daemon.client.errors import StanzaError
from daemon.client.iq import build_iq
from storage.message_values import ParticipantRole


class ParticipantAction(enum.StrEnum):
    ADD = "add"
    REMOVE = "remove"
    PROMOTE = "promote"
    DEMOTE = "demote"


def build_metadata_query(group: JID) -> Node:
    return build_iq("w:g2", "get", [Node("query", {"request": "interactive"})], to=group)


def build_create(subject: str, participants: Sequence[JID], key: str) -> Node:
    if not subject:
        raise ValueError("a group needs a subject")
    members = [Node("participant", {"jid": p.to_non_ad()}) for p in participants]
    return build_iq(
        "w:g2",
        "set",
        [Node("create", {"subject": subject, "key": key}, members)],
        to=GROUP_SERVER_JID,
    )


def build_participants_change(
    group: JID, action: ParticipantAction, participants: Sequence[JID]
) -> Node:
    if not participants:
        raise ValueError("name at least one participant")
    members = [Node("participant", {"jid": p.to_non_ad()}) for p in participants]
    return build_iq("w:g2", "set", [Node(action.value, {}, members)], to=group)


def build_participating_query() -> Node:
    """Every group we are in, with participants and descriptions (the login sync)."""
    children = [Node("participants"), Node("description")]
    return build_iq("w:g2", "get", [Node("participating", {}, children)], to=GROUP_SERVER_JID)


def build_subject(group: JID, subject: str) -> Node:
    if not subject:
        raise ValueError("a group needs a subject")
    return build_iq("w:g2", "set", [Node("subject", {}, subject.encode())], to=group)


def build_description(group: JID, description: str, new_id: str, previous: str | None) -> Node:
    attrs: dict[str, str | JID] = {"id": new_id}
    if previous:
        attrs["prev"] = previous
    if description:
        children = [Node("body", {}, description.encode())]
    else:
        attrs["delete"] = "true"
        children = []
    return build_iq("w:g2", "set", [Node("description", attrs, children)], to=group)


class GroupSetting(enum.StrEnum):
    ANNOUNCE_ON = "announcement"
    ANNOUNCE_OFF = "not_announcement"
    LOCKED_ON = "locked"
    LOCKED_OFF = "unlocked"


def build_setting(group: JID, setting: GroupSetting) -> Node:
    return build_iq("w:g2", "set", [Node(setting.value)], to=group)


def build_invite_query(group: JID, *, reset: bool = False) -> Node:
    return build_iq("w:g2", "set" if reset else "get", [Node("invite")], to=group)


def build_join(code: str) -> Node:
    if not code:
        raise ValueError("an invite code is needed")
    return build_iq("w:g2", "set", [Node("invite", {"code": code})], to=GROUP_SERVER_JID)


def parse_invite_answer(answer: Node) -> str:
    invite = answer.child("invite")
    code = invite.attr_str("code") if invite is not None else None
    if not code:
        raise StanzaError("w:g2 answer without <invite code>")
    return code


def parse_join_answer(answer: Node) -> tuple[JID, bool]:
    """The group joined, and whether admins must approve first."""
    for tag, pending in (("group", False), ("membership_approval_request", True)):
        child = answer.child(tag)
        if child is None:
            continue
        try:
            jid = child.attr_jid("jid")
        except (AttrError, JIDError) as exc:
            raise StanzaError(f"w:g2 join answer: {exc}") from None
        if jid is not None:
            return jid, pending
    raise StanzaError("w:g2 join answer without <group jid>")


def parse_participating(answer: Node) -> list[GroupInfo]:
    groups = answer.child("groups")
    if groups is None:
        raise StanzaError("w:g2 answer without <groups>")
    return [parse_group(g) for g in groups.children_by_tag("group")]


def build_leave(group: JID) -> Node:
    return build_iq(
        "w:g2", "set", [Node("leave", {}, [Node("group", {"id": group})])], to=GROUP_SERVER_JID
    )


def parse_participant_results(answer: Node, action: ParticipantAction) -> dict[JID, int | None]:
    """Per participant of a change answer: None when it worked, else the error code."""
    block = answer.child(action.value)
    if block is None:
        raise StanzaError(f"w:g2 answer without <{action.value}>")
    results: dict[JID, int | None] = {}
    for participant in block.children_by_tag("participant"):
        try:
            jid = participant.attr_jid("jid")
            error = participant.attr_int("error")
        except (AttrError, JIDError) as exc:
            raise StanzaError(f"w:g2 participant: {exc}") from None
        if jid is not None:
            results[jid.to_non_ad()] = error
    return results


def _group_jid(raw: str) -> JID:
    try:
        return JID.parse(raw) if "@" in raw else JID(raw, Server.GROUP)
    except JIDError as exc:
        raise StanzaError(f"group id {raw!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    jid: JID
    """As the server listed it (PN in PN-addressed groups, LID in LID-addressed ones)."""
    alt: JID | None
    """The other name (``lid`` for a PN participant, ``phone_number`` for a LID one)."""
    role: ParticipantRole


def parse_participant(node: Node) -> ParticipantInfo:
    try:
        jid = node.attr_jid("jid")
        alt = node.attr_jid("lid") or node.attr_jid("phone_number")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"group participant: {exc}") from None
    if jid is None:
        raise StanzaError("group participant without jid")
    try:
        role = ParticipantRole(node.attr_str("type") or "member")
    except ValueError:
        role = ParticipantRole.MEMBER
    return ParticipantInfo(jid.to_non_ad(), alt.to_non_ad() if alt else None, role)


@dataclass(frozen=True, slots=True)
class GroupInfo:
    jid: JID
    subject: str
    owner: JID | None
    addressing_mode: str
    participants: tuple[ParticipantInfo, ...]
    created_at: int | None
    description: str = ""
    announce: bool = False
    locked: bool = False


def _description_text(node: Node | None) -> str:
    body = node.child("body") if node is not None else None
    raw = body.content_bytes() if body is not None else None
    return (raw or b"").decode("utf-8", "replace")


def parse_group(group: Node) -> GroupInfo:
    raw_id = group.attr_str("id")
    if not raw_id:
        raise StanzaError("group without id")
    try:
        owner = group.attr_jid("creator")
        created = group.attr_int("creation")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"group: {exc}") from None
    return GroupInfo(
        jid=_group_jid(raw_id),
        subject=group.attr_str("subject") or "",
        owner=owner.to_non_ad() if owner else None,
        addressing_mode=group.attr_str("addressing_mode") or "pn",
        participants=tuple(parse_participant(p) for p in group.children_by_tag("participant")),
        created_at=created,
        description=_description_text(group.child("description")),
        announce=group.child("announcement") is not None,
        locked=group.child("locked") is not None,
    )


def parse_group_answer(answer: Node) -> GroupInfo:
    group = answer.child("group")
    if group is None:
        raise StanzaError("w:g2 answer without <group>")
    return parse_group(group)


class ChangeKind(enum.StrEnum):
    CREATE = "create"
    ADD = "add"
    REMOVE = "remove"
    PROMOTE = "promote"
    DEMOTE = "demote"
    SUBJECT = "subject"
    DELETE = "delete"
    DESCRIPTION = "description"
    ANNOUNCE_ON = "announcement"
    ANNOUNCE_OFF = "not_announcement"
    LOCKED_ON = "locked"
    LOCKED_OFF = "unlocked"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class GroupChange:
    group: JID
    kind: ChangeKind
    actor: JID | None
    participants: tuple[ParticipantInfo, ...] = ()
    subject: str | None = None
    created: GroupInfo | None = None
    description: str | None = None
    detail: str = ""
    """The child tag for OTHER changes (settings we do not store)."""


def parse_group_notification(node: Node) -> list[GroupChange]:
    try:
        group = node.attr_jid("from")
        actor = node.attr_jid("participant")
    except (AttrError, JIDError) as exc:
        raise StanzaError(f"w:gp2 notification: {exc}") from None
    if group is None or not group.is_group:
        raise StanzaError("w:gp2 notification not from a group")
    changes: list[GroupChange] = []
    for child in node.children:
        try:
            kind = ChangeKind(child.tag)
        except ValueError:
            kind = ChangeKind.OTHER
        if kind is ChangeKind.CREATE:
            created = child.child("group")
            info = parse_group(created) if created is not None else None
            changes.append(GroupChange(group, kind, actor, created=info))
        elif kind in (ChangeKind.ADD, ChangeKind.REMOVE, ChangeKind.PROMOTE, ChangeKind.DEMOTE):
            members = tuple(parse_participant(p) for p in child.children_by_tag("participant"))
            changes.append(GroupChange(group, kind, actor, participants=members))
        elif kind is ChangeKind.SUBJECT:
            changes.append(GroupChange(group, kind, actor, subject=child.attr_str("subject")))
        elif kind is ChangeKind.DESCRIPTION:
            changes.append(GroupChange(group, kind, actor, description=_description_text(child)))
        else:
            changes.append(GroupChange(group, kind, actor, detail=child.tag))
    return changes
