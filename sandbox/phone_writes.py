"""Phones' key-value writes, held briefly and committed together.

A simulated phone changes its Signal state for every message it encrypts or decrypts (a session
record per device), and the two phones of a one-to-one exchange do so for every message. Written
through, each change was a transaction of its own: most of a phone's cost per message went into
those commits rather than into being a Signal party. Here every phone's writes land in one
buffer that is committed in a single transaction ``FLUSH_DELAY`` seconds after the first of them
(a burst of messages shares one commit), and on ``close()``: a stopped or restarted sandbox keeps
every write, only a killed process can lose the last few milliseconds of them (a peer then sees
what a phone restored from an older backup does, and retries).

Reads see the buffer first, so a phone always reads what it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from storage.sandbox_state import PhoneWrite, SandboxStore

__all__ = ["FLUSH_DELAY", "PhoneWrites"]

log = structlog.get_logger("sandbox.phone_writes")

FLUSH_DELAY = 0.02
"""Seconds a write waits for company before its batch is committed."""

_Key = tuple[str, str, str]


class PhoneWrites:
    """The pending writes of every phone of one sandbox, and their timed commit."""

    def __init__(self, store: SandboxStore, delay: float = FLUSH_DELAY) -> None:
        self._store = store
        self._delay = delay
        self._pending: dict[_Key, bytes | None] = {}
        """Not yet being committed; ``None`` is a delete."""
        self._committing: dict[_Key, bytes | None] = {}
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    def put(self, phone_user: str, namespace: str, key: str, value: bytes) -> None:
        self._pending[phone_user, namespace, key] = value
        self._schedule()

    def delete(self, phone_user: str, namespace: str, key: str) -> None:
        self._pending[phone_user, namespace, key] = None
        self._schedule()

    def lookup(self, phone_user: str, namespace: str, key: str) -> tuple[bool, bytes | None]:
        """(whether a pending write decides it, the value it leaves: ``None`` if deleted)."""
        wanted = (phone_user, namespace, key)
        for layer in (self._pending, self._committing):
            if wanted in layer:
                return True, layer[wanted]
        return False, None

    def overlay(
        self, phone_user: str, namespace: str, stored: dict[str, bytes]
    ) -> dict[str, bytes]:
        """``stored`` (the committed items of a namespace) as the pending writes leave them."""
        merged = dict(stored)
        for layer in (self._committing, self._pending):
            for (user, space, key), value in layer.items():
                if user != phone_user or space != namespace:
                    continue
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        return dict(sorted(merged.items()))

    def _schedule(self) -> None:
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(
                self._flush_later(), name="sandbox.phone_writes"
            )

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._delay)
        try:
            await self.flush()
        except Exception:
            # The writes stay pending; the next write schedules another attempt and close()
            # makes a last one.
            log.exception("sandbox.phone_writes.flush_failed")

    async def flush(self) -> None:
        """Commits every pending write in one transaction."""
        async with self._lock:
            if not self._pending:
                return
            self._committing, self._pending = self._pending, {}
            writes = [
                PhoneWrite(user, namespace, key, value)
                for (user, namespace, key), value in self._committing.items()
            ]
            try:
                await self._store.phone_apply(writes)
            except BaseException:
                self._pending = {**self._committing, **self._pending}
                raise
            finally:
                self._committing = {}

    async def close(self) -> None:
        """Commits what is pending and stops the timer (the sandbox is stopping)."""
        await self.flush()
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.flush()
