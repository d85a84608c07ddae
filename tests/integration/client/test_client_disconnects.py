"""Each row of the disconnect table, driven by the sandbox's fault injection (admin API): the
state the session ends in, and whether and when it reconnects."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from client_harness import FAST, admin, client_config, collect_until, pair_by_qr, sandbox_sockets
from sandbox_clients import next_event

from daemon.binary import JID
from daemon.client.disconnect import DisconnectAction
from daemon.client.events import Alert, AlertKind, Connected, Disconnected, QrCode, StateChanged
from daemon.client.session import Session
from daemon.client.state import SessionState
from sandbox.app import SandboxServer
from sandbox.directory import Account
from storage.db import Database
from storage.sqlite import SqliteStore
from storage.sqlite.stores import SqliteStores

# Deterministic jitter: every backoff delay is its ceiling, so "when" can be asserted.
OPTIONS = dataclasses.replace(FAST, uniform=lambda low, high: high)


@pytest.fixture
async def paired(
    sandbox: SandboxServer, account: Account, client_db: Database
) -> AsyncIterator[Session]:
    session = await Session.open(
        SqliteStores(client_db), "main", client_config(sandbox), options=OPTIONS
    )
    await pair_by_qr(sandbox, session, account)
    yield session
    await session.close()


def device(session: Session) -> str:
    credentials = session.credentials
    assert credentials is not None and credentials.pn_jid is not None
    return credentials.pn_jid


async def assert_stays_down(sandbox: SandboxServer, session: Session) -> None:
    attempts = session.connect_attempts
    await asyncio.sleep(0.3)
    assert session.connect_attempts == attempts, "a terminal state must not reconnect"
    assert not session.running and session.sockets_open == 0
    assert sandbox_sockets(sandbox, session) == 0


async def test_515_reconnects_at_once(sandbox: SandboxServer, paired: Session) -> None:
    with paired.events() as events:
        await admin(
            sandbox, "POST", "/faults/stream-error", {"code": 515, "device": device(paired)}
        )
        _, seen = await collect_until(events, Connected)
    disconnected = [e for e in seen if isinstance(e, Disconnected)]
    assert [d.decision.code for d in disconnected] == [515]
    assert disconnected[0].retry_in == 0.0
    states = [e.to_state for e in seen if isinstance(e, StateChanged)]
    assert states == [SessionState.CONNECTING, SessionState.CONNECTED]
    assert paired.delays == []  # no backoff


@pytest.mark.parametrize("code", [500, 503])
async def test_server_errors_back_off_then_reconnect(
    sandbox: SandboxServer, paired: Session, code: int
) -> None:
    with paired.events() as events:
        await admin(
            sandbox, "POST", "/faults/stream-error", {"code": code, "device": device(paired)}
        )
        _, seen = await collect_until(events, Connected)
    disconnected = next(e for e in seen if isinstance(e, Disconnected))
    assert disconnected.decision.code == code
    assert disconnected.decision.action is DisconnectAction.BACK_OFF
    assert disconnected.retry_in == OPTIONS.backoff_base
    states = [e.to_state for e in seen if isinstance(e, StateChanged)]
    assert states == [SessionState.BACKING_OFF, SessionState.CONNECTING, SessionState.CONNECTED]


async def test_network_drop_backs_off_then_reconnects(
    sandbox: SandboxServer, paired: Session
) -> None:
    with paired.events() as events:
        result = await admin(sandbox, "POST", "/faults/drop", {"device": device(paired)})
        assert result["dropped"] == 1
        _, seen = await collect_until(events, Connected)
    disconnected = next(e for e in seen if isinstance(e, Disconnected))
    assert disconnected.decision.code is None
    assert disconnected.retry_in == OPTIONS.backoff_base
    assert paired.state is SessionState.CONNECTED


async def test_missed_keepalive_answer_is_a_dead_socket(
    sandbox: SandboxServer, paired: Session
) -> None:
    # Wait for the post-login queries to finish, then swallow the next iq (a ping).
    await asyncio.sleep(0.3)
    await admin(
        sandbox,
        "POST",
        "/faults/stanzas",
        {
            "direction": "from_device",
            "action": "drop",
            "device": device(paired),
            "tag": "iq",
            "count": 1,
        },
    )
    with paired.events() as events:
        disconnected = await next_event(events, Disconnected, timeout=6)
        await next_event(events, Connected)
    assert "keepalive" in disconnected.decision.reason
    assert disconnected.decision.action is DisconnectAction.BACK_OFF
    assert paired.liveness.last_frame_in is not None


@pytest.mark.parametrize(
    "fault",
    ["stream-error 401", "device logout", "login failure 401"],
)
async def test_logged_out_retires_the_identity_and_stays_down(
    sandbox: SandboxServer, paired: Session, client_db: Database, fault: str
) -> None:
    jid = device(paired)
    identity = paired.credentials.keys.identity.public if paired.credentials else b""
    with paired.events() as events:
        if fault == "stream-error 401":
            await admin(sandbox, "POST", "/faults/stream-error", {"code": 401, "device": jid})
        elif fault == "device logout":
            await admin(sandbox, "POST", f"/devices/{jid}/logout")
        else:
            await admin(sandbox, "POST", "/faults/refuse-logins", {"reason": 401, "device": jid})
            await admin(sandbox, "POST", "/faults/drop", {"device": jid})
        _, seen = await collect_until(
            events, StateChanged, lambda e: e.to_state is SessionState.LOGGED_OUT
        )
    assert any(isinstance(e, Alert) and e.kind is AlertKind.LOGGED_OUT for e in seen)
    await assert_stays_down(sandbox, paired)
    store = SqliteStore(client_db)
    assert await store.credentials.load("main") is None
    [retired] = await store.credentials.history("main")
    assert retired.retired and retired.keys.identity.public == identity
    assert retired.retired_reason is not None and "401" in retired.retired_reason
    row = await store.sessions.get("main")
    assert row is not None and row.status.value == "logged_out"


async def test_replaced_does_not_reconnect(sandbox: SandboxServer, paired: Session) -> None:
    with paired.events() as events:
        await admin(
            sandbox, "POST", "/faults/stream-error", {"code": 440, "device": device(paired)}
        )
        changed, seen = await collect_until(
            events, StateChanged, lambda e: e.to_state is SessionState.REPLACED
        )
    assert any(isinstance(e, Alert) and e.kind is AlertKind.REPLACED for e in seen)
    assert "replaced" in changed.reason
    await assert_stays_down(sandbox, paired)
    # A person may take the session back explicitly.
    with paired.events() as events:
        await paired.connect()
        await next_event(events, Connected)


async def test_outdated_client_alerts_once_and_recovers_with_a_new_version(
    sandbox: SandboxServer, paired: Session
) -> None:
    jid = device(paired)
    await admin(sandbox, "POST", "/faults/refuse-logins", {"reason": 405})
    with paired.events() as events:
        await admin(sandbox, "POST", "/faults/drop", {"device": jid})
        _, seen = await collect_until(
            events, StateChanged, lambda e: e.to_state is SessionState.OUTDATED
        )
    alerts = [e for e in seen if isinstance(e, Alert)]
    assert [a.kind for a in alerts] == [AlertKind.CLIENT_OUTDATED]
    assert paired.config.client_version in alerts[0].message
    attempts = paired.connect_attempts
    await assert_stays_down(sandbox, paired)
    assert paired.connect_attempts == attempts  # no retry storm

    await admin(sandbox, "DELETE", "/faults/refuse-logins", {})
    paired.set_client_version("2.3000.1099999999")
    with paired.events() as events:
        await paired.connect()
        await next_event(events, Connected)


async def test_forbidden_is_banned(sandbox: SandboxServer, paired: Session) -> None:
    jid = device(paired)
    await admin(sandbox, "POST", "/faults/refuse-logins", {"reason": 403, "device": jid})
    with paired.events() as events:
        await admin(sandbox, "POST", "/faults/drop", {"device": jid})
        _, seen = await collect_until(
            events, StateChanged, lambda e: e.to_state is SessionState.BANNED
        )
    assert any(isinstance(e, Alert) and e.kind is AlertKind.BANNED for e in seen)
    await assert_stays_down(sandbox, paired)
    assert paired.credentials is not None  # a ban is not a logout: the identity stays live


async def test_logout_removes_the_companion_and_retires_the_identity(
    sandbox: SandboxServer, paired: Session, client_db: Database
) -> None:
    server_device = sandbox.network.directory.device(JID.parse(device(paired)))
    assert server_device is not None and not server_device.logged_out
    await paired.logout()
    assert paired.state is SessionState.LOGGED_OUT
    assert server_device.logged_out  # the server was told
    await assert_stays_down(sandbox, paired)
    store = SqliteStore(client_db)
    [retired] = await store.credentials.history("main")
    assert retired.retired_reason == "logged out by request"
    # Logging out twice is harmless, and re-pairing is one call away (a new identity).
    await paired.logout()
    assert len(await store.sessions.transitions("main")) == 5  # the second added nothing
    with paired.events() as events:
        await paired.pair()
        await next_event(events, QrCode)
    fresh = paired.credentials
    assert fresh is not None and fresh.keys.identity.public != retired.keys.identity.public
