"""Kill the client process (SIGKILL) at chosen and random points during pairing and during the
first prekey upload. The next start must resume cleanly or land in a clear, reported state:
never a silently new identity, never a damaged database, never prekeys on the server that the
client cannot open."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import ClientDatabase, OpenEngine, open_stores_at
from client_harness import FAST, client_config, pair_by_qr
from sandbox_clients import next_event

from daemon.binary import JID
from daemon.client.events import Connected, QrCode, StateChanged
from daemon.client.qr import QrPayload
from daemon.client.session import Session
from daemon.client.state import SessionState
from sandbox.app import SandboxServer
from sandbox.directory import Account
from sandbox.pairing import PairingFailed
from storage.db import Database, Synchronous
from storage.engine import Dialect
from storage.sqlite import SqliteStore
from storage.sqlite.stores import RepositoryStores, SqliteStores

WORKER = Path(__file__).with_name("client_crash_worker.py")
TESTS = Path(__file__).parents[2]
RNG = random.Random(20240605)

# Deterministic points between steps, then random instants inside the steps that follow.
PAIRING_KILLS = [
    "client.connecting:1",
    "client.qr_code:1",
    "client.pairing_stored:1",  # committed, pair-device-sign not sent yet
    "client.paired:1",
    "client.state:2",  # pairing → connecting after the 515
    *(f"client.qr_code:1+{RNG.uniform(0.0, 0.03):.4f}" for _ in range(4)),
]
UPLOAD_KILLS = [
    "client.prekey_count:1",
    "client.prekeys_stored:1",  # stored, not uploaded yet
    "client.prekeys_uploaded:1",
    *(f"client.prekey_count:1+{RNG.uniform(0.0, 0.12):.4f}" for _ in range(4)),
]


@dataclass(slots=True)
class Run:
    returncode: int
    lines: list[dict[str, str]]


async def run_worker(
    sandbox: SandboxServer, account: Account, where: ClientDatabase, mode: str, kill: str
) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        str(where.path),
        sandbox.ws_url,
        sandbox.root_public_key.hex(),
        mode,
        kill,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=str(WORKER.parent),
        # The worker imports the client harness, which builds on tests/sandbox_clients.py.
        env=where.environ() | {"PYTHONPATH": str(TESTS)},
    )
    assert process.stdout is not None
    lines: list[dict[str, str]] = []
    scans: list[asyncio.Task[object]] = []
    phone = sandbox.network.phones[account.phone_user]
    async with asyncio.timeout(30):
        async for raw in process.stdout:
            line = json.loads(raw)
            lines.append(line)
            if "qr" in line and not scans:
                scans.append(asyncio.create_task(phone.scan_qr(line["qr"])))
        returncode = await process.wait()
    for scan in scans:
        # The phone's side fails when the companion died before answering pair-success.
        with contextlib.suppress(PairingFailed):
            await scan
    return Run(returncode, lines)


async def assert_intact(stores: RepositoryStores) -> None:
    """A SQLite file passes its integrity check (a PostgreSQL server keeps its own)."""
    if isinstance(stores, SqliteStores):
        assert await stores.db.integrity_check() == ["ok"]


async def resume(
    sandbox: SandboxServer, account: Account, where: ClientDatabase
) -> tuple[Session, RepositoryStores, SessionState]:
    """What the next start does: open, then log in when paired, else pair again."""
    stores = await open_stores_at(where, synchronous=Synchronous.FULL)
    await assert_intact(stores)
    session = await Session.open(stores, "crashy", client_config(sandbox), options=FAST)
    assert session.state is not SessionState.NEEDS_ATTENTION
    credentials = session.credentials
    if credentials is not None and credentials.is_paired:
        with session.events() as events:
            await session.connect()
            outcome = await next_event(
                events,
                StateChanged,
                lambda e: e.to_state in (SessionState.CONNECTED, SessionState.LOGGED_OUT),
            )
        return session, stores, outcome.to_state
    with session.events() as events:
        await session.pair()
        qr = await next_event(events, QrCode)
        if credentials is not None:
            # An interrupted pairing goes on with the same identity.
            assert QrPayload.parse(qr.code).identity_public == credentials.keys.identity.public
        phone = sandbox.network.phones[account.phone_user]
        scan = asyncio.create_task(phone.scan_qr(qr.code))
        await next_event(events, Connected)
        await scan
    return session, stores, SessionState.CONNECTED


async def identities(where: ClientDatabase) -> list[bytes]:
    stores = await open_stores_at(where, synchronous=Synchronous.FULL)
    try:
        return [c.keys.identity.public for c in await stores.auth.credentials.history("crashy")]
    finally:
        await stores.close()


def on_both(kills: list[str], on_postgresql: list[str]) -> list[tuple[Dialect, str]]:
    """Every kill point on SQLite; the ones that matter most for persist-before-ack also on
    PostgreSQL (each run starts a worker process and pairs: seconds, not milliseconds)."""
    return [(Dialect.SQLITE, kill) for kill in kills] + [
        (Dialect.POSTGRESQL, kill) for kill in on_postgresql
    ]


@pytest.mark.parametrize(
    ("backend", "kill"),
    on_both(PAIRING_KILLS, ["client.pairing_stored:1", "client.paired:1"]),
    ids=str,
)
async def test_kill_during_pairing(
    sandbox: SandboxServer, account: Account, open_engine: OpenEngine, kill: str
) -> None:
    where = await open_engine.where("crash")
    run = await run_worker(sandbox, account, where, "pair", kill)
    assert run.returncode == -signal.SIGKILL, run.lines
    before = await identities(where)
    assert len(before) <= 1

    session, stores, outcome = await resume(sandbox, account, where)
    after = await identities(where)
    if kill == "client.pairing_stored:1":
        assert outcome is SessionState.LOGGED_OUT
    elif "+" not in kill:
        assert outcome is SessionState.CONNECTED
    if before:
        # The identity that existed at the kill is the one in use (or, if the server never
        # bound it, the one retired with a reason): never replaced behind our back.
        assert after[0] == before[0]
    if outcome is SessionState.LOGGED_OUT:
        # Killed between our commit of pair-success and the server binding it: the login is
        # refused, and the session says so instead of minting a new identity.
        assert session.credentials is None and len(after) == 1
    else:
        assert outcome is SessionState.CONNECTED
        live = session.credentials
        assert live is not None and live.keys.identity.public == after[-1]
        assert len(after) == 1
    await session.close()
    await assert_intact(stores)
    await stores.close()


@pytest.mark.parametrize(
    ("backend", "kill"), on_both(UPLOAD_KILLS, ["client.prekeys_stored:1"]), ids=str
)
async def test_kill_during_first_prekey_upload(
    sandbox: SandboxServer, account: Account, open_engine: OpenEngine, kill: str
) -> None:
    where = await open_engine.where("upload")
    # Pair in this process first, with the worker's session id, then stop.
    stores = await open_stores_at(where, synchronous=Synchronous.FULL)
    session = await Session.open(stores, "crashy", client_config(sandbox), options=FAST)
    with session.events() as events:
        await session.pair()
        qr = await next_event(events, QrCode)
        phone = sandbox.network.phones[account.phone_user]
        scan = asyncio.create_task(phone.scan_qr(qr.code))
        # Stop right after pair-success, before the first login uploads anything.
        await next_event(events, StateChanged, lambda e: e.to_state is SessionState.CONNECTING)
        await session.disconnect()
        await scan
    identity = session.credentials.keys.identity.public if session.credentials else b""
    await session.close()
    await stores.close()
    device = sandbox.network.directory.device(account.pn_device(1))
    assert device is not None and not device.prekeys

    run = await run_worker(sandbox, account, where, "connect", kill)
    assert run.returncode in (0, -signal.SIGKILL), run.lines

    session, stores, outcome = await resume(sandbox, account, where)
    assert outcome is SessionState.CONNECTED
    assert session.credentials is not None
    assert session.credentials.keys.identity.public == identity
    assert await identities(where) == [identity]
    store = stores.auth
    # The server has prekeys again, and each one is a key we hold.
    assert len(device.prekeys) >= 5
    for key_id, prekey in device.prekeys.items():
        row = await store.prekeys.get("crashy", key_id)
        assert row is not None and row.public == prekey.public
    assert await store.prekeys.count("crashy", uploaded=True) >= 5
    await session.close()
    await assert_intact(stores)
    await stores.close()


async def test_paired_session_whose_credentials_vanish_needs_attention(
    sandbox: SandboxServer, account: Account, tmp_path: Path
) -> None:
    db_path = tmp_path / "vanish.db"
    db = await Database.open(db_path)
    session = await Session.open(SqliteStores(db), "crashy", client_config(sandbox), options=FAST)
    await pair_by_qr(sandbox, session, account)
    jid = session.credentials.pn_jid if session.credentials else None
    await session.close()
    # Someone deletes the identity row behind the daemon's back.
    await db.execute("DELETE FROM device_credentials WHERE session_id = ?", ("crashy",))
    session = await Session.open(SqliteStores(db), "crashy", client_config(sandbox), options=FAST)
    assert session.state is SessionState.NEEDS_ATTENTION
    with pytest.raises(Exception, match="credentials are gone"):
        await session.pair()
    with pytest.raises(Exception, match="credentials are gone"):
        await session.connect()
    assert await SqliteStore(db).credentials.history("crashy") == []
    assert jid is not None and JID.parse(jid).device == 1
    await session.close()
    await db.close()


async def test_damaged_credentials_need_attention_and_are_left_alone(
    sandbox: SandboxServer, account: Account, tmp_path: Path
) -> None:
    db_path = tmp_path / "damaged.db"
    db = await Database.open(db_path)
    session = await Session.open(SqliteStores(db), "crashy", client_config(sandbox), options=FAST)
    await pair_by_qr(sandbox, session, account)
    await session.close()
    # A full disk or a bad restore zeroed the identity's private key.
    await db.execute(
        "UPDATE device_credentials SET identity_private = zeroblob(32) WHERE session_id = ?",
        ("crashy",),
    )
    with_events = await Session.open(
        SqliteStores(db), "crashy", client_config(sandbox), options=FAST
    )
    assert with_events.state is SessionState.NEEDS_ATTENTION
    with pytest.raises(Exception, match="damaged"):
        await with_events.connect()
    with pytest.raises(Exception, match="damaged"):
        await with_events.pair()
    row = await db.fetch_one(
        "SELECT count(*), sum(retired) FROM device_credentials WHERE session_id = ?", ("crashy",)
    )
    assert row == (1, 0)  # still the one damaged row, not retired, not replaced
    transitions = await SqliteStore(db).sessions.transitions("crashy")
    assert transitions[-1].to_status.value == "needs_attention"
    await with_events.close()
    await db.close()
