"""A session's state change and its ``connection.state`` event commit in one transaction: a
crash can lose both (the change did not happen) but never one without the other."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from backends import BackendStores, OpenEngine, stores_over

from daemon.client.connection import NodeSocket
from daemon.client.context import ClientOptions
from daemon.client.credentials import credentials_for_pairing
from daemon.client.events import StateChanged, Subscription
from daemon.client.session import Session
from daemon.client.state import SessionState
from daemon.config import WhatsAppConfig
from daemon.crypto.curve import KeyPair
from daemon.event_format import EventType
from daemon.eventlog import EventLog, EventLogSink
from storage.values import SessionStatus

FAST = ClientOptions(backoff_base=0.001, backoff_cap=0.004, uniform=lambda low, high: high)
STATE = frozenset({EventType.CONNECTION_STATE.value})


class Crash(Exception):
    """Stands for the process dying before the transaction commits."""


class CrashingSink(EventLogSink):
    """Writes the first state event, then dies before the transaction can commit."""

    armed = True

    async def record_state(self, change: StateChanged) -> bool:
        recorded = await super().record_state(change)
        if self.armed:
            self.armed = False
            raise Crash(change.to_state.value)
        return recorded


async def held_dial(static: KeyPair, client_payload: Callable[[], bytes]) -> NodeSocket:
    """A dial that never completes: the session stays in ``connecting``."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.fixture
async def stores(open_engine: OpenEngine, tmp_path: Path) -> BackendStores:
    """A paired session in a new database of each backend."""
    opened = stores_over(await open_engine(), tmp_path)
    await opened.sessions.create("s")
    await credentials_for_pairing(opened.auth, "s")
    await opened.auth.credentials.mark_paired(
        "s",
        signed_device_identity=b"adv",
        pn_jid="15550001111:2@s.whatsapp.net",
        lid_jid="99:2@lid",
        platform="android",
        push_name="me",
    )
    return opened


async def _next_change(events: Subscription) -> StateChanged:
    async for event in events:
        if isinstance(event, StateChanged):
            return event
    raise AssertionError("the subscription ended")


async def test_the_state_event_is_committed_with_the_transition(stores: BackendStores) -> None:
    log = EventLog(stores)
    session = await Session.open(stores, "s", WhatsAppConfig(), options=FAST, dialer=held_dial)
    session.messenger.set_sink(EventLogSink(log, stores))
    with session.events() as events:
        await session.connect()
        changed = await asyncio.wait_for(_next_change(events), 5)
        # Published only after the commit, and nobody forwarded it: the row is already there.
        assert changed.to_state is SessionState.CONNECTING and changed.recorded
        logged = await log.read("s", types=STATE)
        assert [event.data["to"] for event in logged] == ["connecting"]
        assert logged[0].data["reason"] == changed.reason
        await session.disconnect("operator stop")
        stopped = await asyncio.wait_for(_next_change(events), 5)
    assert stopped.to_state is SessionState.STOPPED and stopped.recorded
    await session.close()
    transitions = await stores.sessions.transitions("s")
    logged = await log.read("s", types=STATE)
    # Every transition since the sink was set has its event, in the same order.
    assert [t.to_status.value for t in transitions][-len(logged) :] == [
        event.data["to"] for event in logged
    ]
    assert [event.data["to"] for event in logged] == ["connecting", "stopped"]


async def test_a_crash_before_the_commit_loses_the_change_and_its_event(
    stores: BackendStores,
) -> None:
    log = EventLog(stores)
    session = await Session.open(stores, "s", WhatsAppConfig(), options=FAST, dialer=held_dial)
    session.messenger.set_sink(CrashingSink(log, stores))
    before = await stores.sessions.transitions("s")
    with pytest.raises(Crash):
        await session.connect()
    row = await stores.sessions.get("s")
    assert row is not None and row.status is SessionStatus.NEW
    assert await stores.sessions.transitions("s") == before
    assert await log.read("s", types=STATE) == []
    assert session.state is SessionState.NEW
    await session.close()


async def test_without_a_durable_sink_the_change_is_left_to_the_forwarder(
    stores: BackendStores,
) -> None:
    session = await Session.open(stores, "s", WhatsAppConfig(), options=FAST, dialer=held_dial)
    with session.events() as events:
        await session.connect()
        changed = await asyncio.wait_for(_next_change(events), 5)
    assert changed.to_state is SessionState.CONNECTING and not changed.recorded
    assert await EventLog(stores).read("s", types=STATE) == []
    await session.close()
