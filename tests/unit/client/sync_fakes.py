"""A paired session's messaging context over a real database (SQLite or PostgreSQL, see the
``open_engine`` fixture), and a fake connection, for the unit tests of history sync, app-state
sync and media (test helper)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog

from daemon.binary import SERVER_JID, Node
from daemon.client.context import ClientOptions, SessionContext
from daemon.client.credentials import credentials_for_pairing
from daemon.client.events import EventBus
from daemon.client.message_context import MessagingContext, MessagingOptions
from daemon.client.prekeys import PreKeyManager
from daemon.client.router import Router
from daemon.client.signal_store import AuthSignalStore
from daemon.client.sinks import NoEventSink
from daemon.client.sync_events import SyncEvent
from daemon.config import WhatsAppConfig
from storage.engine import SqlEngine
from storage.sqlite.message_store import SqliteMessageStore
from storage.sqlite.store import SqliteStore
from storage.sqlite.sync_store import SqliteSyncStore

SID = "s"
OWN_PN = "15550001111@s.whatsapp.net"
OWN_DEVICE = "15550001111:7@s.whatsapp.net"
OWN_LID = "99000111@lid"

Answer = Callable[[Node], Node | None]


def iq_result(request: Node, content: list[Node] | None = None) -> Node:
    return Node(
        "iq", {"from": SERVER_JID, "type": "result", "id": request.attr_str("id") or ""}, content
    )


class FakeConnection:
    """What the sync services use of a Connection: query, send, spawn, ended, router."""

    def __init__(self, answer: Callable[[Node], Awaitable[Node]] | None = None) -> None:
        self.sent: list[Node] = []
        self.queries: list[Node] = []
        self.router = Router()
        self.ended = False
        self._answer = answer
        self.tasks: list[asyncio.Task[None]] = []

    async def send(self, node: Node) -> None:
        self.sent.append(node)

    async def query(self, request: Node, timeout: float | None = None) -> Node:
        self.queries.append(request)
        if self._answer is None:
            raise AssertionError(f"unexpected iq {request}")
        return await self._answer(request)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coro))

    async def settle(self) -> None:
        while self.tasks:
            tasks, self.tasks = self.tasks, []
            await asyncio.gather(*tasks)


@dataclass
class World:
    db: SqlEngine
    auth: SqliteStore
    messages: SqliteMessageStore
    sync: SqliteSyncStore
    m: MessagingContext
    events: list[SyncEvent] = field(default_factory=list)
    now: list[float] = field(default_factory=lambda: [1_750_000_000.0])

    def publish(self, event: SyncEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def close(self) -> None:
        await self.db.close()


async def make_world(db: SqlEngine, *, lid: bool = True) -> World:
    auth = SqliteStore(db)
    await auth.sessions.create(SID)
    await credentials_for_pairing(auth, SID)
    credentials = await auth.credentials.mark_paired(
        SID,
        signed_device_identity=b"adv",
        pn_jid=OWN_DEVICE,
        lid_jid=OWN_LID if lid else None,
        platform="android",
        push_name="Me",
    )
    log = structlog.get_logger("test")
    now = [1_750_000_000.0]
    session = SessionContext(
        session_id=SID,
        store=auth,
        config=WhatsAppConfig(),
        options=ClientOptions(),
        bus=EventBus(),
        log=log,
        prekeys=PreKeyManager(auth, SID, log),
        credentials=credentials,
        clock=lambda: now[0],
    )
    messages = SqliteMessageStore(db)
    m = MessagingContext(
        session,
        messages,
        AuthSignalStore(auth, SID),
        NoEventSink(),
        MessagingOptions(ack_timeout=2.0),
    )
    world = World(db, auth, messages, SqliteSyncStore(db), m, now=now)
    return world


def attach(world: World, connection: FakeConnection) -> None:
    """Makes ``connection`` the live, logged-in connection of the world's session."""
    world.m.connection = connection  # type: ignore[assignment]
    world.m.ready = True
