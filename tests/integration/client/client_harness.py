"""Helpers for driving ``daemon.client`` against a real sandbox on loopback.

Timings are shortened through ``ClientOptions`` (never by patching): QR refs live for tenths of
a second, backoff is milliseconds, keepalive a second. Waiting is always on the session's own
event stream, with a timeout, so a hang fails the test instead of stalling the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp
from sandbox_clients import FAST as shared_fast
from sandbox_clients import client_config as shared_client_config
from sandbox_clients import next_event

from daemon.binary import JID
from daemon.client.events import Connected, Event, QrCode, StateChanged, Subscription
from daemon.client.session import Session
from daemon.client.state import SessionState
from daemon.config import WhatsAppConfig
from sandbox.app import SandboxServer
from sandbox.directory import Account, Device

TIMEOUT = 10.0
E = TypeVar("E")

# Reconnect and keepalive tests need a dead socket noticed within seconds.
FAST = replace(
    shared_fast, keepalive_min=1.0, keepalive_max=1.5, keepalive_timeout=1.0, iq_timeout=5.0
)


def client_config(server: SandboxServer, **changes: Any) -> WhatsAppConfig:
    return shared_client_config(server, **({"iq_timeout_s": 5.0} | changes))


async def collect_until(
    events: Subscription,
    kind: type[E],
    predicate: Callable[[E], bool] = lambda _: True,
    timeout: float = TIMEOUT,
) -> tuple[E, list[Event]]:
    """Like ``next_event``, also returning every event seen on the way (the match last)."""
    seen: list[Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event: Event = await events.next()
            seen.append(event)
            if isinstance(event, kind) and predicate(event):
                return event, seen


async def wait_state(
    events: Subscription, state: SessionState, timeout: float = TIMEOUT
) -> StateChanged:
    return await next_event(events, StateChanged, lambda e: e.to_state is state, timeout)


async def pair_by_qr(server: SandboxServer, session: Session, account: Account) -> Connected:
    """Pairs ``session`` by QR: the account's sandbox phone scans the first QR shown."""
    with session.events() as events:
        await session.pair()
        qr = await next_event(events, QrCode)
        phone = server.network.phones[account.phone_user]
        scan = asyncio.create_task(phone.scan_qr(qr.code))
        connected = await next_event(events, Connected)
        await scan
        return connected


def device_of(server: SandboxServer, session: Session) -> Device:
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    device = server.network.directory.device(JID.parse(credentials.pn_jid))
    assert device is not None
    return device


def sandbox_sockets(server: SandboxServer, session: Session) -> int:
    """Live sockets the sandbox holds for the session's device."""
    credentials = session.credentials
    if credentials is None or credentials.pn_jid is None:
        return 0
    return len(server.network.faults.sockets(JID.parse(credentials.pn_jid)))


async def admin(server: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    """Calls the sandbox's admin HTTP API (fault injection goes through here)."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.admin_url}{path}", json=body) as response,
    ):
        payload = await response.json()
        assert response.status < 300, payload
        return payload
