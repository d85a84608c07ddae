"""A read cache that only ever holds committed state, for rows one session reads on every send.

Storage is the truth; the cache saves its reads. What makes it safe is when a value may enter:

* **A read fills it** only if no write of that key (and no :meth:`CommittedCache.clear`) was
  in flight when the read began, and none started before it returned. A read outside a
  transaction then saw committed state; one inside a transaction saw nothing of ours that
  is not yet committed either, because our uncommitted writes are in flight.
* **A write empties it** at once and stays *in flight* until the transaction that holds it has
  ended (committed or rolled back: the store's ``after_commit`` hook), so no read fills the key
  from a state that may still roll back (PostgreSQL readers do not wait for the writer).
* **A writer that knows its commit is durable** puts its own value back (:meth:`settle`), unless
  someone wrote the key (or cleared the cache) since: the send path keeps its ratchet warm.

A write that rolls back therefore leaves the key empty, and the next read takes the committed
row from storage. The cache is bounded (the oldest entry goes first): a session that writes to
many contacts, a campaign, keeps only the recent ones, and an idle session keeps nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

OnEnd = Callable[[Callable[[], None]], None]
"""Registers a callback for the end of the current transaction (``after_commit``)."""

DEFAULT_LIMIT = 256
"""Entries kept per cache."""


@dataclass(frozen=True, slots=True)
class Written(Generic[K]):
    """One write of ``key``, as :meth:`CommittedCache.writing` numbered it."""

    key: K
    generation: int
    epoch: int


@dataclass(slots=True)
class CacheCounters:
    hits: int = 0
    misses: int = 0
    """Reads that went to storage."""


class CommittedCache(Generic[K, V]):
    def __init__(self, on_end: OnEnd, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("a cache keeps at least one entry")
        self._on_end = on_end
        self._limit = limit
        self._values: dict[K, V] = {}
        self._generations: dict[K, int] = {}
        self._in_flight: dict[K, int] = {}
        self._epoch = 0
        self._clears_in_flight = 0
        self.counters = CacheCounters()

    def __contains__(self, key: K) -> bool:
        return key in self._values

    def peek(self, key: K) -> tuple[bool, V | None]:
        """``(True, value)`` when ``key`` is kept, else ``(False, None)``; never reads."""
        values = self._values
        if key in values:
            return True, values[key]
        return False, None

    async def load(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The cached value of ``key``, else ``read()`` (kept when it saw committed state)."""
        values = self._values
        if key in values:
            self.counters.hits += 1
            return values[key]
        self.counters.misses += 1
        fillable = not self._clears_in_flight and key not in self._in_flight
        epoch, generation = self._epoch, self._generations.get(key, 0)
        value = await read()
        if fillable and epoch == self._epoch and generation == self._generations.get(key, 0):
            self._keep(key, value)
        return value

    def writing(self, key: K) -> Written[K]:
        """``key`` is being written: dropped, and in flight until :meth:`wrote` says the write
        was issued and its transaction has ended."""
        self._values.pop(key, None)
        if len(self._generations) >= 4 * self._limit:
            self._new_epoch()
        generation = self._generations.get(key, 0) + 1
        self._generations[key] = generation
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return Written(key, generation, self._epoch)

    def wrote(self, written: Written[K]) -> None:
        """The write of :meth:`writing` was issued (or failed): it stops being in flight once
        the current transaction ends (at once, outside a transaction)."""
        self._on_end(lambda: self._ended(written.key))

    def settle(self, written: Written[K], value: V) -> None:
        """``written`` is durable and held ``value``: cached, unless the key was written or the
        cache cleared since."""
        if (
            written.epoch == self._epoch
            and self._generations.get(written.key, 0) == written.generation
        ):
            self._keep(written.key, value)

    def clear(self) -> None:
        """Everything dropped: call right after storage changed many keys at once (no await
        between). Reads in flight do not fill; inside a transaction, no read fills until it
        has ended."""
        self._values.clear()
        self._new_epoch()
        self._clears_in_flight += 1
        self._on_end(self._clear_ended)

    def _new_epoch(self) -> None:
        """Every read and write numbered so far is stale: their numbers can be forgotten
        (how the record of written keys stays bounded too)."""
        self._epoch += 1
        self._generations.clear()

    def _keep(self, key: K, value: V) -> None:
        values = self._values
        values.pop(key, None)  # re-inserted: the newest
        values[key] = value
        if len(values) > self._limit:
            del values[next(iter(values))]

    def _ended(self, key: K) -> None:
        left = self._in_flight.get(key, 0) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)

    def _clear_ended(self) -> None:
        self._clears_in_flight -= 1
