"""How many sessions this daemon should own, and which to take or hand back: a pure function of
what the fleet table says, so every daemon computes the same shares.

A daemon's fair share is ``ceil(sessions / daemons)``. It takes unowned sessions up to that
share, or up to ``share + slack`` when the other daemons together could not take the rest this
round (one is starting, one is leaving). It hands sessions back only when it holds more than
its share *and* another daemon is below it (someone is there to take them), and then only
``max_handoffs`` per round: a daemon that comes back takes its share over a few rounds, never
in a storm of reconnects. Takers stop at the share, so this settles instead of oscillating.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["SharePlan", "plan_share"]


@dataclass(frozen=True, slots=True)
class SharePlan:
    share: int
    """The fair share of every daemon this round."""
    take: tuple[str, ...]
    """Unowned sessions to try to acquire, in order (others may win some of them)."""
    hand_back: tuple[str, ...]
    """Sessions of ours to release gracefully."""


def plan_share(
    me: str,
    members: Sequence[str],
    sessions: Sequence[str],
    owners: Mapping[str, str],
    *,
    slack: int = 1,
    max_handoffs: int = 2,
    max_takes: int | None = None,
) -> SharePlan:
    """``members``: the live daemons that take sessions (``me`` among them); ``sessions``:
    the sessions that should be connected, in a stable order; ``owners``: session -> daemon
    for the unexpired leases. ``max_takes`` bounds acquisitions per round (start-up pacing)."""
    fleet = sorted(set(members) | {me})
    wanted = list(dict.fromkeys(sessions))
    share = math.ceil(len(wanted) / len(fleet)) if wanted else 0
    wanted_set = set(wanted)
    held: Counter[str] = Counter(
        owner for session, owner in owners.items() if session in wanted_set and owner in fleet
    )
    mine = [session for session in wanted if owners.get(session) == me]
    unowned = [session for session in wanted if owners.get(session) not in fleet]
    others_room = sum(max(0, share - held[member]) for member in fleet if member != me)
    limit = share + slack if len(unowned) > others_room + max(0, share - len(mine)) else share
    room = max(0, limit - len(mine))
    if max_takes is not None:
        room = min(room, max_takes)
    take = _spread(unowned, me, fleet)[:room]
    hand_back: list[str] = []
    someone_short = any(held[member] < share for member in fleet if member != me)
    if len(mine) > share and someone_short and not unowned:
        excess = len(mine) - share
        hand_back = mine[-min(excess, max_handoffs) :]
    return SharePlan(share, tuple(take), tuple(hand_back))


def _spread(unowned: Sequence[str], me: str, fleet: Collection[str]) -> list[str]:
    """Unowned sessions in an order that differs per daemon, so daemons starting together try
    different sessions first instead of all racing for the same ones."""
    ordered = sorted(fleet)
    offset = ordered.index(me) if me in ordered else 0
    if not unowned:
        return []
    step = max(1, len(unowned) // max(1, len(ordered)))
    start = (offset * step) % len(unowned)
    return list(unowned[start:]) + list(unowned[:start])
