"""Account restrictions from ``mex`` notifications (pure)."""

from __future__ import annotations

import json

from daemon.binary import SERVER_JID, Node
from daemon.client.restrictions import (
    AccountRestrictions,
    RestrictionKind,
    parse_mex_notification,
)

NOW = 1_800_000_000.0


def mex(op: str, field: str, payload: dict[str, object]) -> Node:
    body = json.dumps({"data": {field: payload}}).encode()
    return Node(
        "notification",
        {"from": SERVER_JID, "type": "mex", "id": "1"},
        [Node("update", {"op_name": op}, body)],
    )


TIMELOCK = ("NotificationUserReachoutTimelockUpdate", "xwa2_notify_account_reachout_timelock")
CAPPING = ("MessageCappingInfoNotification", "xwa2_notify_new_chat_messages_capping_info_update")


def test_a_timelock_blocks_new_chats_until_it_ends() -> None:
    [lock] = parse_mex_notification(
        mex(
            *TIMELOCK,
            {
                "is_active": True,
                "enforcement_type": "BIZ_QUALITY",
                "time_enforcement_ends": str(int(NOW) + 600),
            },
        ),
        NOW,
    )
    assert (lock.kind, lock.detail, lock.until) == (
        RestrictionKind.REACHOUT_TIMELOCK,
        "BIZ_QUALITY",
        NOW + 600,
    )
    state = AccountRestrictions()
    state.update(lock)
    assert state.blocking_new_chats(NOW) == lock
    assert state.blocking_new_chats(NOW + 601) is None
    [lifted] = parse_mex_notification(mex(*TIMELOCK, {"is_active": False}), NOW)
    state.update(lifted)
    assert state.blocking_new_chats(NOW) is None and state.current() == [lifted]


def test_a_timelock_without_an_end_lasts_a_minute_as_on_wa_web() -> None:
    [lock] = parse_mex_notification(mex(*TIMELOCK, {"is_active": True}), NOW)
    assert lock.until == NOW + 60 and lock.detail == "DEFAULT"


def test_only_a_reached_cap_blocks() -> None:
    [warning] = parse_mex_notification(
        mex(*CAPPING, {"capping_status": "FIRST_WARNING", "used_quota": 80, "total_quota": 100}),
        NOW,
    )
    assert not warning.blocks(NOW) and (warning.used_quota, warning.total_quota) == (80, 100)
    [capped] = parse_mex_notification(
        mex(*CAPPING, {"capping_status": "CAPPED", "cycle_end_timestamp": str(int(NOW) + 9)}),
        NOW,
    )
    assert capped.blocks(NOW) and not capped.blocks(NOW + 10)


def test_other_operations_and_bad_json_are_skipped() -> None:
    other = Node("notification", {"type": "mex"}, [Node("update", {"op_name": "X"}, b"{}")])
    bad = Node("notification", {"type": "mex"}, [Node("update", {"op_name": TIMELOCK[0]}, b"{")])
    assert parse_mex_notification(other, NOW) == [] == parse_mex_notification(bad, NOW)
