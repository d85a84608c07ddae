"""daemon.client.committed_cache: a value enters only from a read that saw committed state or
from a writer that knows its commit is durable; a write in flight keeps reads from filling."""

from __future__ import annotations

from collections.abc import Callable

from daemon.client.committed_cache import CommittedCache


class Transaction:
    """Stands in for the store's ``after_commit``: callbacks run when the test ends it."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def on_end(self, callback: Callable[[], None]) -> None:
        self.pending.append(callback)

    def end(self) -> None:
        pending, self.pending = self.pending, []
        for callback in pending:
            callback()


class Storage:
    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    async def read(self) -> str:
        self.reads += 1
        return self.value


async def test_a_read_fills_and_the_next_read_is_served_from_memory() -> None:
    cache: CommittedCache[str, str] = CommittedCache(Transaction().on_end)
    storage = Storage("v1")
    assert await cache.load("a", storage.read) == "v1"
    assert await cache.load("a", storage.read) == "v1"
    assert storage.reads == 1
    assert (cache.counters.hits, cache.counters.misses) == (1, 1)


async def test_a_write_in_flight_keeps_reads_from_filling_until_its_transaction_ends() -> None:
    tx = Transaction()
    cache: CommittedCache[str, str] = CommittedCache(tx.on_end)
    storage = Storage("v1")
    await cache.load("a", storage.read)
    written = cache.writing("a")
    storage.value = "v2 (uncommitted)"
    cache.wrote(written)
    assert await cache.load("a", storage.read) == "v2 (uncommitted)"
    assert "a" not in cache
    storage.value = "v1"  # rolled back
    tx.end()
    assert await cache.load("a", storage.read) == "v1"
    assert "a" in cache and storage.reads == 3


async def test_a_write_during_a_read_keeps_that_read_out() -> None:
    cache: CommittedCache[str, str] = CommittedCache(Transaction().on_end)

    async def racing_read() -> str:
        cache.wrote(cache.writing("a"))
        return "old"

    assert await cache.load("a", racing_read) == "old"
    assert "a" not in cache


async def test_settle_keeps_a_durable_write_unless_someone_wrote_or_cleared_since() -> None:
    tx = Transaction()
    cache: CommittedCache[str, str] = CommittedCache(tx.on_end)
    first = cache.writing("a")
    cache.wrote(first)
    cache.settle(first, "mine")
    assert "a" in cache

    overtaken = cache.writing("a")
    cache.wrote(cache.writing("a"))
    cache.settle(overtaken, "stale")
    assert "a" not in cache

    cleared = cache.writing("b")
    cache.clear()
    cache.settle(cleared, "stale")
    assert "b" not in cache


async def test_clear_drops_everything_and_blocks_fills_until_its_transaction_ends() -> None:
    tx = Transaction()
    cache: CommittedCache[str, str] = CommittedCache(tx.on_end)
    storage = Storage("v1")
    await cache.load("a", storage.read)
    cache.clear()
    await cache.load("a", storage.read)
    assert "a" not in cache
    tx.end()
    await cache.load("a", storage.read)
    assert "a" in cache and storage.reads == 3


async def test_the_oldest_entry_goes_first_and_the_record_of_writes_stays_bounded() -> None:
    cache: CommittedCache[str, str] = CommittedCache(Transaction().on_end, limit=2)
    for key in ("a", "b", "c"):
        await cache.load(key, Storage(key).read)
    assert "a" not in cache and "b" in cache and "c" in cache

    first = cache.writing("k0")
    cache.wrote(first)
    for n in range(1, 20):
        cache.wrote(cache.writing(f"k{n}"))
    cache.settle(first, "stale")  # its number was forgotten since: not trusted
    assert "k0" not in cache
    assert len(cache._generations) <= 8
    last = cache.writing("k0")
    cache.settle(last, "mine")
    assert "k0" in cache
