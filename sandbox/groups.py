"""Groups: who is in them, who administers them, and how they are written on the wire.

Members are accounts (by phone user). Pure: the ``w:g2`` handler (``iq_groups``) changes these
records, persists them and sends the ``w:gp2`` notifications.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field

from daemon.binary import JID, Node, Server
from sandbox.directory import Directory


class Role(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    SUPERADMIN = "superadmin"


@dataclass(slots=True)
class Group:
    user: str
    """The group id: the user part of ``<id>@g.us``."""
    subject: str
    creator: str
    """Phone user of the creator."""
    created_at: int
    subject_owner: str = ""
    subject_time: int = 0
    description: str = ""
    description_id: str = ""
    announce: bool = False
    locked: bool = False
    ephemeral: int = 0
    invite_code: str = ""
    """The current invite link code ('' until an admin first asks for one)."""
    participants: dict[str, Role] = field(default_factory=dict)
    """Phone user -> role, in join order."""

    @property
    def jid(self) -> JID:
        return JID(self.user, Server.GROUP)

    def is_admin(self, phone_user: str) -> bool:
        return self.participants.get(phone_user) in (Role.ADMIN, Role.SUPERADMIN)


def new_group_user(creator_phone: str, now: int) -> str:
    """A group id in the modern ``1203633…`` shape (18 digits)."""
    return f"120363{secrets.randbelow(10**12):012d}"


class GroupBook:
    """All groups of the running sandbox, by id."""

    def __init__(self) -> None:
        self._groups: dict[str, Group] = {}
        self.revoked_codes: set[str] = set()
        """Invite codes reset since start: joining with one is 410, not 406."""

    def add(self, group: Group) -> None:
        self._groups[group.user] = group

    def get(self, jid: JID) -> Group | None:
        if jid.server != Server.GROUP:
            return None
        return self._groups.get(jid.user)

    def of_member(self, phone_user: str) -> list[Group]:
        return [g for g in self._groups.values() if phone_user in g.participants]

    def by_invite(self, code: str) -> Group | None:
        return next((g for g in self._groups.values() if code and g.invite_code == code), None)

    def all(self) -> list[Group]:
        return list(self._groups.values())


def new_invite_code() -> str:
    """22 characters from the alphabet of chat.whatsapp.com links."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(22))


def participant_node(directory: Directory, phone_user: str, role: Role | None) -> Node:
    """``participant(jid=<PN>, lid=<LID>[, type])``: PN-addressed with the LID alongside."""
    attrs: dict[str, str | JID] = {"jid": JID(phone_user, Server.PN)}
    account = directory.find_account(phone_user)
    if account is not None:
        attrs["lid"] = account.lid
    if role is not None and role != Role.MEMBER:
        attrs["type"] = str(role)
    return Node("participant", attrs)


def group_node(directory: Directory, group: Group) -> Node:
    """The ``group`` node of metadata answers and ``create`` notifications."""
    attrs: dict[str, str | JID] = {
        "id": group.user,
        "subject": group.subject,
        "s_t": str(group.subject_time or group.created_at),
        "s_o": JID(group.subject_owner or group.creator, Server.PN),
        "creation": str(group.created_at),
        "creator": JID(group.creator, Server.PN),
        "addressing_mode": "pn",
        "size": str(len(group.participants)),
    }
    children = [
        participant_node(directory, user, role) for user, role in group.participants.items()
    ]
    if group.description:
        children.append(
            Node(
                "description",
                {
                    "id": group.description_id,
                    "t": str(group.created_at),
                    "participant": JID(group.creator, Server.PN),
                },
                [Node("body", {}, group.description.encode())],
            )
        )
    if group.announce:
        children.append(Node("announcement"))
    if group.locked:
        children.append(Node("locked"))
    if group.ephemeral:
        children.append(Node("ephemeral", {"expiration": str(group.ephemeral)}))
    return Node("group", attrs, children)
