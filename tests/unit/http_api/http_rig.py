"""The real app over real services (database, event log, outbox, webhooks, keys, health) with
scripted clients, served on loopback; every response is validated against /openapi.json."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, FormData
from aiohttp.test_utils import TestClient, TestServer
from daemon_fakes import Clock, DeviceFactory, RecordingSender, fast_config

from daemon.campaigns.files import CampaignFiles
from daemon.campaigns.service import CampaignService
from daemon.config import Config
from daemon.eventlog import EventLog
from daemon.manager import SessionManager
from daemon.outbox import Outbox
from daemon.webhooks import WebhookService
from http_api.app import create_app
from http_api.auth import KeyStore
from http_api.health import HealthChecker
from http_api.keys import Services
from http_api.openapi import document
from http_api.openapi_check import SchemaViolation, check_response, match_path, validate
from storage.db import Database, Synchronous
from storage.sqlite.stores import SqliteStores

ADMIN_KEY = "admin-key-for-tests-0123456789"
DOCUMENT = document()
CHECKED_TYPES = ("application/json", "application/problem+json")


def documented(method: str, path: str) -> bool:
    try:
        template = match_path(DOCUMENT, path)
    except SchemaViolation:
        return False
    return method.lower() in DOCUMENT["paths"][template]


@dataclass
class Reply:
    status: int
    body: Any
    content_type: str
    headers: dict[str, str]


@dataclass
class Rig:
    client: TestClient[Any, Any]
    services: Services
    devices: DeviceFactory
    sender: RecordingSender
    clock: Clock
    checked: list[str]
    db: Database

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = ADMIN_KEY,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        data: str | FormData | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if key is not None:
            sent["x-api-key"] = key
        async with self.client.request(
            method, path, json=json_body, data=data, headers=sent
        ) as response:
            return await self._reply(method, path, response)

    async def _reply(self, method: str, path: str, response: ClientResponse) -> Reply:
        raw = await response.read()
        content_type = response.content_type
        body: Any = raw
        if content_type in CHECKED_TYPES:
            body = json.loads(raw)
            bare = path.split("?", 1)[0]
            if documented(method, bare):
                check_response(DOCUMENT, method, bare, response.status, content_type, body)
            else:
                # Not an operation of the API (404/405 answers): still a problem document.
                assert content_type == "application/problem+json", (method, path)
                errors = validate(DOCUMENT, DOCUMENT["components"]["schemas"]["Problem"], body)
                assert not errors, errors
            self.checked.append(f"{method} {path.split('?', 1)[0]} {response.status}")
        return Reply(response.status, body, content_type, dict(response.headers))


@asynccontextmanager
async def running_api(tmp_path: Path, config: Config | None = None) -> AsyncIterator[Rig]:
    config = config or fast_config(tmp_path)
    db = await Database.open(tmp_path / "api.db", synchronous=Synchronous.NORMAL)
    stores = SqliteStores(db)
    clock = Clock()
    devices = DeviceFactory(clock)
    events = EventLog(stores)

    async def prober(client: object, timeout: float) -> float:
        return 0.001

    manager = SessionManager(config, stores, events, devices, prober=prober, clock=clock)
    sender = RecordingSender()
    outbox = Outbox(stores, events, sender, config.outbox)
    webhooks = WebhookService(stores, events, config.webhooks)
    campaign_store = stores.campaigns
    services = Services(
        config=config,
        stores=stores,
        manager=manager,
        outbox=outbox,
        events=events,
        webhooks=webhooks,
        keys=KeyStore(stores, ADMIN_KEY),
        health=HealthChecker(stores, manager, timeout=1.0),
        messages=stores.messages,
        campaigns=CampaignService(
            campaign_store,
            events,
            config.campaigns,
            CampaignFiles(Path(config.storage.state_dir), campaign_store),
        ),
    )
    await manager.open_all()
    await webhooks.start()
    await outbox.start()
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(services)))
    await client.start_server()
    try:
        yield Rig(client, services, devices, sender, clock, [], db)
    finally:
        await services.gate.close()
        await client.close()
        await outbox.stop(1.0)
        await webhooks.stop(1.0)
        await manager.shutdown()
        await db.close()
