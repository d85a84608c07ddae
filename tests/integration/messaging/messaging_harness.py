"""Helpers for the messaging tests: sandbox accounts, paired wamd sessions, waiting on events
and on the sandbox phones.

Waiting is always bounded: on the session's event stream (skipping unrelated events) or by
polling a phone's log, never a bare sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from backends import ClientDatabase, new_client_database, open_stores_at
from sandbox_clients import FAST, client_config, next_event, phone

from daemon.binary import JID
from daemon.client.events import Connected, Event, QrCode, Subscription
from daemon.client.session import Session
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.network import PhoneMessage
from storage.db import Synchronous
from storage.engine import Dialect, SqlEngine

TIMEOUT = 15.0
E = TypeVar("E")


async def events_until(
    events: Subscription,
    kind: type[E],
    predicate: Callable[[E], bool],
    count: int,
    timeout: float = TIMEOUT,
) -> list[E]:
    """``count`` events of ``kind`` matching ``predicate``."""
    found: list[E] = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            event: Event = await events.next()
            if isinstance(event, kind) and predicate(event):
                found.append(event)
    return found


async def phone_got(
    server: SandboxServer,
    account: Account,
    predicate: Callable[[PhoneMessage], bool],
    timeout: float = TIMEOUT,
) -> PhoneMessage:
    """Polls the phone's decrypted log until a message matches."""
    target = phone(server, account)
    async with asyncio.timeout(timeout):
        while True:
            for message in target.messages_received:
                if predicate(message):
                    return message
            await asyncio.sleep(0.02)


@dataclass(slots=True)
class Client:
    """A paired wamd session with its own database."""

    session: Session
    db: SqlEngine
    account: Account

    @property
    def jid(self) -> JID:
        return self.account.pn

    async def close(self) -> None:
        await self.session.close()
        await self.db.close()


async def client_database(
    request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> Path | ClientDatabase:
    """Where the client ``name`` keeps its database in this test: a SQLite file, or in a test
    marked ``@pytest.mark.usefixtures("backend")`` each storage engine in turn."""
    if "backend" not in request.fixturenames:
        return tmp_path / f"{name}.db"
    backend: Dialect = request.getfixturevalue("backend")
    return await new_client_database(backend, tmp_path, name, request)


async def open_session(
    server: SandboxServer,
    where: Path | ClientDatabase,
    session_id: str = "main",
    synchronous: Synchronous = Synchronous.NORMAL,
) -> tuple[Session, SqlEngine]:
    """The session over the database ``where`` describes (a bare path: a SQLite file)."""
    stores = await open_stores_at(where, synchronous=synchronous)
    session = await Session.open(stores, session_id, client_config(server), options=FAST)
    return session, stores.engine


async def paired_client(
    server: SandboxServer,
    account: Account,
    where: Path | ClientDatabase,
    session_id: str = "main",
    synchronous: Synchronous = Synchronous.NORMAL,
) -> Client:
    """A new session paired by QR with ``account``'s phone, connected and ready to send."""
    session, db = await open_session(server, where, session_id, synchronous)
    await pair_by_qr(server, account, session)
    return Client(session, db, account)


async def pair_by_qr(server: SandboxServer, account: Account, session: Session) -> None:
    """Pairs ``session`` by QR with ``account``'s phone; returns once it is connected."""
    with session.events() as events:
        await session.pair()
        qr = await next_event(events, QrCode)
        scan = asyncio.create_task(phone(server, account).scan_qr(qr.code))
        await next_event(events, Connected)
        await scan
