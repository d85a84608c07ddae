"""Backfill after a long disconnection: the recent history of the most active chats.

The server keeps messages for an offline companion only so long and so many; after a
disconnection of at least ``sync.backfill_after_offline_s`` the session, once logged in
again, asks its phone (an on-demand history request per chat, anchored at *now*) for the
newest ``sync.backfill_count`` messages of each of its ``sync.backfill_threads`` most recently
active chats, one chat at a time. The answers arrive as history sync and are ingested under
the same keys as live messages, so what is already stored is not stored again.

Progress is in the event log as ``backfill.progress`` events: ``started`` (with the chats),
one ``chat`` per answered (or failed) chat with the messages received and newly stored, and
``finished`` (or ``stopped`` when the session dropped meanwhile). One backfill per session at
a time; a failed chat is reported and skipped, never retried in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from daemon.binary import JID
from daemon.client.errors import ClientError, NotConnected
from daemon.config import SyncConfig
from daemon.event_format import EventType
from daemon.linked_device import HistoryRequester, LinkedDevice
from daemon.log import mask_phone
from storage.errors import StorageError
from storage.message_interfaces import ChatRepo
from storage.message_values import ChatKind

log = structlog.get_logger("daemon.backfill")

Append = Callable[[str, EventType, dict[str, Any]], Awaitable[object]]


class Backfill:
    def __init__(self, settings: SyncConfig, chats: ChatRepo, append: Append) -> None:
        self._settings = settings
        self._chats = chats
        self._append = append
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def on_back_online(self, session_id: str, client: LinkedDevice, offline_s: float) -> None:
        """The manager's hook: a session logged in again after ``offline_s`` seconds."""
        settings = self._settings
        if settings.backfill_threads == 0 or offline_s < settings.backfill_after_offline_s:
            return
        running = self._tasks.get(session_id)
        if running is not None and not running.done():
            return
        if not isinstance(client, HistoryRequester):
            log.info("backfill.not_supported", session=session_id)
            return
        task = asyncio.create_task(
            self._run(session_id, client, offline_s), name=f"wamd-backfill-{session_id}"
        )
        self._tasks[session_id] = task
        task.add_done_callback(lambda done: self._finished(session_id, done))

    def _finished(self, session_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(session_id) is task:
            del self._tasks[session_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("backfill.died", session=session_id, error=repr(task.exception()))

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, session_id: str, client: HistoryRequester, offline_s: float) -> None:
        settings = self._settings
        chats = await self._chats.page(session_id, limit=settings.backfill_threads)
        # Status broadcasts and the like have no history the phone sends on demand.
        jids = [chat.jid for chat in chats if chat.kind in (ChatKind.USER, ChatKind.GROUP)]
        log.info(
            "backfill.started", session=session_id, chats=len(jids), offline_s=round(offline_s)
        )
        await self._append(
            session_id,
            EventType.BACKFILL_PROGRESS,
            {
                "state": "started",
                "offlineSeconds": round(offline_s),
                "chats": len(jids),
                "countPerChat": settings.backfill_count,
            },
        )
        received = stored = failed = 0
        for done, jid in enumerate(jids, start=1):
            entry: dict[str, Any] = {"state": "chat", "chat": jid, "done": done, "chats": len(jids)}
            try:
                result = await client.request_history(
                    JID.parse(jid),
                    count=settings.backfill_count,
                    wait=True,
                    timeout=settings.backfill_timeout_s,
                    newest=True,
                )
            except NotConnected as exc:
                await self._stopped(session_id, done - 1, len(jids), str(exc))
                return
            except ClientError as exc:
                failed += 1
                entry["error"] = str(exc)
                log.warning(
                    "backfill.chat_failed", session=session_id, chat=mask_phone(jid), error=str(exc)
                )
            else:
                chunk = result.chunk
                entry["received"] = 0 if chunk is None else chunk.messages
                entry["stored"] = 0 if chunk is None else chunk.stored
                received += entry["received"]
                stored += entry["stored"]
            await self._append(session_id, EventType.BACKFILL_PROGRESS, entry)
        log.info(
            "backfill.finished",
            session=session_id,
            chats=len(jids),
            received=received,
            stored=stored,
            failed=failed,
        )
        await self._append(
            session_id,
            EventType.BACKFILL_PROGRESS,
            {
                "state": "finished",
                "chats": len(jids),
                "received": received,
                "stored": stored,
                "failed": failed,
            },
        )

    async def _stopped(self, session_id: str, done: int, total: int, reason: str) -> None:
        log.info("backfill.stopped", session=session_id, done=done, chats=total, reason=reason)
        with contextlib.suppress(StorageError):
            await self._append(
                session_id,
                EventType.BACKFILL_PROGRESS,
                {"state": "stopped", "done": done, "chats": total, "reason": reason},
            )


__all__ = ["Backfill", "HistoryRequester"]
