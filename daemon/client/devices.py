"""Device lists of users, cached for sending (protocol-inventory §7.2, §6.5).

A usync answer is kept per account for ``ttl`` seconds. A ``notification type=devices`` (a
device linked or removed) is applied to the cached list when the list it leads to has the hash
the notification names, and drops the entry otherwise (whatsmeow notification.go); a message
from a device the cached list does not have drops it too, and so does a server ack whose
``phash`` (the hash of the devices the server delivered to) differs from ours (send.go): the
next send asks the server again.

The participant-list hash (whatsmeow ``participantListHashV2``): ``2:`` and the unpadded
base64 of the first 6 bytes of SHA-256 over the sorted device JIDs in their
``user.agent:device@server`` form, concatenated.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node, Server

DEFAULT_TTL_S = 300.0


@dataclass(frozen=True, slots=True)
class _Entry:
    device_ids: tuple[int, ...]
    fetched_at: float
    hosted_ids: tuple[int, ...] = ()
    """Hosted (Cloud API) devices of a business account: reached in 1:1 chats only."""


class DeviceCache:
    def __init__(self, clock: Callable[[], float], ttl: float = DEFAULT_TTL_S) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[JID, _Entry] = {}

    def get(self, account: JID) -> tuple[int, ...] | None:
        """The fresh cached device ids of ``account`` (a non-AD JID), or None."""
        entry = self._entries.get(account)
        if entry is None or self._clock() - entry.fetched_at > self._ttl:
            return None
        return entry.device_ids

    def put(
        self, account: JID, device_ids: tuple[int, ...], hosted_ids: tuple[int, ...] = ()
    ) -> None:
        self._entries[account] = _Entry(
            tuple(sorted(set(device_ids))), self._clock(), tuple(sorted(set(hosted_ids)))
        )

    def hosted(self, account: JID) -> tuple[int, ...]:
        """The fresh cached hosted device ids of ``account`` (empty when none or stale)."""
        entry = self._entries.get(account)
        if entry is None or self._clock() - entry.fetched_at > self._ttl:
            return ()
        return entry.hosted_ids

    def invalidate(self, account: JID) -> bool:
        return self._entries.pop(account, None) is not None

    def saw_device(self, account: JID, device_id: int, *, hosted: bool = False) -> None:
        """A stanza came from ``account``'s device ``device_id`` (its hosted one with
        ``hosted``): an unknown one means the cached list is stale."""
        entry = self._entries.get(account)
        if entry is not None and device_id not in (
            entry.hosted_ids if hosted else entry.device_ids
        ):
            del self._entries[account]

    def apply_change(
        self, account: JID, added: bool, device_id: int, expected_hash: str | None
    ) -> bool:
        """A linked (``added``) or removed device: applied to the cached list when the list it
        leads to hashes to ``expected_hash``; else the entry is dropped. True when kept."""
        entry = self._entries.get(account)
        if entry is None:
            return False
        ids = set(entry.device_ids)
        if added:
            ids.add(device_id)
        else:
            ids.discard(device_id)
        new_ids = tuple(sorted(ids))
        if (
            expected_hash is None
            or participant_list_hash(_listed(account, new_ids, entry.hosted_ids)) != expected_hash
        ):
            del self._entries[account]
            return False
        self._entries[account] = _Entry(new_ids, entry.fetched_at, entry.hosted_ids)
        return True

    def clear(self) -> None:
        self._entries.clear()


def _listed(account: JID, device_ids: tuple[int, ...], hosted_ids: tuple[int, ...]) -> list[JID]:
    """The account's device list as the service hashes it: hosted devices count too, under
    ``hosted`` / ``hosted.lid`` (whatsmeow keeps them in its device cache and its hashes)."""
    server = Server.HOSTED_LID if account.is_lid else Server.HOSTED
    return [
        *(account.with_device(i) for i in device_ids),
        *(JID(account.user, server, i) for i in hosted_ids),
    ]


def ad_string(device: JID) -> str:
    return f"{device.user}.{device.agent}:{device.device}@{device.server}"


def participant_list_hash(devices: Iterable[JID]) -> str:
    joined = "".join(sorted(ad_string(d) for d in devices))
    digest = hashlib.sha256(joined.encode()).digest()[:6]
    return "2:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class DeviceChange:
    account: JID
    """The account whose list changed (``from``), PN or LID."""
    lid: JID | None
    """``lid``: the account's LID beside a phone-number ``from``."""
    added: bool
    device_id: int
    device_hash: str | None
    """The hash of the account's device list after the change (``from``'s addressing)."""


def parse_device_changes(node: Node) -> list[DeviceChange]:
    """``notification type=devices from lid? > (add|remove) device_hash device_lid_hash? >
    device(jid, lid?)``; ``update`` and unreadable parts are left out (the caller drops the
    cached list of the accounts :func:`parse_devices_notification` names)."""
    changes: list[DeviceChange] = []
    try:
        source = node.attr_jid("from")
        lid = node.attr_jid("lid")
    except (AttrError, JIDError):
        return []
    if source is None:
        return []
    for change in node.children:
        if change.tag not in ("add", "remove"):
            continue
        device = change.child("device")
        try:
            jid = device.attr_jid("jid") if device is not None else None
        except (AttrError, JIDError):
            continue
        if jid is None or jid.to_non_ad() != source.to_non_ad():
            continue
        changes.append(
            DeviceChange(
                source.to_non_ad(),
                lid.to_non_ad() if lid is not None else None,
                change.tag == "add",
                jid.device,
                change.attr_str("device_hash"),
            )
        )
    return changes


def parse_devices_notification(node: Node) -> list[JID]:
    """The accounts a ``notification type=devices`` is about (``from``, and the users of the
    devices it lists)."""
    accounts: list[JID] = []
    try:
        source = node.attr_jid("from")
        if source is not None:
            accounts.append(source.to_non_ad())
        for change in node.children:
            for device in change.children_by_tag("device"):
                jid = device.attr_jid("jid")
                if jid is not None and jid.to_non_ad() not in accounts:
                    accounts.append(jid.to_non_ad())
    except (AttrError, JIDError):
        pass  # whatever was readable is enough to drop the right entries
    return accounts
