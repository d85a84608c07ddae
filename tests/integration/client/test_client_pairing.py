"""Pairing against the sandbox: QR (scanned by the sandbox phone), code, restart and re-login,
QR rotation and expiry, prekeys uploaded and replenished."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from pathlib import Path

import pytest
from client_harness import FAST, client_config, collect_until, device_of, pair_by_qr
from sandbox_clients import next_event

from daemon.binary import JID, Node
from daemon.client.errors import AlreadyPaired, InvalidPhoneNumber
from daemon.client.events import Alert, AlertKind, Connected, PairCode, QrCode, StateChanged
from daemon.client.qr import QrPayload
from daemon.client.session import Session
from daemon.client.state import SessionState
from daemon.signal.address import ProtocolAddress
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.iq import IqContext
from sandbox.iq_prekeys import handle as handle_encrypt_iq
from sandbox.pairing import PairingFailed
from storage.db import Database
from storage.sqlite import SqliteStore
from storage.sqlite.stores import SqliteStores
from storage.values import SessionStatus


async def test_pair_by_qr_then_restart_logs_in_without_qr(
    sandbox: SandboxServer, account: Account, tmp_path: Path
) -> None:
    db_path = tmp_path / "restart.db"
    db = await Database.open(db_path)
    session = await Session.open(SqliteStores(db), "alice", client_config(sandbox), options=FAST)
    connected = await pair_by_qr(sandbox, session, account)
    assert JID.parse(connected.jid).user == account.phone_user
    assert connected.lid is not None and connected.lid.endswith("@lid")
    credentials = session.credentials
    assert credentials is not None and credentials.is_paired
    identity = credentials.keys.identity.public

    # The server holds the identity we registered with and our 812 first prekeys.
    device = device_of(sandbox, session)
    assert device.identity_public == identity
    assert len(device.prekeys) == 812
    store = SqliteStore(db)
    assert await store.prekeys.count("alice", uploaded=True) == 812
    # The primary's identity is trusted at its LID device 0.
    primary = ProtocolAddress.from_jid(account.lid_device(0))
    trusted = await store.identities.load("alice", str(primary))
    assert trusted is not None and trusted.identity_key == account.identity.public

    history = [(t.from_status, t.to_status) for t in await store.sessions.transitions("alice")]
    assert history == [
        (None, SessionStatus.NEW),
        (SessionStatus.NEW, SessionStatus.PAIRING),
        (SessionStatus.PAIRING, SessionStatus.CONNECTING),
        (SessionStatus.CONNECTING, SessionStatus.CONNECTED),
    ]
    await session.close()
    await db.close()

    # A new process: a new Database and Session over the same file.
    db = await Database.open(db_path)
    session = await Session.open(SqliteStores(db), "alice", client_config(sandbox), options=FAST)
    assert session.state is SessionState.STOPPED  # it was closed, and says so
    with session.events() as events:
        await session.connect()
        again = await next_event(events, Connected)
        assert not [e for e in events.pending() if isinstance(e, QrCode)]
    assert again.jid == connected.jid
    reloaded = session.credentials
    assert reloaded is not None and reloaded.keys.identity.public == identity
    assert session.prekey_uploads == 0  # the server still has plenty
    assert len(await SqliteStore(db).credentials.history("alice")) == 1
    await session.close()
    await db.close()


async def test_qr_rotates_on_schedule_then_expires(
    sandbox: SandboxServer, client_db: Database
) -> None:
    options = dataclasses.replace(FAST, qr_first_ttl=0.4, qr_later_ttl=0.15)
    session = await Session.open(
        SqliteStores(client_db), "expiring", client_config(sandbox), options=options
    )
    with session.events() as events:
        started = time.time()
        await session.pair()
        stopped, seen = await collect_until(
            events, StateChanged, lambda e: e.to_state is SessionState.STOPPED, timeout=5
        )
    codes = [e for e in seen if isinstance(e, QrCode)]
    alerts = [e for e in seen if isinstance(e, Alert)]
    assert [c.index for c in codes] == list(range(6))
    refs = [QrPayload.parse(c.code).ref for c in codes]
    assert len(set(refs)) == 6
    # 0.4 s for the first, 0.15 s for each later one.
    gaps = [b.expires_at - a.expires_at for a, b in itertools.pairwise(codes)]
    assert 0.35 < codes[0].expires_at - started < 0.6
    assert all(abs(gap - 0.15) < 0.01 for gap in gaps)
    payload = QrPayload.parse(codes[0].code)
    credentials = session.credentials
    assert credentials is not None
    assert payload.noise_public == credentials.keys.noise.public
    assert payload.identity_public == credentials.keys.identity.public
    assert payload.adv_secret == credentials.keys.adv_secret
    assert stopped.trigger.value == "qr_expired"
    assert any(a.kind is AlertKind.QR_EXPIRED for a in alerts)
    await asyncio.sleep(0.3)
    assert session.sockets_open == 0 and not session.running
    assert session.connect_attempts == 1  # no request loop after expiry

    # Pairing again is one call and reuses the same (unpaired) identity.
    with session.events() as events:
        await session.pair()
        qr = await next_event(events, QrCode)
    assert QrPayload.parse(qr.code).identity_public == credentials.keys.identity.public
    await session.close()


async def test_pair_by_phone_code(
    sandbox: SandboxServer, account: Account, session: Session
) -> None:
    with pytest.raises(InvalidPhoneNumber):
        await session.pair_with_code("0155")
    with session.events() as events:
        code = await session.pair_with_code(f"+{account.phone_user}")
        shown = await next_event(events, PairCode)
        assert shown.code == code and shown.phone == account.phone_user
        assert len(code) == 9 and code[4] == "-"
        qr_events = [e for e in events.pending() if isinstance(e, QrCode)]
        assert qr_events == []  # code pairing shows no QR
        phone = sandbox.network.phones[account.phone_user]
        device = await phone.confirm_pair_code(code)
        connected = await next_event(events, Connected)
    assert JID.parse(connected.jid) == device.jid()
    credentials = session.credentials
    assert credentials is not None and credentials.is_paired
    assert device.identity_public == credentials.keys.identity.public
    assert session.state is SessionState.CONNECTED


async def test_wrong_pair_code_does_not_pair(
    sandbox: SandboxServer, account: Account, session: Session
) -> None:
    code = await session.pair_with_code(account.phone_user)
    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    phone = sandbox.network.phones[account.phone_user]
    with pytest.raises(PairingFailed):
        await phone.confirm_pair_code(wrong)
    assert session.state is SessionState.PAIRING
    credentials = session.credentials
    assert credentials is not None and not credentials.is_paired


async def test_pair_refuses_an_already_paired_session(
    sandbox: SandboxServer, account: Account, session: Session
) -> None:
    await pair_by_qr(sandbox, session, account)
    await session.disconnect()
    with pytest.raises(AlreadyPaired):
        await session.pair()
    assert session.state is SessionState.STOPPED


async def test_prekeys_are_replenished_when_the_server_runs_low(
    sandbox: SandboxServer, account: Account, session: Session
) -> None:
    await pair_by_qr(sandbox, session, account)
    assert session.prekey_uploads == 1  # the first 812
    device = device_of(sandbox, session)
    network = sandbox.network
    phone_device = network.directory.device(account.pn_device(0))
    assert phone_device is not None
    # Peers fetching our bundle consume one prekey each; take all but 3 in one query.
    take = len(device.prekeys) - 3
    request = Node(
        "iq",
        {"xmlns": "encrypt", "type": "get", "id": "drain"},
        [Node("key", {}, [Node("user", {"jid": device.jid()}) for _ in range(take)])],
    )
    context = IqContext(network, account.pn_device(0), phone_device, account)
    await handle_encrypt_iq(context, request)
    async with asyncio.timeout(10):
        while session.prekey_uploads < 2:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # later low-count notifications must not upload again
    assert session.prekey_uploads == 2
    assert len(device.prekeys) == 3 + 50
    store = SqliteStore(session_store_db(session))
    uploaded = await store.prekeys.count(session.session_id, uploaded=True)
    assert uploaded == 812 + 50
    # Every key the server hands out is one we hold the private half of.
    for key_id, prekey in device.prekeys.items():
        row = await store.prekeys.get(session.session_id, key_id)
        assert row is not None and row.public == prekey.public and row.uploaded


def session_store_db(session: Session) -> Database:
    store = session._ctx.store
    assert isinstance(store, SqliteStore)
    return store.db
