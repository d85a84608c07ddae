"""The state directory is private: auth keys, the database, the admin key and people's media.

``wamd run`` creates it 0700 and tightens an existing one (and its ``media/``) to 0700 at every
start: a directory made by hand, by an older version or by a package script may be readable by
other local users, and the files inside it are only as private as the directories above them.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from daemon.client.session import MEDIA_DIRECTORY

PRIVATE_DIR_MODE = 0o700
_OTHERS = 0o077


@dataclass(frozen=True, slots=True)
class Tightened:
    path: Path
    previous_mode: int


def prepare_state_dir(state_dir: Path, database: Path) -> list[Tightened]:
    """Creates ``state_dir`` (0700) when missing; takes the group's and others' access away from
    it and from the media directories (the one in the state directory and the one beside the
    database). Returns what was
    tightened, for the log."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    candidates = [state_dir, state_dir / MEDIA_DIRECTORY, database.parent / MEDIA_DIRECTORY]
    tightened: list[Tightened] = []
    seen: set[Path] = set()
    for path in candidates:
        resolved = path.resolve()
        if resolved in seen or not resolved.is_dir():
            continue
        seen.add(resolved)
        mode = stat.S_IMODE(resolved.stat().st_mode)
        if mode & _OTHERS:
            resolved.chmod(mode & PRIVATE_DIR_MODE)
            tightened.append(Tightened(resolved, mode))
    return tightened
