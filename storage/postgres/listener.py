"""A connection kept LISTENing on one channel, for the notifications other daemons' commits send.

The pool's connections come and go; a listener needs one that stays, so this holds its own
connection beside the pool. When it drops (a server restart, a network cut) it is opened again
after a short wait, and the callback is called once on every (re)connection: whatever committed
while nobody listened is read then. Between notifications the connection is probed now and
then, so a socket that died silently is noticed and replaced.

Notifications arriving together are folded into one call of the callback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Final

import asyncpg
import structlog

log = structlog.get_logger("storage.postgres.listener")

__all__ = ["Listener"]

RETRY_S: Final = 1.0
PROBE_EVERY_S: Final = 15.0
TIMEOUT_S: Final = 10.0


class Listener:
    """LISTENs on ``channel`` and calls ``on_notify`` (see the module docstring). Start with
    :meth:`start`, end with :meth:`close`."""

    def __init__(
        self, dsn: str, channel: str, on_notify: Callable[[], None], *, name: str = ""
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._name = name or channel
        self._task: asyncio.Task[None] | None = None
        self._pending = False
        self.connected = asyncio.Event()
        """Set while the LISTEN is in place (tests wait for it)."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"wamd-listen-{self._channel}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _notified(self, *_args: Any) -> None:
        if self._pending:
            return
        self._pending = True
        asyncio.get_running_loop().call_soon(self._fire)

    def _fire(self) -> None:
        self._pending = False
        try:
            self._on_notify()
        except Exception:
            log.exception("listener.callback_failed", channel=self._channel)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("listener.lost", channel=self._channel, error=str(exc))
            self.connected.clear()
            await asyncio.sleep(RETRY_S)

    async def _listen_once(self) -> None:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(self._dsn, timeout=TIMEOUT_S)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(self._channel, self._notified)
            self.connected.set()
            self._notified()  # what committed while nobody listened
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(PROBE_EVERY_S):
                        await lost.wait()
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=TIMEOUT_S)
        finally:
            self.connected.clear()
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    await conn.close()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()
            except asyncio.CancelledError:
                conn.terminate()
                raise
