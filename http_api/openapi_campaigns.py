"""The campaigns part of the OpenAPI document (merged by :func:`http_api.openapi.document`)."""

from __future__ import annotations

from typing import Any

from http_api.openapi import (
    ISO,
    ISO_OR_NULL,
    MEDIA_TYPES,
    PAGE_LIMIT,
    SEND_MEDIA_FIELDS,
    SESSION_ID,
    STR_OR_NULL,
    Schema,
    _ok,
    array,
    obj,
    op,
    ref,
)

CAMPAIGN_STATUSES = [
    "draft",
    "scheduled",
    "processing",
    "paused",
    "completed",
    "failed",
    "cancelled",
]
RECIPIENT_STATUSES = ["pending", "queued", "sent", "delivered", "read", "failed", "cancelled"]


CONTENT_PROPERTIES: dict[str, Schema] = {
    "type": {"type": "string", "enum": ["text", "location", "contact", *MEDIA_TYPES]},
    "text": {"type": "string", "minLength": 1},
    **SEND_MEDIA_FIELDS,
}
CONTENT = {
    "type": "object",
    "description": (
        "a messages API body without 'to': text (placeholders in 'text'), location "
        "(placeholders in 'name' and 'address'), contact, or a media kind (placeholders in "
        "'caption'; the file comes as the multipart 'file' part or by 'url', fetched once)"
    ),
    "properties": {
        **CONTENT_PROPERTIES,
        "url": {"type": "string", "description": "media: where to fetch the file (once)"},
    },
}
CAMPAIGN_FILE = obj(
    {
        "sha256": {"type": "string", "description": "hex SHA-256 of the file"},
        "size": {"type": "integer", "minimum": 1},
        "mimetype": {"type": "string"},
    }
)
SHOWN_CONTENT = {
    **CONTENT,
    "description": "the content as created; a media campaign's file by its digest (no url)",
    "properties": {
        **CONTENT_PROPERTIES,
        "file": CAMPAIGN_FILE,
        "width": {"type": "integer", "minimum": 0},
        "height": {"type": "integer", "minimum": 0},
    },
}
WINDOW = obj(
    {
        "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        "timeZone": {"type": "string", "description": "IANA name, e.g. Europe/Berlin"},
    }
)
VARIABLES = {"type": "object", "additionalProperties": {"type": ["string", "number"]}}
COUNTS = obj(
    {status: {"type": "integer", "minimum": 0} for status in [*RECIPIENT_STATUSES, "total"]}
)

SCHEMAS: dict[str, Schema] = {
    "CampaignCreate": obj(
        {
            "name": {"type": "string", "maxLength": 200},
            "content": CONTENT,
            "defaults": {
                **VARIABLES,
                "description": "values for recipients that give none",
            },
            "scheduledAt": {"type": "string", "format": "date-time"},
            "ratePerMinute": {"type": "integer", "minimum": 1, "maximum": 60000},
            "jitterSeconds": {"type": "number", "minimum": 0, "maximum": 3600},
            "window": {**WINDOW, "type": ["object", "null"]},
        },
        required=["content"],
    ),
    "Campaign": obj(
        {
            "id": {"type": "string"},
            "sessionId": {"type": "string"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": CAMPAIGN_STATUSES},
            "statusReason": STR_OR_NULL,
            "content": SHOWN_CONTENT,
            "defaults": {"type": "object", "additionalProperties": {"type": "string"}},
            "ratePerMinute": {"type": "integer", "minimum": 1},
            "jitterSeconds": {"type": "number", "minimum": 0},
            "window": {**WINDOW, "type": ["object", "null"]},
            "scheduledAt": ISO_OR_NULL,
            "counts": COUNTS,
            "createdAt": ISO,
            "updatedAt": ISO,
            "startedAt": ISO_OR_NULL,
            "finishedAt": ISO_OR_NULL,
        }
    ),
    "CampaignPage": obj(
        {
            "campaigns": array(ref("Campaign")),
            "nextCursor": STR_OR_NULL,
        }
    ),
    "CampaignRecipientsAdd": obj(
        {
            "recipients": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100000,
                "items": {
                    "oneOf": [
                        {"type": "string", "description": "a phone number or a user JID"},
                        obj({"to": {"type": "string"}, "variables": VARIABLES}, ["to"]),
                    ]
                },
            }
        }
    ),
    "CampaignRecipientsAdded": obj(
        {
            "added": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "invalid": {
                "type": "array",
                "items": obj(
                    {
                        "index": {"type": "integer", "minimum": 0},
                        "value": {},
                        "reason": {"type": "string"},
                    }
                ),
            },
            "total": {"type": "integer", "minimum": 0},
            "maxRecipients": {"type": "integer"},
        }
    ),
    "CampaignRecipient": obj(
        {
            "id": {"type": "string"},
            "to": {"type": "string"},
            "variables": {
                "type": ["object", "null"],
                "additionalProperties": {"type": "string"},
            },
            "status": {"type": "string", "enum": RECIPIENT_STATUSES},
            "messageId": STR_OR_NULL,
            "error": STR_OR_NULL,
            "queuedAt": ISO_OR_NULL,
            "sentAt": ISO_OR_NULL,
            "deliveredAt": ISO_OR_NULL,
            "readAt": ISO_OR_NULL,
            "updatedAt": ISO,
        }
    ),
    "CampaignRecipientPage": obj(
        {
            "recipients": array(ref("CampaignRecipient")),
            "nextCursor": STR_OR_NULL,
        }
    ),
    "CampaignCreateWithFile": obj(
        {
            "campaign": {
                **ref("CampaignCreate"),
                "description": "the campaign as JSON (part Content-Type application/json), "
                "its content of a media type without 'url'",
            },
            "file": {"type": "string", "format": "binary"},
        }
    ),
    "CampaignStart": obj({"scheduledAt": {"type": "string", "format": "date-time"}}, []),
}

CAMPAIGN_ID = {
    "name": "campaign_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
TAGS = ["campaigns"]
BEFORE = {"name": "before", "in": "query", "schema": {"type": "string"}}


def _action(verb: str, summary: str) -> dict[str, Any]:
    return {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "post": op(f"{verb}Campaign", summary, {"200": _ok(ref("Campaign"))}, tags=TAGS),
    }


PATHS: dict[str, Any] = {
    "/sessions/{id}/campaigns": {
        "parameters": [SESSION_ID],
        "get": op(
            "listCampaigns",
            "The session's campaigns with their counts, newest first",
            {"200": _ok(ref("CampaignPage"))},
            parameters=[
                {"name": "before", "in": "query", "schema": {"type": "string"}},
                PAGE_LIMIT,
            ],
            tags=TAGS,
        ),
        "post": {
            **op(
                "createCampaign",
                "Create a draft campaign (400 invalid-campaign: a bad field, an unknown "
                "variable, a rate of 0, a past scheduledAt). A media campaign's file comes "
                "with it, as multipart/form-data or by content.url, checked like the messages "
                "API's (413 media-too-large, 415 unsupported-media-type; nothing created)",
                {"201": _ok(ref("Campaign"), "Created")},
                tags=TAGS,
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ref("CampaignCreate")},
                    "multipart/form-data": {
                        "schema": ref("CampaignCreateWithFile"),
                        "encoding": {"campaign": {"contentType": "application/json"}},
                    },
                },
            },
        },
    },
    "/sessions/{id}/campaigns/{campaign_id}": {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "get": op(
            "getCampaign",
            "A campaign: status, pacing and counts",
            {"200": _ok(ref("Campaign"))},
            tags=TAGS,
        ),
    },
    "/sessions/{id}/campaigns/{campaign_id}/recipients": {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "post": op(
            "addCampaignRecipients",
            "Add a batch of recipients (validated, normalized, de-duplicated; invalid ones "
            "are reported, never queued). Draft, scheduled or paused campaigns only.",
            {"200": _ok(ref("CampaignRecipientsAdded"))},
            body=ref("CampaignRecipientsAdd"),
            tags=TAGS,
        ),
        "get": op(
            "listCampaignRecipients",
            "Recipients in dispatch order, by status, page by page",
            {"200": _ok(ref("CampaignRecipientPage"))},
            parameters=[
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": RECIPIENT_STATUSES},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            ],
            tags=TAGS,
        ),
    },
    "/sessions/{id}/campaigns/{campaign_id}/start": {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "post": {
            **op(
                "startCampaign",
                "Start a draft now, or at scheduledAt (the body's, else the campaign's)",
                {"200": _ok(ref("Campaign"))},
                tags=TAGS,
            ),
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ref("CampaignStart")}},
            },
        },
    },
    "/sessions/{id}/campaigns/{campaign_id}/pause": _action(
        "pause", "Pause a scheduled or processing campaign (messages already queued still go)"
    ),
    "/sessions/{id}/campaigns/{campaign_id}/resume": _action("resume", "Resume a paused campaign"),
    "/sessions/{id}/campaigns/{campaign_id}/cancel": _action(
        "cancel", "Cancel a campaign: its pending recipients become cancelled"
    ),
}

__all__ = ["PATHS", "SCHEMAS"]
