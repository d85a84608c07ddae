"""The campaigns part of the OpenAPI document (merged into :mod:`http_api.openapi`)."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
STR_OR_NULL = {"type": ["string", "null"]}
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


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


CONTENT = {
    "type": "object",
    "description": (
        "a messages API body without 'to': text (placeholders in 'text'), location "
        "(placeholders in 'name' and 'address') or contact"
    ),
    "properties": {
        "type": {"type": "string", "enum": ["text", "location", "contact"]},
        "text": {"type": "string", "minLength": 1},
    },
}
WINDOW = _obj(
    {
        "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        "timeZone": {"type": "string", "description": "IANA name, e.g. Europe/Berlin"},
    }
)
VARIABLES = {"type": "object", "additionalProperties": {"type": ["string", "number"]}}
COUNTS = _obj(
    {status: {"type": "integer", "minimum": 0} for status in [*RECIPIENT_STATUSES, "total"]}
)

CAMPAIGN_SCHEMAS: dict[str, Schema] = {
    "CampaignCreate": _obj(
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
    "Campaign": _obj(
        {
            "id": {"type": "string"},
            "sessionId": {"type": "string"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": CAMPAIGN_STATUSES},
            "statusReason": STR_OR_NULL,
            "content": CONTENT,
            "defaults": {"type": "object", "additionalProperties": {"type": "string"}},
            "ratePerMinute": {"type": "integer", "minimum": 1},
            "jitterSeconds": {"type": "number", "minimum": 0},
            "window": {**WINDOW, "type": ["object", "null"]},
            "scheduledAt": ISO_OR_NULL,
            "counts": COUNTS,
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
            "startedAt": ISO_OR_NULL,
            "finishedAt": ISO_OR_NULL,
        }
    ),
    "CampaignPage": _obj(
        {
            "campaigns": {"type": "array", "items": _ref("Campaign")},
            "nextCursor": STR_OR_NULL,
        }
    ),
    "CampaignRecipientsAdd": _obj(
        {
            "recipients": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100000,
                "items": {
                    "oneOf": [
                        {"type": "string", "description": "a phone number or a user JID"},
                        _obj({"to": {"type": "string"}, "variables": VARIABLES}, ["to"]),
                    ]
                },
            }
        }
    ),
    "CampaignRecipientsAdded": _obj(
        {
            "added": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "invalid": {
                "type": "array",
                "items": _obj(
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
    "CampaignRecipient": _obj(
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
            "updatedAt": {"type": "string", "format": "date-time"},
        }
    ),
    "CampaignRecipientPage": _obj(
        {
            "recipients": {"type": "array", "items": _ref("CampaignRecipient")},
            "nextCursor": STR_OR_NULL,
        }
    ),
    "CampaignStart": _obj({"scheduledAt": {"type": "string", "format": "date-time"}}, []),
}

SESSION_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
CAMPAIGN_ID = {
    "name": "campaign_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
PROBLEM_RESPONSE = {
    "description": "Problem details (RFC 9457)",
    "content": {"application/problem+json": {"schema": _ref("Problem")}},
}


def _op(
    operation_id: str,
    summary: str,
    schema: str,
    *,
    status: str = "200",
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["campaigns"],
        "responses": {
            status: {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(schema)}},
            },
            "default": PROBLEM_RESPONSE,
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if parameters:
        operation["parameters"] = parameters
    return operation


def _action(verb: str, summary: str) -> dict[str, Any]:
    return {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "post": _op(f"{verb}Campaign", summary, "Campaign"),
    }


CAMPAIGN_PATHS: dict[str, Any] = {
    "/sessions/{id}/campaigns": {
        "parameters": [SESSION_ID],
        "get": _op(
            "listCampaigns",
            "The session's campaigns with their counts, newest first",
            "CampaignPage",
            parameters=[
                {"name": "before", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
            ],
        ),
        "post": _op(
            "createCampaign",
            "Create a draft campaign (400 invalid-campaign: a bad field, an unknown variable, "
            "a rate of 0, a past scheduledAt)",
            "Campaign",
            status="201",
            body=_ref("CampaignCreate"),
        ),
    },
    "/sessions/{id}/campaigns/{campaign_id}": {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "get": _op("getCampaign", "A campaign: status, pacing and counts", "Campaign"),
    },
    "/sessions/{id}/campaigns/{campaign_id}/recipients": {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "post": _op(
            "addCampaignRecipients",
            "Add a batch of recipients (validated, normalized, de-duplicated; invalid ones "
            "are reported, never queued). Draft, scheduled or paused campaigns only.",
            "CampaignRecipientsAdded",
            body=_ref("CampaignRecipientsAdd"),
        ),
        "get": _op(
            "listCampaignRecipients",
            "Recipients in dispatch order, by status, page by page",
            "CampaignRecipientPage",
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
        ),
    },
    "/sessions/{id}/campaigns/{campaign_id}/start": {
        "parameters": [SESSION_ID, CAMPAIGN_ID],
        "post": {
            **_op(
                "startCampaign",
                "Start a draft now, or at scheduledAt (the body's, else the campaign's)",
                "Campaign",
            ),
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _ref("CampaignStart")}},
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

__all__ = ["CAMPAIGN_PATHS", "CAMPAIGN_SCHEMAS"]
