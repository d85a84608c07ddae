"""sd_notify: datagrams on NOTIFY_SOCKET (a path or the abstract namespace), the watchdog
interval, and silence outside systemd."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.systemd import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    yield sock, path
    sock.close()


def fields(datagram: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in datagram.decode().split("\n"))


def test_ready_stopping_status_and_watchdog(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("serving")
    ready = fields(sock.recv(4096))
    assert ready == {"READY": "1", "STATUS": "serving", "MAINPID": str(os.getpid())}
    assert notifier.watchdog()
    assert fields(sock.recv(4096)) == {"WATCHDOG": "1"}
    assert notifier.stopping()
    assert fields(sock.recv(4096)) == {"STOPPING": "1", "STATUS": "stopping"}


def test_abstract_namespace_socket() -> None:
    name = f"wamd-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
        assert fields(sock.recv(4096)) == {"STATUS": "hello"}
    finally:
        sock.close()


def test_outside_systemd_nothing_happens() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert notifier.watchdog_interval is None


def test_a_vanished_socket_never_raises(tmp_path: Path) -> None:
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


def test_watchdog_interval_is_half_the_timeout() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "60000000"}
    assert Notifier(env).watchdog_interval == 30.0
    # The watchdog belongs to another process: not ours to ping.
    env["WATCHDOG_PID"] = str(os.getpid() + 1)
    assert Notifier(env).watchdog_interval is None


async def test_the_watchdog_loop_pings(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    sock.setblocking(False)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    task = asyncio.create_task(notifier.run_watchdog())
    await asyncio.sleep(0.18)
    task.cancel()
    pings = 0
    while True:
        try:
            pings += fields(sock.recv(4096)) == {"WATCHDOG": "1"}
        except BlockingIOError:
            break
    assert pings >= 3
