"""The webhooks part of the OpenAPI document: webhooks, their deliveries and replays."""

from __future__ import annotations

from typing import Any

from http_api.openapi_common import (
    EVENT_TYPES,
    INT64_MAX,
    ISO,
    ISO_OR_NULL,
    SESSION_ID,
    STR_OR_NULL,
    Schema,
    _ok,
    array,
    obj,
    op,
    ref,
)

URL_PATTERN = (
    "^https?://[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    "(?:[.][A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?){0,8}"
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    "|[1-9][0-9]{0,3}))?"
    "(?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,1000})?$"
)
"""http(s), a host name, a port from 1 to 65535, a plain path (the daemon also takes IP
literals, queries and percent-encoding: see daemon.webhooks.check_url)."""
SECRET = {
    "type": "string",
    "minLength": 16,
    "maxLength": 256,
    # The control characters themselves (JSON escapes them): regex engines differ on "\\u".
    "pattern": "^[^\x00-\x1f\x7f]*$",
    "description": "no control characters",
}
WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}

SCHEMAS: dict[str, Schema] = {
    "Webhook": obj(
        {
            "id": {"type": "string"},
            "sessionId": {"type": ["string", "null"], "description": "null: global"},
            "url": {"type": "string"},
            "events": array({"type": "string", "enum": EVENT_TYPES}),
            "enabled": {"type": "boolean"},
            "parkedReason": {
                "type": ["string", "null"],
                "description": "why the daemon disabled this webhook (it could not deliver to "
                "it); enabling it again clears this",
            },
            "parkedAt": ISO_OR_NULL,
            "createdAt": ISO,
            "updatedAt": ISO,
            "secret": {"type": "string", "description": "only when created"},
            "chats": {
                "type": "array",
                "items": {"type": "string"},
                "description": "made with a chat-restricted key: only these chats' events",
            },
            "deliveries": obj(
                {
                    "pending": {"type": "integer"},
                    "delivered": {"type": "integer"},
                    "dead": {"type": "integer"},
                }
            ),
        },
        required=[
            "id",
            "sessionId",
            "url",
            "events",
            "enabled",
            "parkedReason",
            "parkedAt",
            "createdAt",
            "updatedAt",
        ],
    ),
    "WebhookList": obj({"webhooks": array(ref("Webhook"))}),
    "WebhookCreate": obj(
        {
            "url": {"type": "string", "pattern": URL_PATTERN, "maxLength": 2048},
            "secret": SECRET,
            "events": {**array({"type": "string", "enum": EVENT_TYPES}), "maxItems": 100},
            "enabled": {"type": "boolean"},
        },
        required=["url"],
    ),
    "WebhookUpdate": obj(
        {
            "url": {"type": "string", "pattern": URL_PATTERN, "maxLength": 2048},
            "secret": SECRET,
            "events": {**array({"type": "string", "enum": EVENT_TYPES}), "maxItems": 100},
            "enabled": {"type": "boolean"},
        },
        required=[],
    ),
    "Delivery": obj(
        {
            "id": {"type": "integer"},
            "webhookId": {"type": "string"},
            "eventId": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "delivered", "dead"]},
            "attempts": {"type": "integer", "minimum": 0},
            "nextAttemptAt": ISO_OR_NULL,
            "lastStatusCode": {"type": ["integer", "null"]},
            "lastError": STR_OR_NULL,
            "createdAt": ISO,
            "deliveredAt": ISO_OR_NULL,
        }
    ),
    "DeliveryPage": obj(
        {"deliveries": array(ref("Delivery")), "nextCursor": {"type": ["integer", "null"]}}
    ),
    "ReplayRequest": obj(
        {
            "ids": {
                **array({"type": "integer", "minimum": 1, "maximum": INT64_MAX}),
                "maxItems": 1000,
            }
        },
        required=[],
    ),
    "ReplayResult": obj({"replayed": {"type": "integer", "minimum": 0}}),
}

PATHS: dict[str, Any] = {
    "/sessions/{id}/webhooks": {
        "parameters": [SESSION_ID],
        "get": op(
            "listSessionWebhooks",
            "The session's webhooks",
            {"200": _ok(ref("WebhookList"))},
            tags=["webhooks"],
        ),
        "post": op(
            "createSessionWebhook",
            "A webhook for this session's events",
            {"201": _ok(ref("Webhook"), "Created (the secret is shown)")},
            body=ref("WebhookCreate"),
            tags=["webhooks"],
        ),
    },
    "/webhooks": {
        "get": op(
            "listWebhooks",
            "Webhooks the key may see",
            {"200": _ok(ref("WebhookList"))},
            tags=["webhooks"],
        ),
        "post": op(
            "createGlobalWebhook",
            "A webhook for every session's events (admin)",
            {"201": _ok(ref("Webhook"), "Created (the secret is shown)")},
            body=ref("WebhookCreate"),
            tags=["webhooks"],
        ),
    },
    "/webhooks/{webhook_id}": {
        "parameters": [WEBHOOK_ID],
        "get": op(
            "getWebhook",
            "A webhook with delivery counts",
            {"200": _ok(ref("Webhook"))},
            tags=["webhooks"],
        ),
        "patch": op(
            "updateWebhook",
            "Change a webhook",
            {"200": _ok(ref("Webhook"))},
            body=ref("WebhookUpdate"),
            tags=["webhooks"],
        ),
        "delete": op(
            "deleteWebhook",
            "Delete a webhook",
            {"204": {"description": "Deleted"}},
            tags=["webhooks"],
        ),
    },
    "/webhooks/{webhook_id}/deliveries": {
        "parameters": [WEBHOOK_ID],
        "get": op(
            "listDeliveries",
            "Deliveries (status=dead is the dead-letter list)",
            {"200": _ok(ref("DeliveryPage"))},
            parameters=[
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["pending", "delivered", "dead"]},
                },
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                },
            ],
            tags=["webhooks"],
        ),
    },
    "/webhooks/{webhook_id}/deliveries/replay": {
        "parameters": [WEBHOOK_ID],
        "post": op(
            "replayDeliveries",
            "Send dead letters again (all, or the ids given)",
            {"200": _ok(ref("ReplayResult"))},
            body=ref("ReplayRequest"),
            body_required=False,
            tags=["webhooks"],
        ),
    },
}


__all__ = ["PATHS", "SCHEMAS"]
