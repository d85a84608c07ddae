"""USync device lookup: which devices a user has, and their LID (protocol-inventory §7.2, pure).

``iq(xmlns=usync, type=get) > usync(sid, mode=query, context=message, last=true, index=0) >
[query > devices(version=2), lid], list > user(jid)*`` and the answer ``usync > list >
user(jid) > [devices > device-list > device(id, key-index?, is_hosted?)*, lid(val)]``. Like
Baileys, a non-zero device without ``key-index`` is ignored (it was not signed into the account's
list). Hosted devices (``is_hosted=true``, a business's Cloud API device) are kept apart: they
are named ``<user>:<id>@hosted`` (``@hosted.lid`` for a LID) and reached in 1:1 chats only
(whatsmeow user.go / send.go).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.errors import StanzaError
from daemon.client.iq import build_iq


@dataclass(frozen=True, slots=True)
class UserDevices:
    user: JID
    """The account JID as it was asked for."""
    device_ids: tuple[int, ...]
    lid: JID | None
    hosted_ids: tuple[int, ...] = ()
    """Devices marked ``is_hosted`` (a business's Cloud API device): 1:1 chats only."""

    def device_jids(self) -> list[JID]:
        return [self.user.with_device(device_id) for device_id in self.device_ids]


def build_device_query(users: Sequence[JID], sid: str) -> Node:
    if not users:
        raise ValueError("a device query names at least one user")
    query = Node("query", {}, [Node("devices", {"version": "2"}), Node("lid")])
    listed = Node("list", {}, [Node("user", {"jid": user.to_non_ad()}) for user in users])
    usync = Node(
        "usync",
        {"sid": sid, "mode": "query", "last": "true", "index": "0", "context": "message"},
        [query, listed],
    )
    return build_iq("usync", "get", [usync])


def parse_device_answer(answer: Node) -> list[UserDevices]:
    listed = answer.child("usync", "list")
    if listed is None:
        raise StanzaError("usync answer without usync > list")
    users: list[UserDevices] = []
    for user in listed.children_by_tag("user"):
        try:
            jid = user.attr_jid("jid")
            lid_node = user.child("lid")
            lid = lid_node.attr_jid("val") if lid_node is not None else None
        except (AttrError, JIDError) as exc:
            raise StanzaError(f"usync user: {exc}") from None
        if jid is None:
            continue
        ids: list[int] = []
        hosted: list[int] = []
        device_list = user.child("devices", "device-list")
        for device in device_list.children_by_tag("device") if device_list is not None else []:
            try:
                device_id = device.attr_int("id")
            except AttrError:
                continue
            if device_id is None or not 0 <= device_id <= 255:
                continue
            if device_id != 0 and device.attrs.get("key-index") is None:
                continue
            if device.attr_str("is_hosted") == "true":
                hosted.append(device_id)  # kept apart: DMs reach them, groups do not
                continue
            ids.append(device_id)
        users.append(
            UserDevices(
                jid.to_non_ad(),
                tuple(ids),
                lid.to_non_ad() if lid is not None else None,
                tuple(hosted),
            )
        )
    return users
