"""Helpers for the history / app-state / media tests: a sandbox, paired wamd sessions, the
sandbox admin API, and bounded waits on the session's events and tables."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from sandbox_clients import FAST, client_config, next_event, phone

from daemon.binary import JID
from daemon.client.events import Connected, QrCode, Subscription
from daemon.client.session import Session
from daemon.client.sync_services import SyncOptions
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.db import Database, Synchronous
from storage.sqlite.stores import SqliteStores

TIMEOUT = 30.0
T = TypeVar("T")


async def admin(server: SandboxServer, method: str, path: str, payload: Any = None) -> Any:
    """Calls the sandbox admin API; fails the test on a non-2xx answer."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.origin}{path}", json=payload) as response,
    ):
        body = await response.read()
        assert response.status < 300, (response.status, body[:500])
        if response.content_type == "application/json":
            return await response.json()
        return body


def media_payload(kind: str, data: bytes, mimetype: str, **extra: object) -> dict[str, object]:
    return {
        "type": kind,
        "data_base64": base64.b64encode(data).decode(),
        "mimetype": mimetype,
        **extra,
    }


async def eventually(
    check: Callable[[], Awaitable[T | None]], timeout: float = TIMEOUT, every: float = 0.05
) -> T:
    """The first truthy result of ``check``, polled (bounded)."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(every)


@dataclass(slots=True)
class Client:
    session: Session
    db: Database
    account: Account
    events: Subscription
    """Every event of the session since before it paired."""

    @property
    def jid(self) -> JID:
        return self.account.pn

    @property
    def sid(self) -> str:
        return self.session.session_id

    async def close(self) -> None:
        self.events.close()
        await self.session.close()
        await self.db.close()


async def paired_client(
    server: SandboxServer,
    account: Account,
    path: Path,
    *,
    sync_options: SyncOptions | None = None,
) -> Client:
    """A new session paired by QR with ``account``'s phone (connected when this returns)."""
    db = await Database.open(path, synchronous=Synchronous.NORMAL)
    session = await Session.open(
        SqliteStores(db), "main", client_config(server), options=FAST, sync_options=sync_options
    )
    client = Client(session, db, account, session.events())
    with session.events() as watch:
        await session.pair()
        qr = await next_event(watch, QrCode)
        scan = asyncio.create_task(phone(server, account).scan_qr(qr.code))
        await next_event(watch, Connected)
        await scan
    return client
