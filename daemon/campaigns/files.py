"""A media campaign's file: staged once for every recipient, kept until the campaign ends.

The file lives at ``<state dir>/outgoing/campaigns/<campaign id>`` (beside the messages API's
staging directory); every recipient's outbox row names that one path as a *shared* file, which
the outbox never removes. It is removed once the campaign is final (completed, failed or
cancelled) and none of its recipients is still queued in the outbox: a cancelled campaign's
messages already handed to the outbox are still sent, with the file. A crash between a
campaign's end and the removal, or during a create that never committed, leaves a file the
:meth:`CampaignFiles.sweep` at the next start removes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import structlog

from storage.campaign_interfaces import CampaignStore
from storage.campaign_values import RecipientStatus

log = structlog.get_logger("daemon.campaigns")

DIRECTORY = Path("outgoing") / "campaigns"
"""Under the state directory."""


class CampaignFiles:
    def __init__(self, state_dir: Path, store: CampaignStore) -> None:
        self.directory = state_dir / DIRECTORY
        self._store = store

    def ensure_directory(self) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.directory

    def path_for(self, campaign_id: str) -> Path:
        return self.directory / campaign_id

    async def release_if_done(self, campaign_id: str) -> bool:
        """Removes the campaign's file if the campaign is over and nothing of it is queued."""
        path = self.path_for(campaign_id)
        if not path.exists():
            return False
        campaign = await self._store.get(campaign_id)
        if campaign is None or not campaign.status.is_final:
            return False
        return await self._remove_unless_queued(campaign_id, path)

    async def _remove_unless_queued(self, campaign_id: str, path: Path) -> bool:
        if (await self._store.counts(campaign_id)).get(RecipientStatus.QUEUED):
            return False
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log.info("campaign.file_removed", campaign=campaign_id)
        return True

    async def sweep(self, before: float) -> int:
        """Removes files (older than ``before``, a Unix time: a create under way is younger)
        of campaigns that ended or were never created; returns how many."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        for entry in sorted(self.directory.iterdir()):
            try:
                if entry.stat().st_mtime >= before:
                    continue
            except FileNotFoundError:
                continue
            campaign = await self._store.get(entry.name)
            if campaign is None:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                log.info("campaign.orphan_file_removed")
                removed += 1
            elif campaign.status.is_final and await self._remove_unless_queued(campaign.id, entry):
                removed += 1
        return removed


__all__ = ["DIRECTORY", "CampaignFiles"]
