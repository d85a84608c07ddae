"""Gathered WAL writes: the optional VFS shim compiled from ``storage/_wal_gather.c``.

SQLite appends every WAL frame with two write() calls (its 24-byte header, then its page), so a
commit of 16 pages costs 32 system calls, and on ext4 each one costs about 4 µs whatever its
size. The shim wraps the process's default VFS and hands a commit's frames to the file in one
write, before the COMMIT returns and before the frames are published to other connections;
locking, shared memory, syncs and every other file go through untouched (see the C file for
when gathered bytes are written). Durability is unchanged: a COMMIT still returns only once
its frames are written and, with ``synchronous=FULL``, synced.

Where the extension was not built (no C compiler or SQLite headers), connections use the
default VFS: same files, same results, more system calls.
"""

from __future__ import annotations

import functools
import sqlite3
import urllib.parse
from pathlib import Path
from types import ModuleType


@functools.cache
def _compiled() -> ModuleType | None:
    """The compiled shim, or None where it was not built."""
    try:
        from storage import _wal_gather
    except ImportError:
        return None
    return _wal_gather


@functools.cache
def vfs_name() -> str | None:
    """The shim's VFS name, registered once per process; None where it was not built, or
    where the ``sqlite3`` module cannot see it."""
    shim = _compiled()
    if shim is None:
        return None
    name: str = shim.register()
    return name if sqlite_knows_vfs(name) else None


def sqlite_knows_vfs(name: str) -> bool:
    """Whether ``sqlite3`` connections can use the VFS ``name``. The shim registers itself in
    the SQLite library it was linked against; a Python whose ``sqlite3`` module carries a
    SQLite of its own (statically linked builds) would not find it there."""
    try:
        sqlite3.connect(
            f"file:wamd-vfs-probe?mode=memory&vfs={urllib.parse.quote(name)}", uri=True
        ).close()
    except sqlite3.OperationalError:
        return False
    return True


def connect_target(path: Path, *, gather: bool) -> tuple[str | Path, bool]:
    """What to hand ``sqlite3.connect`` for ``path``, and whether it is a URI: a ``file:`` URI
    naming the shim when ``gather`` is asked for and it is available, else the path itself."""
    name = vfs_name() if gather else None
    if name is None:
        return path, False
    # An absolute path gets an empty authority ("file:///..."), so one that starts with two
    # slashes is not read as a host name; everything but "/" that a URI gives meaning to is
    # escaped.
    prefix = "file://" if path.is_absolute() else "file:"
    quoted = urllib.parse.quote(str(path), safe="/")
    return f"{prefix}{quoted}?vfs={urllib.parse.quote(name)}", True


def write_counters() -> tuple[int, int] | None:
    """(WAL writes SQLite asked for, writes the shim made to the file) in this process so far;
    None where the shim was not built."""
    shim = _compiled()
    if shim is None:
        return None
    counters: tuple[int, int] = shim.counters()
    return counters
