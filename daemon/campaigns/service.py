"""The campaign operations the API offers: create a draft, add recipients, start (now or at
``scheduledAt``), pause, resume, cancel, and read campaigns with their counts and recipients.

Every state change is one transaction together with its ``campaign.updated`` event, so the
event log (and with it webhooks and SSE) never reports a change that did not commit. The
:class:`~daemon.campaigns.dispatcher.CampaignDispatcher` does the sending; operations that give
it work wake it through ``on_change``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from daemon.campaigns.files import CampaignFiles
from daemon.campaigns.requests import (
    MAX_RECIPIENTS,
    CampaignInputError,
    InvalidRecipient,
    content_variables,
    parse_campaign,
    parse_recipients,
    parse_start,
)
from daemon.campaigns.shapes import campaign_json
from daemon.config import CampaignsConfig
from daemon.event_format import EventType, new_event_id
from daemon.eventlog import EventLog
from daemon.send_content import MediaAttachment
from storage.campaign_interfaces import CampaignStore
from storage.campaign_values import (
    Campaign,
    CampaignStatus,
    NewCampaign,
    Recipient,
    RecipientStatus,
)

log = structlog.get_logger("daemon.campaigns")

OPEN_FOR_RECIPIENTS = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED}
)
RUNNING = frozenset({CampaignStatus.SCHEDULED, CampaignStatus.PROCESSING})
CANCELLABLE = frozenset(
    {
        CampaignStatus.DRAFT,
        CampaignStatus.SCHEDULED,
        CampaignStatus.PROCESSING,
        CampaignStatus.PAUSED,
    }
)


class CampaignNotFound(LookupError):
    """No such campaign in this session."""


class CampaignConflict(Exception):
    """The campaign's status does not allow the operation (the message says why)."""


@dataclass(frozen=True, slots=True)
class AddResult:
    added: int
    duplicates: int
    """Entries that repeat one of the batch or one the campaign already has."""
    invalid: list[InvalidRecipient]
    total: int


def new_campaign_id() -> str:
    return "cmp_" + new_event_id().removeprefix("evt_")


async def record_transition(
    store: CampaignStore,
    events: EventLog,
    campaign_id: str,
    status: CampaignStatus,
    *,
    expected: Collection[CampaignStatus],
    reason: str | None = None,
    scheduled_at: datetime | None = None,
) -> Campaign | None:
    """Moves the campaign (if it is in ``expected``) and appends its ``campaign.updated``
    event in the same transaction; None when it was not in ``expected``."""
    async with store.transaction():
        moved = await store.set_status(
            campaign_id, status, expected=expected, reason=reason, scheduled_at=scheduled_at
        )
        if moved is None:
            return None
        if status is CampaignStatus.CANCELLED:
            await store.cancel_pending(campaign_id)
        counts = await store.counts(campaign_id)
        await events.append(
            moved.session_id, EventType.CAMPAIGN_UPDATED, campaign_json(moved, counts)
        )
    log.info(
        "campaign.status",
        session=moved.session_id,
        campaign=campaign_id,
        status=status.value,
        reason=reason,
    )
    return moved


class CampaignService:
    def __init__(
        self,
        store: CampaignStore,
        events: EventLog,
        config: CampaignsConfig,
        files: CampaignFiles,
        *,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.files = files
        self._events = events
        self._config = config
        self._on_change = on_change
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def describe(self, campaign: Campaign) -> dict[str, Any]:
        return campaign_json(campaign, await self.store.counts(campaign.id))

    async def get(self, session_id: str, campaign_id: str) -> Campaign:
        campaign = await self.store.get(campaign_id)
        if campaign is None or campaign.session_id != session_id:
            raise CampaignNotFound(f"no campaign {campaign_id!r} in session {session_id!r}")
        return campaign

    async def list_for_session(
        self, session_id: str, *, before_id: str | None, limit: int
    ) -> list[Campaign]:
        return await self.store.list_for_session(session_id, before_id=before_id, limit=limit)

    async def create(
        self,
        session_id: str,
        body: dict[str, Any],
        *,
        media: MediaAttachment | None = None,
        campaign_id: str | None = None,
    ) -> Campaign:
        """A draft. A media campaign's file is staged by the caller at
        ``files.path_for(campaign_id)`` and passed as ``media``; the caller removes it when
        this raises."""
        if media is not None and (
            campaign_id is None or media.file.path != str(self.files.path_for(campaign_id))
        ):
            raise ValueError("a campaign's file is staged at files.path_for(campaign_id)")
        draft = parse_campaign(
            body,
            default_rate=self._config.default_rate_per_minute,
            now=self._now(),
            media=media,
        )
        new = NewCampaign(
            id=campaign_id or new_campaign_id(),
            session_id=session_id,
            name=draft.name,
            content=draft.content,
            defaults=draft.defaults,
            pacing=draft.pacing,
            scheduled_at=draft.scheduled_at,
        )
        try:
            if media is not None and media.thumbnail:
                self.files.write_thumbnail(new.id, media.thumbnail)
            async with self.store.transaction():
                campaign = await self.store.create(new)
                await self._events.append(
                    session_id, EventType.CAMPAIGN_UPDATED, campaign_json(campaign, {})
                )
        except BaseException:
            if media is not None:
                self.files.remove(new.id)
            raise
        log.info("campaign.created", session=session_id, campaign=campaign.id)
        return campaign

    async def add_recipients(
        self, session_id: str, campaign_id: str, body: dict[str, Any]
    ) -> AddResult:
        campaign = await self.get(session_id, campaign_id)
        if campaign.status not in OPEN_FOR_RECIPIENTS:
            raise CampaignConflict(
                f"recipients can be added while the campaign is draft, scheduled or paused, "
                f"not {campaign.status.value}"
            )
        names = content_variables(campaign.content)
        # Up to 100,000 entries: validated off the event loop, which keeps serving sessions.
        batch = await asyncio.to_thread(parse_recipients, body, names, campaign.defaults)
        async with self.store.transaction():
            before = await self.store.recipient_total(campaign_id)
            if before + len(batch.recipients) > MAX_RECIPIENTS:
                raise CampaignInputError(
                    f"a campaign has at most {MAX_RECIPIENTS} recipients; it has {before} and "
                    f"this batch would add up to {len(batch.recipients)}"
                )
            added = await self.store.add_recipients(campaign_id, batch.recipients)
            if added:
                await self._events.append(
                    session_id, EventType.CAMPAIGN_UPDATED, await self.describe(campaign)
                )
        log.info(
            "campaign.recipients_added",
            session=session_id,
            campaign=campaign_id,
            added=added,
            invalid=len(batch.invalid),
        )
        if added:
            self._on_change()
        return AddResult(
            added=added,
            duplicates=batch.duplicates + len(batch.recipients) - added,
            invalid=batch.invalid,
            total=before + added,
        )

    async def start(self, session_id: str, campaign_id: str, body: dict[str, Any]) -> Campaign:
        now = self._now()
        requested = parse_start(body, now)
        campaign = await self.get(session_id, campaign_id)
        if campaign.status is not CampaignStatus.DRAFT:
            raise CampaignConflict(f"only a draft can be started; it is {campaign.status.value}")
        if await self.store.recipient_total(campaign_id) == 0:
            raise CampaignConflict("the campaign has no recipients; add some first")
        when = requested or campaign.scheduled_at
        status = (
            CampaignStatus.SCHEDULED
            if when is not None and when > now
            else CampaignStatus.PROCESSING
        )
        moved = await record_transition(
            self.store,
            self._events,
            campaign_id,
            status,
            expected={CampaignStatus.DRAFT},
            scheduled_at=requested,
        )
        return await self._changed(moved, campaign_id, "started")

    async def pause(self, session_id: str, campaign_id: str) -> Campaign:
        campaign = await self.get(session_id, campaign_id)
        if campaign.status is CampaignStatus.PAUSED:
            return campaign
        moved = await record_transition(
            self.store,
            self._events,
            campaign_id,
            CampaignStatus.PAUSED,
            expected=RUNNING,
            reason="paused by request",
        )
        return await self._changed(moved, campaign_id, "paused")

    async def resume(self, session_id: str, campaign_id: str) -> Campaign:
        campaign = await self.get(session_id, campaign_id)
        scheduled = campaign.scheduled_at
        status = (
            CampaignStatus.SCHEDULED
            if campaign.started_at is None and scheduled is not None and scheduled > self._now()
            else CampaignStatus.PROCESSING
        )
        moved = await record_transition(
            self.store, self._events, campaign_id, status, expected={CampaignStatus.PAUSED}
        )
        return await self._changed(moved, campaign_id, "resumed")

    async def cancel(self, session_id: str, campaign_id: str) -> Campaign:
        await self.get(session_id, campaign_id)
        moved = await record_transition(
            self.store,
            self._events,
            campaign_id,
            CampaignStatus.CANCELLED,
            expected=CANCELLABLE,
            reason="cancelled by request",
        )
        cancelled = await self._changed(moved, campaign_id, "cancelled")
        await self.files.release_if_done(campaign_id)
        return cancelled

    async def _changed(self, moved: Campaign | None, campaign_id: str, verb: str) -> Campaign:
        if moved is None:
            current = await self.store.get(campaign_id)
            status = "gone" if current is None else current.status.value
            raise CampaignConflict(f"the campaign cannot be {verb}: it is {status}")
        self._on_change()
        return moved

    async def recipients(
        self,
        session_id: str,
        campaign_id: str,
        *,
        status: RecipientStatus | None,
        after_id: int,
        limit: int,
    ) -> list[Recipient]:
        await self.get(session_id, campaign_id)
        return await self.store.recipients_page(
            campaign_id, status=status, after_id=after_id, limit=limit
        )


__all__ = [
    "AddResult",
    "CampaignConflict",
    "CampaignNotFound",
    "CampaignService",
    "new_campaign_id",
    "record_transition",
]
