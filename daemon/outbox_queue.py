"""A session's open outbox rows as its worker holds them in memory, so that finding the next
message to send reads nothing from storage in steady state.

The rows are read once (when the worker starts, after an attempt that did not settle its row,
after a reconnect, when the session is taken over in a fleet: whenever rows may have changed
behind the worker's back) and then followed: :meth:`OpenRows.arrived` adds a row accepted here
once its transaction committed, :meth:`OpenRows.settled` drops one that was sent or failed.
:func:`choose` picks what may go next from them exactly as ``OutboxRepo.next_open_past``
does in SQL. A backlog past :data:`HELD_AT_MOST` rows is not held: the worker then asks
storage at each look, as it did before, and reads again every :data:`RELOAD_EVERY` settled
rows to find out whether the backlog fits again.

A row accepted while the rows were being read may or may not be among them. Nothing is sent
while a read is under way, so a row arriving then joins the rows read unless they hold it
already. A row arriving after one read that started after its transaction began is held
unless that read returned it (then it is held already, or was sent since). One whose
transaction spanned two reads makes a new read (rare: no guess is needed to stay exact).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import datetime

from storage.outbox_values import OutboxRow

HELD_AT_MOST = 1000
"""The most open rows of one session held in memory (a bigger backlog is read as it goes)."""
RELOAD_EVERY = 200
"""While the backlog is too big to hold, how many settled rows before looking again."""

Load = Callable[[int], Awaitable[list[OutboxRow]]]
"""Reads up to that many of the session's open rows, in order of acceptance."""


def choose(
    rows: Iterable[OutboxRow], in_flight: Collection[str], limit: int, now: datetime
) -> list[OutboxRow]:
    """Up to ``limit`` rows that may go next, best first: per chat its first row not in flight
    (a chat's later rows wait until every row ahead of them is in flight), due rows in order
    of acceptance, then the others by when they come due. ``rows`` are in order of
    acceptance."""
    seen_chats: set[str] = set()
    due: list[OutboxRow] = []
    later: list[tuple[datetime, int, OutboxRow]] = []
    for index, row in enumerate(rows):
        if row.id in in_flight or row.chat_jid in seen_chats:
            continue
        seen_chats.add(row.chat_jid)
        if row.next_attempt_at > now:
            later.append((row.next_attempt_at, index, row))
        else:
            due.append(row)
            if len(due) == limit:
                return due
    later.sort(key=lambda entry: (entry[0], entry[1]))
    return due + [row for _, _, row in later[: limit - len(due)]]


class OpenRows:
    """One session's open rows, read when stale and followed in memory after that."""

    __slots__ = (
        "_arrivals",
        "_complete",
        "_generation",
        "_held_at_most",
        "_loaded",
        "_loading",
        "_reload_every",
        "_rows",
        "_settled",
    )

    def __init__(self, held_at_most: int = HELD_AT_MOST, reload_every: int = RELOAD_EVERY) -> None:
        self._held_at_most = held_at_most
        self._reload_every = reload_every
        self._rows: dict[str, OutboxRow] | None = None
        """In order of acceptance; None until read (or once stale)."""
        self._complete = False
        """Whether ``_rows`` are all the session's open rows (else a backlog is too big)."""
        self._generation = 0
        """Counts reads started and invalidations: see :meth:`arrived`."""
        self._loading = False
        self._loaded: frozenset[str] = frozenset()
        """The ids the last read returned."""
        self._arrivals: list[OutboxRow] = []
        self._settled = 0

    @property
    def generation(self) -> int:
        """Taken by an accept before its transaction starts, given back to :meth:`arrived`."""
        return self._generation

    def invalidate(self) -> None:
        """The rows may have changed elsewhere: read them again before the next look."""
        self._rows = None
        self._generation += 1

    def arrived(self, row: OutboxRow, since_generation: int) -> None:
        """A row accepted here whose own transaction committed; ``since_generation`` is
        :attr:`generation` from before that transaction began."""
        reads_since = self._generation - since_generation
        if reads_since > 1:
            self.invalidate()
        elif self._loading:
            self._arrivals.append(row)
        elif (
            self._rows is not None
            and self._complete
            and (reads_since == 0 or row.id not in self._loaded)
        ):
            self._rows.setdefault(row.id, row)

    def settled(self, message_id: str) -> None:
        """The row is done or failed: it will not be sent again."""
        if self._rows is not None:
            self._rows.pop(message_id, None)
        if not self._complete:
            self._settled += 1
            if self._settled >= self._reload_every:
                self.invalidate()

    async def look(
        self,
        load: Load,
        past: Callable[[], Awaitable[list[OutboxRow]]],
        in_flight: Collection[str],
        limit: int,
        now: Callable[[], datetime],
    ) -> list[OutboxRow]:
        """What may go next (see :func:`choose`): from memory when every open row is held,
        after reading them when stale, else from ``past`` (storage's own choice)."""
        while self._rows is None:
            await self._load(load)
        if self._complete:
            return choose(self._rows.values(), in_flight, limit, now())
        return await past()

    async def _load(self, load: Load) -> None:
        self._generation += 1
        generation = self._generation
        self._loading = True
        self._arrivals = []
        try:
            rows = await load(self._held_at_most + 1)
        finally:
            self._loading = False
        if generation != self._generation:
            return  # invalidated while reading: read again
        self._complete = len(rows) <= self._held_at_most
        self._settled = 0
        if not self._complete:
            self._rows = {}
            self._loaded = frozenset()
            return
        held = {row.id: row for row in rows}
        self._loaded = frozenset(held)
        for row in self._arrivals:
            held.setdefault(row.id, row)
        self._arrivals = []
        self._rows = held


__all__ = ["HELD_AT_MOST", "RELOAD_EVERY", "Load", "OpenRows", "choose"]
