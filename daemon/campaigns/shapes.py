"""The JSON shapes of campaigns and recipients (the API's answers and the events' data)."""

from __future__ import annotations

from typing import Any

from daemon.event_format import iso_utc
from storage.campaign_values import Campaign, Recipient, RecipientStatus


def counts_json(counts: dict[RecipientStatus, int]) -> dict[str, int]:
    shape = {status.value: counts.get(status, 0) for status in RecipientStatus}
    shape["total"] = sum(counts.values())
    return shape


def public_content(content: dict[str, Any]) -> dict[str, Any]:
    """The content as the API shows it: a media campaign's file without its local path."""
    file = content.get("file")
    if not isinstance(file, dict):
        return content
    shown = {key: value for key, value in content.items() if key != "thumbnail"}
    shown["file"] = {key: file[key] for key in ("sha256", "size", "mimetype") if key in file}
    return shown


def campaign_json(campaign: Campaign, counts: dict[RecipientStatus, int]) -> dict[str, Any]:
    pacing = campaign.pacing
    window = pacing.window
    return {
        "id": campaign.id,
        "sessionId": campaign.session_id,
        "name": campaign.name,
        "status": campaign.status.value,
        "statusReason": campaign.status_reason,
        "content": public_content(campaign.content),
        "defaults": campaign.defaults,
        "ratePerMinute": pacing.rate_per_minute,
        "jitterSeconds": pacing.jitter_s,
        "window": None
        if window is None
        else {
            "start": window.start.strftime("%H:%M"),
            "end": window.end.strftime("%H:%M"),
            "timeZone": window.time_zone,
        },
        "scheduledAt": iso_utc(campaign.scheduled_at),
        "counts": counts_json(counts),
        "createdAt": iso_utc(campaign.created_at),
        "updatedAt": iso_utc(campaign.updated_at),
        "startedAt": iso_utc(campaign.started_at),
        "finishedAt": iso_utc(campaign.finished_at),
    }


def recipient_json(recipient: Recipient) -> dict[str, Any]:
    return {
        "id": str(recipient.id),
        "to": recipient.jid,
        "variables": recipient.variables,
        "status": recipient.status.value,
        "messageId": recipient.message_id,
        "error": recipient.error,
        "queuedAt": iso_utc(recipient.queued_at),
        "sentAt": iso_utc(recipient.sent_at),
        "deliveredAt": iso_utc(recipient.delivered_at),
        "readAt": iso_utc(recipient.read_at),
        "updatedAt": iso_utc(recipient.updated_at),
    }


__all__ = ["campaign_json", "counts_json", "public_content", "recipient_json"]
