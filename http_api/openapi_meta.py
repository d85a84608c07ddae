"""The meta part of the OpenAPI document: who a key is, this document, the metrics."""

from __future__ import annotations

from typing import Any

from http_api.openapi_common import Schema, _ok, obj, op, ref

SCHEMAS: dict[str, Schema] = {
    "Caller": obj(
        {
            "role": {"type": "string", "enum": ["admin", "session"]},
            "sessionId": {
                "type": ["string", "null"],
                "description": "the session a session key belongs to; null for the admin key",
            },
        }
    ),
}

PATHS: dict[str, Any] = {
    "/whoami": {
        "get": op(
            "whoami",
            "Who the key is: the admin, or the session it is scoped to",
            {"200": _ok(ref("Caller"))},
            tags=["meta"],
        )
    },
    "/openapi.json": {
        "get": op("getOpenApi", "This document", {"200": _ok({"type": "object"})}, tags=["meta"])
    },
    "/metrics": {
        "get": op(
            "getMetrics",
            "Prometheus metrics (admin key, the metrics key, or loopback when "
            "http.metrics_loopback is on)",
            {
                "200": {
                    "description": "Prometheus text exposition format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
            tags=["meta"],
        )
    },
}


__all__ = ["PATHS", "SCHEMAS"]
