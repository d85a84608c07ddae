"""Group queries and changes (``xmlns=w:g2``) and the ``w:gp2`` notifications that announce
them (protocol-inventory §11, pure).

A ``group`` node is ``group(id, subject, s_t, s_o, creation, creator, addressing_mode) >
participant(jid[, lid | phone_number][, type=admin|superadmin])*``; ``id`` is the user part (or
a whole JID). Notifications are ``notification(from=<group>, type=w:gp2, participant=<actor>) >
one change``: ``create > group``, ``add|remove|promote|demote > participant*``, ``subject``,
``delete``, and settings we do not store.
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
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class GroupChange:
    group: JID
    kind: ChangeKind
    actor: JID | None
    participants: tuple[ParticipantInfo, ...] = ()
    subject: str | None = None
    created: GroupInfo | None = None
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
        else:
            changes.append(GroupChange(group, kind, actor, detail=child.tag))
    return changes
