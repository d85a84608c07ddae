"""Session-level guarantees without a server: one connect attempt in flight, one Session per
id, every transition persisted before it is published, a restart recorded as such."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from client_fakes import FakeSocket

from daemon.binary import Node
from daemon.client.connection import NodeSocket
from daemon.client.context import ClientOptions
from daemon.client.credentials import credentials_for_pairing
from daemon.client.disconnect import DisconnectAction
from daemon.client.errors import InvalidPhoneNumber, NotPaired, SessionBusy
from daemon.client.events import Alert, AlertKind, Disconnected, StateChanged, Subscription
from daemon.client.session import Session
from daemon.client.state import SessionState
from daemon.config import WhatsAppConfig
from daemon.crypto.curve import KeyPair
from daemon.wire.errors import ConnectFailed
from storage.db import Database
from storage.sqlite import SqliteStore
from storage.sqlite.stores import SqliteStores
from storage.values import SessionStatus

E = TypeVar("E")
FAST = ClientOptions(backoff_base=0.001, backoff_cap=0.004, uniform=lambda low, high: high)


class CountingDialer:
    """Fails every dial after ``hold`` seconds, counting dials that overlap."""

    def __init__(self, hold: float = 0.005) -> None:
        self.hold = hold
        self.active = 0
        self.most_active = 0
        self.dials = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, static: KeyPair, client_payload: Callable[[], bytes]) -> NodeSocket:
        self.dials += 1
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            client_payload()  # the payload must build from the stored credentials
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.hold)
            raise ConnectFailed("connection refused")
        finally:
            self.active -= 1


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "guard.db")
    yield opened
    await opened.close()


async def make_paired(db: Database, session_id: str = "s") -> None:
    store = SqliteStore(db)
    await store.sessions.create(session_id)
    await credentials_for_pairing(store, session_id)
    await store.credentials.mark_paired(
        session_id,
        signed_device_identity=b"adv",
        pn_jid="15550001111:2@s.whatsapp.net",
        lid_jid="99:2@lid",
        platform="android",
        push_name="me",
    )


async def test_only_one_attempt_is_ever_in_flight(db: Database) -> None:
    await make_paired(db)
    dialer = CountingDialer()
    session = await Session.open(
        SqliteStores(db), "s", WhatsAppConfig(), options=FAST, dialer=dialer
    )
    with session.events() as events:
        await asyncio.gather(*(session.connect() for _ in range(5)))
        for _ in range(10):
            await asyncio.wait_for(_next(events, Disconnected), 2)
    assert dialer.dials >= 10
    assert dialer.most_active == 1
    assert session.max_sockets_open == 0  # every dial failed before a socket existed
    assert session.delays[:4] == [0.001, 0.002, 0.004, 0.004]
    await session.close()
    assert session.state is SessionState.STOPPED


async def test_a_second_session_object_for_the_same_id_is_refused(db: Database) -> None:
    first = await Session.open(SqliteStores(db), "dup", WhatsAppConfig(), options=FAST)
    with pytest.raises(SessionBusy):
        await Session.open(SqliteStores(db), "dup", WhatsAppConfig(), options=FAST)
    await first.close()
    second = await Session.open(SqliteStores(db), "dup", WhatsAppConfig(), options=FAST)
    await second.close()


async def test_transitions_are_persisted_before_they_are_published(db: Database) -> None:
    await make_paired(db)
    dialer = CountingDialer()
    dialer.gate = asyncio.Event()  # hold the dial: nothing moves on after "connecting"
    session = await Session.open(
        SqliteStores(db), "s", WhatsAppConfig(), options=FAST, dialer=dialer
    )
    store = SqliteStore(db)
    with session.events() as events:
        await session.connect()
        changed = await asyncio.wait_for(_next(events, StateChanged), 2)
        row = await store.sessions.get("s")
        assert row is not None and row.status is SessionStatus.CONNECTING
        assert changed.to_state is SessionState.CONNECTING
        assert row.status_reason == changed.reason
        await session.disconnect("operator stop")
        stopped = await asyncio.wait_for(_next(events, StateChanged), 2)
    assert stopped.to_state is SessionState.STOPPED and stopped.reason == "operator stop"
    assert not session.running and dialer.active == 0
    history = await store.sessions.transitions("s")
    assert [t.to_status for t in history][-2:] == [SessionStatus.CONNECTING, SessionStatus.STOPPED]
    await session.close()


async def test_a_session_left_live_by_a_dead_process_opens_stopped(db: Database) -> None:
    await make_paired(db)
    store = SqliteStore(db)
    await store.sessions.update_status("s", SessionStatus.CONNECTING, "connect requested")
    await store.sessions.update_status("s", SessionStatus.CONNECTED, "logged in")
    session = await Session.open(SqliteStores(db), "s", WhatsAppConfig(), options=FAST)
    assert session.state is SessionState.STOPPED
    last = (await store.sessions.transitions("s"))[-1]
    assert last.from_status is SessionStatus.CONNECTED
    assert "process restarted while connected" in last.reason
    await session.close()


async def test_commands_refuse_bad_input_without_changing_state(db: Database) -> None:
    session = await Session.open(SqliteStores(db), "fresh", WhatsAppConfig(), options=FAST)
    with pytest.raises(NotPaired):
        await session.connect()
    with pytest.raises(InvalidPhoneNumber):
        await session.pair_with_code("12")
    with pytest.raises(ValueError):
        session.set_client_version("two.three")
    assert session.state is SessionState.NEW
    assert len(await SqliteStore(db).sessions.transitions("fresh")) == 1
    await session.close()


async def test_logout_without_a_connection_retires_locally(db: Database) -> None:
    await make_paired(db)
    session = await Session.open(SqliteStores(db), "s", WhatsAppConfig(), options=FAST)
    await session.logout()
    assert session.state is SessionState.LOGGED_OUT
    store = SqliteStore(db)
    assert await store.credentials.load("s") is None
    [retired] = await store.credentials.history("s")
    assert retired.retired_reason == "logged out by request (server not told)"
    await session.close()


async def _next(events: Subscription, kind: type[E]) -> E:
    while True:
        event = await events.next()
        if isinstance(event, kind):
            return event


async def test_a_server_that_only_says_515_gets_backoff_not_a_storm(db: Database) -> None:
    await make_paired(db)

    async def restart_every_time(static: KeyPair, payload: Callable[[], bytes]) -> NodeSocket:
        socket = FakeSocket()
        socket.push(Node("stream:error", {"code": "515"}))
        return socket

    session = await Session.open(
        SqliteStores(db), "s", WhatsAppConfig(), options=FAST, dialer=restart_every_time
    )
    with session.events() as events:
        await session.connect()
        seen = [await asyncio.wait_for(_next(events, Disconnected), 2) for _ in range(5)]
    assert [d.retry_in for d in seen[:3]] == [0.0, 0.0, 0.0]
    assert seen[3].decision.action is DisconnectAction.BACK_OFF
    assert "4 restarts without a login" in seen[3].decision.reason
    assert seen[3].retry_in == 0.001
    await session.close()


async def test_a_long_failure_streak_raises_one_reconnect_loop_alert(db: Database) -> None:
    await make_paired(db)
    session = await Session.open(
        SqliteStores(db), "s", WhatsAppConfig(), options=FAST, dialer=CountingDialer(hold=0.0)
    )
    with session.events() as events:
        await session.connect()
        alert = await asyncio.wait_for(_next(events, Alert), 5)
        for _ in range(5):
            await asyncio.wait_for(_next(events, Disconnected), 2)
        later = [e for e in events.pending() if isinstance(e, Alert)]
    assert alert.kind is AlertKind.RECONNECT_LOOP
    assert "10 failed attempts in a row" in alert.message
    assert later == []
    await session.close()
