"""The state directory is private: an existing one left readable by others is tightened to 0700
(its media directory too) when the daemon starts, and the change is logged."""

from __future__ import annotations

import stat
from pathlib import Path

from daemon_harness import DaemonFactory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_an_existing_state_directory_is_tightened_at_start(
    daemon_factory: DaemonFactory, tmp_path: Path
) -> None:
    state_dir = tmp_path / "daemon"
    media = state_dir / "media"
    media.mkdir(parents=True)
    state_dir.chmod(0o755)
    media.chmod(0o755)
    daemon = await daemon_factory()
    assert mode(state_dir) == 0o700 and mode(media) == 0o700
    logged = {e["path"]: e["previous_mode"] for e in daemon.matching("daemon.directory_tightened")}
    assert logged == {str(state_dir.resolve()): "0755", str(media.resolve()): "0755"}
    assert await daemon.stop() == 0
