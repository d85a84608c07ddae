"""Which process owns a database: an exclusive ``flock`` on ``<database>.lock``.

``wamd run`` holds it for as long as it runs (the kernel drops it when the process dies, also
on SIGKILL), with its pid and API URL written inside. Other processes that would write the
same database (``wamd pair`` without a daemon, a second ``wamd run``) check it first and refuse
with a message naming the daemon, instead of changing rows under a running daemon's feet.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path


class StateBusy(Exception):
    """Another process (a running daemon) owns this database."""


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    url: str | None

    def describe(self) -> str:
        who = "a running daemon" if self.pid is None else f"a running daemon (pid {self.pid})"
        return who if not self.url else f"{who} serving {self.url}"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def _read(fd: int) -> Holder:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace").split()
    pid = int(text[0]) if text and text[0].isdigit() else None
    return Holder(pid, text[1] if len(text) > 1 else None)


def holder(database: Path) -> Holder | None:
    """Who holds the database's lock; None when nobody does."""
    try:
        fd = os.open(lock_path(database), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class StateLock:
    """The daemon's hold on its database (see the module docstring)."""

    def __init__(self, database: Path) -> None:
        self._path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock or raises StateBusy naming the holder."""
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            found = _read(fd)
            os.close(fd)
            raise StateBusy(f"{found.describe()} owns {self._path.with_suffix('')}") from None
        self._fd = fd
        self.announce(None)

    def announce(self, url: str | None) -> None:
        """Writes our pid (and API URL, once it listens) into the lock file."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, f"{os.getpid()} {url or ''}\n".encode())

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


__all__ = ["Holder", "StateBusy", "StateLock", "holder", "lock_path"]
