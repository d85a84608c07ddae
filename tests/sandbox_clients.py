"""What the tests that drive ``daemon.client`` against a sandbox on loopback share.

Timings are shortened through ``ClientOptions`` (never by patching); waiting is always on the
session's own event stream, with a timeout, so that a hang fails the test instead of stalling
the run. Each harness (tests/integration/client, messaging, history_media) builds on these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from daemon.client.context import ClientOptions
from daemon.client.events import Event, Subscription
from daemon.config import WhatsAppConfig
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.phone import SimulatedPhone

WAIT_S = 30.0
"""The default bound of a wait for an event: generous, since only a failing test reaches it."""
E = TypeVar("E")

FAST = ClientOptions(
    qr_first_ttl=5.0,
    qr_later_ttl=2.0,
    keepalive_min=5.0,
    keepalive_max=6.0,
    keepalive_timeout=5.0,
    backoff_base=0.005,
    backoff_cap=0.05,
    stable_after=0.5,
    iq_timeout=10.0,
)


def client_config(server: SandboxServer, **changes: Any) -> WhatsAppConfig:
    """The client's configuration for ``server`` (its endpoint and root key)."""
    config = WhatsAppConfig(
        ws_url=server.ws_url,
        root_public_key=server.root_public_key.hex(),
        connect_timeout_s=5.0,
        iq_timeout_s=10.0,
    )
    return replace(config, **changes)


async def next_event(
    events: Subscription,
    kind: type[E],
    predicate: Callable[[E], bool] = lambda _: True,
    timeout: float = WAIT_S,
) -> E:
    """The next event of ``kind`` matching ``predicate`` (earlier others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            event: Event = await events.next()
            if isinstance(event, kind) and predicate(event):
                return event


def phone(server: SandboxServer, account: Account) -> SimulatedPhone:
    """The account's simulated phone in the sandbox."""
    found = server.network.phones[account.phone_user]
    assert isinstance(found, SimulatedPhone)
    return found


__all__ = ["FAST", "WAIT_S", "client_config", "next_event", "phone"]
