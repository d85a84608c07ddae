"""The session manager over scripted clients: paced start-up, the start-up retry schedule,
shutdown marking, liveness recovery and its hourly limit, commands."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog.testing
from daemon_fakes import Clock, DeviceFactory, FakeDevice, fast_config

from daemon.client.errors import IqTimeout
from daemon.client.keepalive import Liveness
from daemon.client.state import SessionState
from daemon.config import Config
from daemon.eventlog import EventLog
from daemon.manager import LinkedDevice, SessionExists, SessionManager, client_options
from daemon.startup_gate import GateCounts
from daemon.startup_pacing import StartupRate
from storage.db import Database, Synchronous
from storage.sqlite.sessions import SqliteSessionRepo
from storage.sqlite.stores import SqliteStores
from storage.values import SessionStatus

TIMEOUT = 5.0


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "wamd.db", synchronous=Synchronous.NORMAL)
    yield opened
    await opened.close()


@dataclasses.dataclass
class Rig:
    manager: SessionManager
    devices: DeviceFactory
    clock: Clock
    events: EventLog
    repo: SqliteSessionRepo
    probes: list[str]

    def device(self, session_id: str) -> FakeDevice:
        return self.devices.devices[session_id]


async def make_rig(
    db: Database, config: Config, ids: list[str], *, scripts: dict[str, list[str]] | None = None
) -> Rig:
    repo = SqliteSessionRepo(db)
    for session_id in ids:
        await repo.create(session_id)
    clock = Clock()
    devices = DeviceFactory(clock)
    devices.scripts.update(scripts or {})
    probes: list[str] = []
    failing: set[str] = set()

    async def prober(client: LinkedDevice, timeout: float) -> float:
        probes.append(client.session_id)
        if client.session_id in failing:
            raise IqTimeout("no answer to the ping")
        return 0.01

    events = EventLog(SqliteStores(db))
    manager = SessionManager(config, SqliteStores(db), events, devices, prober=prober, clock=clock)
    await manager.open_all()
    rig = Rig(manager, devices, clock, events, repo, probes)
    rig.failing = failing  # type: ignore[attr-defined]
    return rig


async def until(predicate: object, timeout: float = TIMEOUT) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_startup_connects_staggered(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["a", "b", "c"])
    await rig.manager.start()
    await until(lambda: all(rig.device(s).state is SessionState.CONNECTED for s in "abc"))
    times = [rig.device(s).connect_times[0] for s in "abc"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 0.045 for gap in gaps), gaps
    assert rig.manager.counts().connected == 3
    assert rig.manager.all_expected_connected()
    await rig.manager.shutdown()


async def test_only_paired_active_autoconnect_sessions_start(db: Database, tmp_path: Path) -> None:
    repo = SqliteSessionRepo(db)
    await repo.create("off", auto_connect=False)
    await repo.create("banned")
    await repo.update_status("banned", SessionStatus.BANNED, "403")
    rig = await make_rig(db, fast_config(tmp_path), ["fresh", "ok"])
    rig.devices.unpaired.add("fresh")
    # Re-open so "fresh" comes up unpaired.
    await rig.manager.shutdown()
    manager = SessionManager(
        fast_config(tmp_path), SqliteStores(db), rig.events, rig.devices, clock=rig.clock
    )
    await manager.open_all()
    rig.devices.devices["banned"]._state = SessionState.BANNED  # as the real client restores it
    await manager.start()
    await until(lambda: rig.devices.devices["ok"].state is SessionState.CONNECTED)
    await asyncio.sleep(0.1)
    assert rig.devices.devices["off"].connect_times == []
    assert rig.devices.devices["banned"].connect_times == []
    assert rig.devices.devices["fresh"].connect_times == []
    # An unpaired session never makes health degraded; a banned auto-connect one does.
    assert not manager.all_expected_connected()
    await manager.shutdown()


async def test_a_failing_first_connect_follows_the_retry_schedule(
    db: Database, tmp_path: Path
) -> None:
    config = fast_config(tmp_path)
    rig = await make_rig(db, config, ["s"], scripts={"s": ["fail"] * 4})
    device = None
    await rig.manager.start()
    device = rig.device("s")
    device.default = "hang"  # the client's own backoff takes over after the schedule
    await until(lambda: len(device.connect_times) == 5)
    starts = device.connect_times
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # 5 s, 15 s, 45 s in production; here 0.05, 0.1, 0.2, each on top of the attempt itself.
    for gap, wanted in zip(gaps[:3], config.manager.startup_retry_delays_s, strict=True):
        assert wanted <= gap < wanted + 0.3, gaps
    assert len(device.disconnect_reasons) == 4
    assert device.disconnect_reasons[0].startswith("start-up attempt 1 failed: 503")
    row = await rig.repo.get("s")
    assert row is not None and row.last_error == "503: service unavailable"
    history = [t.to_status for t in await rig.repo.transitions("s")]
    assert SessionStatus.DISCONNECTED in history
    states = [e.data["to"] for e in await rig.events.read("s") if e.type == "connection.state"]
    assert "disconnected" in states
    await rig.manager.shutdown()


async def test_stanzas_arriving_keep_a_start_up_attempt_alive(db: Database, tmp_path: Path) -> None:
    # An offline backlog drains for three attempt timeouts: the attempt is not aborted.
    rig = await make_rig(db, fast_config(tmp_path), ["s"], scripts={"s": ["drain"]})
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.CONNECTED)
    assert len(rig.device("s").connect_times) == 1 and rig.device("s").disconnect_reasons == []
    await rig.manager.shutdown()


async def test_answers_to_pings_are_not_progress(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"], scripts={"s": ["pongs"]})
    await rig.manager.start()
    await until(lambda: len(rig.device("s").disconnect_reasons) == 1)
    assert rig.device("s").disconnect_reasons[0].startswith("start-up attempt 1 failed: not")
    await rig.manager.shutdown()


async def test_a_terminal_answer_ends_the_schedule(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"], scripts={"s": ["banned"]})
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.BANNED)
    await asyncio.sleep(0.3)
    assert len(rig.device("s").connect_times) == 1
    await rig.manager.shutdown()


async def test_shutdown_marks_live_sessions_disconnected(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["a", "b"])
    await rig.manager.start()
    await until(lambda: rig.manager.counts().connected == 2)
    await rig.manager.shutdown()
    for session_id in "ab":
        assert rig.device(session_id).closed
        row = await rig.repo.get(session_id)
        assert row is not None and row.status is SessionStatus.DISCONNECTED
        assert row.status_reason == "daemon stopped"


async def test_a_dead_socket_is_recovered(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"])
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.CONNECTED)
    device = rig.device("s")
    handle = rig.manager._handles["s"]
    await rig.manager.check_liveness("s", handle)
    assert device.disconnect_reasons == []  # fresh evidence: nothing to do
    rig.clock.advance(6.0)  # no frame for longer than dead_after_s
    await rig.manager.check_liveness("s", handle)
    assert device.disconnect_reasons == ["recovery: no frame received for 6.0 s"]
    assert device.state is SessionState.CONNECTED and len(device.connect_times) == 2
    recovery = [e.data for e in await rig.events.read("s") if e.type == "session.recovery"]
    assert recovery == [
        {"action": "reconnect", "reason": "no frame received for 6.0 s", "recoveriesLastHour": 1}
    ]
    await rig.manager.shutdown()


async def test_a_client_that_stopped_running_is_recovered(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"])
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.CONNECTED)
    rig.device("s").running_flag = False  # "connected" in name only
    await rig.manager.check_liveness("s", rig.manager._handles["s"])
    assert "client not running" in rig.device("s").disconnect_reasons[0]
    await rig.manager.shutdown()


async def test_the_fourth_recovery_in_an_hour_waits_for_a_person(
    db: Database, tmp_path: Path
) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"])
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.CONNECTED)
    device = rig.device("s")
    handle = rig.manager._handles["s"]
    for _ in range(3):
        device.liveness_value = Liveness(
            connected_at=rig.clock() - 100, last_frame_in=rig.clock() - 100
        )
        await rig.manager.check_liveness("s", handle)
        rig.clock.advance(60.0)
    assert len(device.connect_times) == 4
    device.liveness_value = Liveness(
        connected_at=rig.clock() - 100, last_frame_in=rig.clock() - 100
    )
    await rig.manager.check_liveness("s", handle)
    assert len(device.connect_times) == 4  # no fifth connect
    assert rig.manager.status_of("s") is SessionStatus.NEEDS_ATTENTION
    row = await rig.repo.get("s")
    assert row is not None and row.status is SessionStatus.NEEDS_ATTENTION
    assert "automatic recovery limit reached (3 in the last hour)" in row.status_reason
    actions = [e.data["action"] for e in await rig.events.read("s") if e.type == "session.recovery"]
    assert actions == ["reconnect", "reconnect", "reconnect", "needs_attention"]
    alerts = [e.data["kind"] for e in await rig.events.read("s") if e.type == "alert"]
    assert alerts == ["needs_attention"]
    # A person reconnects: that is allowed and clears the counter.
    result = await rig.manager.reconnect("s", wait=1.0)
    assert result.success, result.message
    assert rig.manager.status_of("s") is SessionStatus.CONNECTED
    await rig.manager.shutdown()


async def test_the_hourly_limit_survives_a_restart(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"])
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.CONNECTED)
    handle = rig.manager._handles["s"]
    for _ in range(3):
        rig.clock.advance(10.0)
        await rig.manager.check_liveness("s", handle)
    await rig.manager.shutdown()
    restarted = SessionManager(
        fast_config(tmp_path), SqliteStores(db), rig.events, rig.devices, clock=rig.clock
    )
    await restarted.open_all()
    assert (await restarted.view("s")).recoveries_last_hour == 3
    await restarted.shutdown()


async def test_a_quiet_session_is_probed_and_recovered_when_the_probe_fails(
    db: Database, tmp_path: Path
) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["s"])
    await rig.manager.start()
    await until(lambda: rig.device("s").state is SessionState.CONNECTED)
    device, handle = rig.device("s"), rig.manager._handles["s"]

    def fresh_frames() -> None:
        now = rig.clock()
        device.liveness_value = dataclasses.replace(device.liveness_value, last_frame_in=now)

    rig.clock.advance(61.0)  # past probe_after_s with no inbound message
    fresh_frames()
    await rig.manager.check_liveness("s", handle)
    assert rig.probes == ["s"] and device.disconnect_reasons == []
    row = await rig.repo.get("s")
    assert row is not None and row.last_status_check is not None
    await rig.manager.check_liveness("s", handle)
    assert rig.probes == ["s"]  # the probe resets the quiet timer
    rig.manager.note_inbound_message("s", rig.clock() + 50)
    rig.clock.advance(61.0)
    fresh_frames()
    await rig.manager.check_liveness("s", handle)
    assert rig.probes == ["s"]  # a recent message counts as traffic
    rig.failing.add("s")  # type: ignore[attr-defined]
    rig.clock.advance(61.0)
    fresh_frames()
    await rig.manager.check_liveness("s", handle)
    assert rig.probes == ["s", "s"]
    assert device.disconnect_reasons[0].startswith("recovery: probe after")
    await rig.manager.shutdown()


async def test_commands(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), [])
    rig.devices.unpaired.add("new")
    view = await rig.manager.create("new", name="Sales")
    assert view.row.name == "Sales" and view.status is SessionStatus.NEW
    with pytest.raises(SessionExists):
        await rig.manager.create("new")
    qr = await rig.manager.start_pairing("new", wait=1.0)
    assert qr is not None and qr.code == "qr-text-1"
    assert rig.manager.current_qr("new") == qr
    again = await rig.manager.start_pairing("new", wait=1.0)
    assert again == qr and rig.device("new").pairs == 1  # idempotent
    result = await rig.manager.reconnect("new")
    assert not result.success and "not paired" in result.message
    assert await rig.manager.delete("new")
    assert not await rig.manager.delete("new")  # deleting twice is fine
    assert await rig.repo.get("new") is None
    assert [e.type for e in await rig.events.read("new")][-1] == "session.deleted"
    await rig.manager.shutdown()


def test_client_options_take_only_what_is_set(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    options = client_options(config.client)
    assert options.keepalive_min == 20.0 and options.backoff_cap == 300.0
    changed = client_options(
        dataclasses.replace(config.client, keepalive_min_s=1.0, qr_first_ttl_s=5.0)
    )
    assert changed.keepalive_min == 1.0 and changed.qr_first_ttl == 5.0
    assert changed.keepalive_max == 30.0


def paced(tmp_path: Path, **manager: object) -> Config:
    config = fast_config(tmp_path)
    return dataclasses.replace(config, manager=dataclasses.replace(config.manager, **manager))


async def test_startup_paces_every_session_at_the_rate(db: Database, tmp_path: Path) -> None:
    ids = [f"s{i:02d}" for i in range(12)]
    config = paced(tmp_path, startup_connects_per_s=40.0, startup_burst=4, startup_jitter=0.5)
    rig = await make_rig(db, config, ids)
    began = time.monotonic()
    await rig.manager.start()
    await until(lambda: rig.manager.counts().connected == 12)
    firsts = [rig.device(s).connect_times[0] for s in ids]
    # The burst starts at once; the other 8 follow at most 40 a second: the last connect
    # cannot come before 8 intervals (a slow machine only makes it later).
    assert max(firsts) - began >= 8 / 40.0
    assert rig.manager.startup_counts() == GateCounts(queued=0, connecting=0, started=12)
    await rig.manager.shutdown()


async def test_startup_retries_queue_at_the_same_rate(db: Database, tmp_path: Path) -> None:
    config = paced(
        tmp_path,
        startup_connects_per_s=20.0,
        startup_burst=1,
        startup_retry_delays_s=(0.0, 0.0, 0.0),
    )
    rig = await make_rig(db, config, ["s"], scripts={"s": ["fail"] * 4})
    await rig.manager.start()
    device = rig.device("s")
    device.default = "hang"
    await until(lambda: len(device.connect_times) == 5)
    # Four attempts with no retry delay, then the hand-over to the client's backoff: each
    # waited for its turn, one interval after the previous one at least.
    gaps = [later - earlier for earlier, later in itertools.pairwise(device.connect_times)]
    assert all(gap >= 0.05 - 0.002 for gap in gaps), gaps
    await rig.manager.shutdown()


async def test_startup_logins_in_progress_are_bounded(db: Database, tmp_path: Path) -> None:
    config = paced(tmp_path, startup_connects_per_s=1000.0, startup_max_concurrent=1)
    rig = await make_rig(db, config, ["a", "b"], scripts={"a": ["drain"]})
    await rig.manager.start()
    await until(lambda: rig.device("b").state is SessionState.CONNECTED)
    # "a" logs in slowly (draining a backlog); "b" may only start once "a" is in.
    assert rig.device("b").connect_times[0] >= rig.device("a").connect_times[0] + 1.0
    assert rig.manager.startup_counts().connecting == 0
    await rig.manager.shutdown()


async def test_a_stop_cancels_queued_startups_at_once(db: Database, tmp_path: Path) -> None:
    ids = [f"s{i:02d}" for i in range(40)]
    config = paced(tmp_path, startup_connects_per_s=0.01, startup_burst=2, startup_jitter=0.0)
    rig = await make_rig(db, config, ids)
    await rig.manager.start()
    await until(lambda: rig.manager.counts().connected == 2)
    await until(lambda: rig.manager.startup_counts().queued == 38)  # 100 s until the next
    async with asyncio.timeout(TIMEOUT):
        await rig.manager.shutdown()
    assert sum(1 for s in ids if rig.device(s).connect_times) == 2
    assert rig.manager.startup_counts() == GateCounts(queued=0, connecting=0, started=2)


async def test_start_sessions_schedules_each_session_once(db: Database, tmp_path: Path) -> None:
    config = paced(tmp_path, startup_connects_per_s=0.01, startup_burst=1)
    rig = await make_rig(db, config, ["a", "b", "c"])
    # What a fleet daemon does with the sessions it takes over, at its share of the rate.
    share = StartupRate(connects_per_s=0.005, burst=1, max_concurrent=8)
    rig.manager.retune_startup(share)
    assert rig.manager.startup_rate == share
    assert rig.manager.start_sessions(["a", "b", "nope"]) == 2
    assert rig.manager.start_sessions(["a", "b", "c"]) == 1  # a and b are already starting
    await until(lambda: rig.device("a").state is SessionState.CONNECTED)
    assert rig.device("b").connect_times == [] and rig.device("c").connect_times == []
    await rig.manager.reconnect("b", wait=1.0)  # a person's command ends b's start-up
    assert rig.manager.start_sessions(["a"]) == 0  # connected: nothing to start
    await rig.manager.shutdown()


async def test_sessions_a_fleet_daemon_adopts_are_paced(db: Database, tmp_path: Path) -> None:
    config = paced(tmp_path, startup_connects_per_s=0.01, startup_burst=2)
    repo = SqliteSessionRepo(db)
    for session_id in "abcd":
        await repo.create(session_id)
    devices = DeviceFactory(Clock())
    manager = SessionManager(
        config, SqliteStores(db), EventLog(SqliteStores(db)), devices, fleet=True
    )
    await manager.open_all()
    await manager.start()
    for session_id in "abcd":
        assert await manager.adopt(session_id)
    await until(lambda: manager.counts().connected == 2)
    assert [s for s in "abcd" if devices.devices[s].connect_times] == ["a", "b"]
    assert manager.startup_counts().queued == 2
    await manager.shutdown()


async def test_the_deprecated_stagger_still_paces_and_says_so(db: Database, tmp_path: Path) -> None:
    config = paced(tmp_path, connect_stagger_s=0.05)
    rig = await make_rig(db, config, ["a", "b", "c"])
    with structlog.testing.capture_logs() as logs:
        began = time.monotonic()
        await rig.manager.start()
        await until(lambda: rig.manager.counts().connected == 3)
    assert rig.manager.startup_rate == StartupRate(connects_per_s=20.0, burst=1)
    assert max(rig.device(s).connect_times[0] for s in "abc") - began >= 2 * 0.05 - 0.002
    deprecated = [e for e in logs if e["event"] == "config.deprecated"]
    assert [e["key"] for e in deprecated] == ["manager.connect_stagger_s"]
    await rig.manager.shutdown()


def event_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("wamd-events-")]


async def test_idle_sessions_hold_no_event_forwarding_task(db: Database, tmp_path: Path) -> None:
    rig = await make_rig(db, fast_config(tmp_path), ["a", "b", "c"])
    await rig.manager.start()
    await until(lambda: rig.manager.counts().connected == 3)
    # Their connection events are written in order, then nothing runs for them any more.
    await until(lambda: not event_tasks())
    for session_id in "abc":
        events = await rig.events.read(session_id)
        states = [e.data["to"] for e in events if e.type == "connection.state"]
        assert states[-2:] == ["connecting", "connected"], states
    # A later event starts a task again, only until it is written.
    await rig.manager.disconnect("b")
    await until(lambda: not event_tasks())
    states = [e.data["to"] for e in await rig.events.read("b") if e.type == "connection.state"]
    assert states[-1] == "stopped"
    await rig.manager.shutdown()
