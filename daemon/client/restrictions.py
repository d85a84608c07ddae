"""Account restrictions the service announces (pure): the reachout time-lock and the new-chat
message cap.

Facts (whatsmeow c8330197 notification.go, Baileys messages-recv): ``notification type=mex >
update op_name`` with a GraphQL JSON body ``{"data": {<field>: {...}}}``:

* ``NotificationUserReachoutTimelockUpdate`` / ``xwa2_notify_account_reachout_timelock``:
  ``is_active``, ``enforcement_type``, ``time_enforcement_ends`` (unix seconds as a string; WA
  Web assumes now + 60 s when it is missing). While active the account may not start chats;
* ``MessageCappingInfoNotification`` / ``xwa2_notify_new_chat_messages_capping_info_update``:
  ``capping_status`` (NONE, FIRST_WARNING, SECOND_WARNING, CAPPED), ``used_quota``,
  ``total_quota``, ``cycle_end_timestamp``. CAPPED blocks new chats until the cycle ends.

Both cover *new* chats only: chats where the contact gave us a privacy token keep flowing.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from daemon.binary import Node

TIMELOCK_OP = "NotificationUserReachoutTimelockUpdate"
TIMELOCK_FIELD = "xwa2_notify_account_reachout_timelock"
CAPPING_OP = "MessageCappingInfoNotification"
CAPPING_FIELD = "xwa2_notify_new_chat_messages_capping_info_update"
DEFAULT_TIMELOCK_S = 60.0


class RestrictionKind(enum.StrEnum):
    REACHOUT_TIMELOCK = "reachout_timelock"
    MESSAGE_CAPPING = "message_capping"


@dataclass(frozen=True, slots=True)
class Restriction:
    kind: RestrictionKind
    blocking: bool
    """True while it blocks new chats."""
    until: float | None
    """When it ends (unix seconds), as the service said."""
    detail: str
    """The enforcement type (time-lock) or the capping status."""
    used_quota: int | None = None
    total_quota: int | None = None

    def blocks(self, now: float) -> bool:
        return self.blocking and (self.until is None or self.until > now)


def _number(value: object) -> float | None:
    try:
        return float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _int(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def parse_mex_notification(node: Node, now: float) -> list[Restriction]:
    """The restrictions a ``mex`` notification announces (other operations are skipped)."""
    found: list[Restriction] = []
    for update in node.children_by_tag("update"):
        op = update.attr_str("op_name")
        if op not in (TIMELOCK_OP, CAPPING_OP):
            continue
        try:
            data = json.loads(update.content_bytes() or b"").get("data") or {}
        except (ValueError, AttributeError):
            continue
        if op == TIMELOCK_OP and isinstance(lock := data.get(TIMELOCK_FIELD), dict):
            active = lock.get("is_active") is True
            until = _number(lock.get("time_enforcement_ends"))
            if active and until is None:
                until = now + DEFAULT_TIMELOCK_S
            found.append(
                Restriction(
                    RestrictionKind.REACHOUT_TIMELOCK,
                    active,
                    until if active else None,
                    str(lock.get("enforcement_type") or "DEFAULT"),
                )
            )
        elif op == CAPPING_OP and isinstance(cap := data.get(CAPPING_FIELD), dict):
            status = str(cap.get("capping_status") or "NONE")
            found.append(
                Restriction(
                    RestrictionKind.MESSAGE_CAPPING,
                    status == "CAPPED",
                    _number(cap.get("cycle_end_timestamp")),
                    status,
                    _int(cap.get("used_quota")),
                    _int(cap.get("total_quota")),
                )
            )
    return found


class AccountRestrictions:
    """The latest announcement of each kind, for one session."""

    def __init__(self) -> None:
        self._by_kind: dict[RestrictionKind, Restriction] = {}

    def update(self, restriction: Restriction) -> None:
        self._by_kind[restriction.kind] = restriction

    def current(self) -> list[Restriction]:
        return [self._by_kind[k] for k in RestrictionKind if k in self._by_kind]

    def blocking_new_chats(self, now: float) -> Restriction | None:
        """The restriction that keeps us from starting chats now, if any (the longest)."""
        blocking = [r for r in self._by_kind.values() if r.blocks(now)]
        return max(blocking, key=lambda r: r.until or float("inf"), default=None)
