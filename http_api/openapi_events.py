"""The events part of the OpenAPI document: the event log (JSON pages, SSE, WebSocket)."""

from __future__ import annotations

from typing import Any

from http_api.openapi_common import EVENT_TYPES, ISO, SESSION_ID, Schema, array, obj, op, ref

_EVENT_TYPE = "(?:" + "|".join(t.replace(".", "[.]") for t in EVENT_TYPES) + ")"
TYPES_PATTERN = f"^{_EVENT_TYPE}(?:,{_EVENT_TYPE})*$"

SCHEMAS: dict[str, Schema] = {
    "Event": obj(
        {
            "id": {"type": "string", "description": "stable; deduplicate on it"},
            "sessionId": {"type": "string"},
            "seq": {"type": "integer", "minimum": 1, "description": "the session's cursor"},
            "type": {"type": "string", "enum": EVENT_TYPES},
            "createdAt": ISO,
            "data": {"type": "object"},
        }
    ),
    "EventPage": obj(
        {
            "events": array(ref("Event")),
            "nextCursor": {"type": "integer"},
            "lastSeq": {
                "type": "integer",
                "minimum": 0,
                "description": "the session's newest seq (0: none yet): after=lastSeq-N reads "
                "the newest N",
            },
        }
    ),
}

PATHS: dict[str, Any] = {
    "/sessions/{id}/events": {
        "parameters": [SESSION_ID],
        "get": op(
            "sessionEvents",
            "The event log: JSON pages, Server-Sent Events, or a WebSocket; resumable",
            {
                "200": {
                    "description": "A page (JSON) or a stream (text/event-stream)",
                    "content": {
                        "application/json": {"schema": ref("EventPage")},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                },
                "101": {"description": "WebSocket: one text message per event (Event)"},
            },
            parameters=[
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                },
                {
                    "name": "types",
                    "in": "query",
                    "schema": {"type": "string", "pattern": TYPES_PATTERN},
                    "description": "comma-separated event types to keep",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                },
            ],
            tags=["events"],
        ),
    },
}


__all__ = ["PATHS", "SCHEMAS", "TYPES_PATTERN"]
