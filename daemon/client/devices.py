"""Device lists of users, cached for sending (protocol-inventory §7.2, §6.5).

A usync answer is kept per account for ``ttl`` seconds. A ``notification type=devices``
(a device linked or removed) drops the user's entry at once, and so does a message from a
device the cached list does not have: the next send asks the server again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node

DEFAULT_TTL_S = 300.0


@dataclass(frozen=True, slots=True)
class _Entry:
    device_ids: tuple[int, ...]
    fetched_at: float


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

    def put(self, account: JID, device_ids: tuple[int, ...]) -> None:
        self._entries[account] = _Entry(tuple(sorted(set(device_ids))), self._clock())

    def invalidate(self, account: JID) -> bool:
        return self._entries.pop(account, None) is not None

    def saw_device(self, account: JID, device_id: int) -> None:
        """A stanza came from ``account``'s device ``device_id``: an unknown one means the
        cached list is stale."""
        entry = self._entries.get(account)
        if entry is not None and device_id not in entry.device_ids:
            del self._entries[account]

    def clear(self) -> None:
        self._entries.clear()


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
