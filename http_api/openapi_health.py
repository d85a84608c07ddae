"""The health part of the OpenAPI document: the liveness summary and the deep check."""

from __future__ import annotations

from typing import Any

from http_api.openapi_common import (
    ISO,
    ISO_OR_NULL,
    SERVED_BY,
    SESSION_STATUSES,
    STR_OR_NULL,
    Schema,
    _ok,
    array,
    obj,
    op,
    ref,
)

SCHEMAS: dict[str, Schema] = {
    "HealthStatus": {"type": "string", "enum": ["ok", "degraded", "error"]},
    "Health": obj(
        {
            "status": ref("HealthStatus"),
            "timestamp": ISO,
            "uptime": {"type": "number", "minimum": 0, "description": "seconds"},
            "sessions": obj(
                {
                    "total": {"type": "integer", "minimum": 0},
                    "connected": {"type": "integer", "minimum": 0},
                    "connecting": {"type": "integer", "minimum": 0},
                    "disconnected": {"type": "integer", "minimum": 0},
                },
                description="this daemon's sessions",
            ),
            "fleet": {
                "oneOf": [{"type": "null"}, ref("FleetHealth")],
                "description": "null without a fleet (SQLite, one daemon)",
            },
        }
    ),
    "FleetHealth": obj(
        {
            "nodeId": {"type": "string", "description": "this daemon's name in the fleet"},
            "share": {
                "type": "integer",
                "minimum": 0,
                "description": "the fair share of sessions of every daemon",
            },
            "sessions": {
                "type": "integer",
                "minimum": 0,
                "description": "sessions this daemon holds",
            },
            "lastRoundAt": ISO_OR_NULL,
            "members": array(
                obj(
                    {
                        "nodeId": {"type": "string"},
                        "url": {"type": "string", "description": "where its API answers"},
                        "sessions": {"type": "integer", "minimum": 0},
                        "leaving": {"type": "boolean"},
                        "heartbeatAt": ISO,
                    }
                )
            ),
            "roles": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "role (webhooks, campaigns) -> the daemon doing it",
            },
        },
        description="The fleet as this daemon saw it at its last round (fleet.heartbeat_s)",
    ),
    "DeepHealth": obj(
        {
            "status": ref("HealthStatus"),
            "timestamp": ISO,
            "uptime": {"type": "number", "minimum": 0},
            "database": obj(
                {
                    "connected": {"type": "boolean"},
                    "latencyMs": {"type": ["number", "null"], "minimum": 0},
                }
            ),
            "sessions": array(
                obj(
                    {
                        "sessionId": {"type": "string"},
                        "phoneNumber": STR_OR_NULL,
                        "connectionStatus": {"type": "string", "enum": SESSION_STATUSES},
                        "lastConnectedAt": ISO_OR_NULL,
                        "lastMessageAt": ISO_OR_NULL,
                        "socketAlive": {"type": "boolean"},
                        "restrictions": array(ref("Restriction")),
                        "servedBy": SERVED_BY,
                    }
                )
            ),
        }
    ),
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": op(
            "getHealth",
            "Liveness summary (no key): ok, degraded or error",
            {"200": _ok(ref("Health")), "503": _ok(ref("Health"), "status is error")},
            public=True,
            tags=["health"],
        )
    },
    "/health/deep": {
        "get": op(
            "getDeepHealth",
            "Database latency and per-session liveness evidence",
            {"200": _ok(ref("DeepHealth")), "503": _ok(ref("DeepHealth"), "status is error")},
            tags=["health"],
        )
    },
}


__all__ = ["PATHS", "SCHEMAS"]
