"""Typed application and request keys (``web.AppKey``/``web.RequestKey``): no string keys."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web

from daemon.campaigns.service import CampaignService
from daemon.config import Config
from daemon.eventlog import EventLog
from daemon.fleet.coordinator import FleetCoordinator
from daemon.manager import SessionManager
from daemon.metrics import DaemonMetrics
from daemon.outbox import Outbox
from daemon.webhooks import WebhookService
from http_api.auth import KeyStore, Principal
from http_api.health import HealthChecker
from storage.message_interfaces import MessageStore
from storage.stores import Stores


@dataclass(slots=True)
class WriteGate:
    """Closed when the daemon stops: from then on only reads are served (a write would race
    the shutdown's final commits), and event streams end."""

    open: bool = True
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    websockets: set[web.WebSocketResponse] = field(default_factory=set)

    async def close(self) -> None:
        self.open = False
        self.closing.set()
        for socket in list(self.websockets):
            with contextlib.suppress(Exception):
                await socket.close(code=WSCloseCode.GOING_AWAY, message=b"daemon stopping")


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the handlers use, built by the daemon (or a test) and given to create_app."""

    config: Config
    stores: Stores
    manager: SessionManager
    outbox: Outbox
    events: EventLog
    webhooks: WebhookService
    keys: KeyStore
    health: HealthChecker
    messages: MessageStore
    campaigns: CampaignService
    gate: WriteGate = field(default_factory=WriteGate)
    metrics: DaemonMetrics | None = None
    """``GET /metrics`` (answers 404 without it)."""
    fleet: FleetCoordinator | None = None
    """This daemon's part in a fleet (PostgreSQL): requests about sessions owned elsewhere
    are forwarded to their owner (:mod:`http_api.fleet_proxy`)."""


SERVICES = web.AppKey("services", Services)
PRINCIPAL = web.RequestKey("principal", Principal)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


__all__ = ["PRINCIPAL", "SERVICES", "Services", "WriteGate", "principal", "services"]
