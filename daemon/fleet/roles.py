"""Work exactly one daemon of a fleet does (webhook delivery, campaign tracking): a *role*,
held through a lease on the resource ``role:<name>`` like a session's.

The coordinator takes a wanted role when nobody holds it and hands the work the stores fenced by
that lease, so every write the work makes first proves the lease is still this daemon's; a
daemon paused past the lease's expiry cannot advance a cursor or mark a delivery when it
resumes. When a renewal does not return the lease (or no renewal succeeded for a whole lease
time), the work is stopped at once; another daemon takes the role in its next round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from storage.stores import Stores

__all__ = ["ROLE_PREFIX", "RoleWork", "is_role", "role_name", "role_resource"]

ROLE_PREFIX: Final = "role:"


class RoleWork(Protocol):
    """What runs only while this daemon holds a role."""

    async def take_role(self, stores: Stores, held: Callable[[], bool]) -> None:
        """Start the work; ``stores`` are fenced by the role's lease. ``held()`` says, with no
        query, whether the lease surely still holds by this daemon's clock: work that acts
        outside the database (an HTTP request) checks it first, so a daemon resuming from a
        pause past its lease does not act before the coordinator stops it. Returns once
        started."""
        ...

    async def drop_role(self) -> None:
        """Stop the work at once (the lease is lost or being handed back); idempotent."""
        ...


def role_resource(name: str) -> str:
    return ROLE_PREFIX + name


def is_role(resource: str) -> bool:
    return resource.startswith(ROLE_PREFIX)


def role_name(resource: str) -> str:
    return resource.removeprefix(ROLE_PREFIX)
