"""A media campaign's file: staged once for every recipient, kept until the campaign ends.

The file lives at ``<state dir>/outgoing/campaigns/<campaign id>`` (beside the messages API's
staging directory), an image's thumbnail beside it (``<campaign id>.thumb``). Every
recipient's outbox row names that one path as a *shared* file, which the outbox never removes.
Both are removed once the campaign is final (completed, failed or cancelled) and none of its
recipients is still queued in the outbox: a cancelled campaign's messages already handed to the
outbox are still sent, with the file. A crash between a campaign's end and the removal, or
during a create that never committed, leaves files the :meth:`CampaignFiles.sweep` at the next
start removes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import structlog

from daemon.send_content import THUMBNAIL_SUFFIX, shared_thumbnail_path
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

    def write_thumbnail(self, campaign_id: str, thumbnail: bytes) -> None:
        shared_thumbnail_path(str(self.path_for(campaign_id))).write_bytes(thumbnail)

    def remove(self, campaign_id: str) -> None:
        """Removes the campaign's file and thumbnail (if there)."""
        path = self.path_for(campaign_id)
        for each in (path, shared_thumbnail_path(str(path))):
            with contextlib.suppress(FileNotFoundError):
                each.unlink()

    def _has_files(self, campaign_id: str) -> bool:
        path = self.path_for(campaign_id)
        return path.exists() or shared_thumbnail_path(str(path)).exists()

    async def release_if_done(self, campaign_id: str) -> bool:
        """Removes the campaign's file if the campaign is over and nothing of it is queued."""
        if not self._has_files(campaign_id):
            return False
        campaign = await self._store.get(campaign_id)
        if campaign is None or not campaign.status.is_final:
            return False
        return await self._remove_unless_queued(campaign_id)

    async def _remove_unless_queued(self, campaign_id: str) -> bool:
        if (await self._store.counts(campaign_id)).get(RecipientStatus.QUEUED):
            return False
        self.remove(campaign_id)
        log.info("campaign.file_removed", campaign=campaign_id)
        return True

    async def sweep(self, before: float) -> int:
        """Removes files (older than ``before``, a Unix time: a create under way is younger)
        of campaigns that ended or were never created; returns how many campaigns' files."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        old: set[str] = set()
        for entry in self.directory.iterdir():
            try:
                if entry.stat().st_mtime < before:
                    old.add(entry.name.removesuffix(THUMBNAIL_SUFFIX))
            except FileNotFoundError:
                continue
        for campaign_id in sorted(old):
            campaign = await self._store.get(campaign_id)
            if campaign is None:
                self.remove(campaign_id)
                log.info("campaign.orphan_file_removed")
                removed += 1
            elif campaign.status.is_final and await self._remove_unless_queued(campaign_id):
                removed += 1
        return removed


__all__ = ["DIRECTORY", "CampaignFiles"]
